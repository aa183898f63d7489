"""Dashboard users: creation and sign-in links (operators), setting a password through a link,
signing in and out, sessions with an idle timeout, and each user's role in a project."""

from __future__ import annotations

from attrs import frozen

from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.users import (
    LINK_LIFETIME,
    Membership,
    Role,
    Session,
    User,
    check_password,
    new_session_token,
    session_id,
)
from autorelay_core.errors import Conflict, Invalid, NotFound, Unauthenticated
from autorelay_core.policies.rate_limit import HOUR, MINUTE, Limit, Scope, refuse
from autorelay_core.usecases.context import Deps

# Placeholder of the owner `serve` creates on a fresh database; they choose their email with the link.
FIRST_OWNER = "owner@autorelay.invalid"
# Sign-in attempts, counted per (client, email) pair so that a stranger guessing a victim's password
# locks out only their own pair, never the victim: 10 in 15 minutes, then 30 in a day (the slower
# backoff); a success clears the pair. Per client, 30 in 15 minutes whatever the email (spraying).
_PAIR_LIMITS = (Limit(10, 15 * MINUTE), Limit(30, 24 * HOUR))
_CLIENT_LIMIT = Limit(30, 15 * MINUTE, Scope.IP)
# verify() on this when the email is unknown, so a miss costs the same time as a wrong password.
_NO_SUCH_USER = "$argon2id$v=19$m=19456,t=2,p=1$SfOB/dKRM4ZdDXG5pJZ9lw$viGDqSG4Bi0tw4qwzUo1S/aIvjNeEg1PU6HuS9fsYUQ"


@frozen
class SignedIn:
    user: User
    token: str  # the session cookie's value; only its hash is stored


@frozen
class Invitation:
    """What inviting someone to a project did. `link_token` sets a password: it exists only for a
    person who had no account before this invitation; someone who already has one signs in with
    their own password, and nobody else is ever handed a link that sets it."""

    user: User
    link_token: str | None


async def create_user(deps: Deps, email: str, project_id: str, role: Role = Role.MEMBER) -> User:
    """A new user in the project, or an existing one given a role in it (an operator's act: the CLI)."""
    address = check_address(email, "email")
    user = await deps.storage.users.get_by_email(address)
    if user is None:
        user = User(id=deps.ids.new("usr"), email=address, created_at=deps.clock.now())
        await deps.storage.users.add(user)
    await deps.storage.users.set_role(Membership(user.id, project_id, role))
    return user


async def invite(deps: Deps, caller: Caller, email: str, role: Role = Role.MEMBER) -> Invitation:
    """A project owner's invitation. A new person gets an account, the role and a set-password
    link for the inviter to pass on. An existing user only gains the role: a link for them would
    let this project's owner set the password of an account that other projects trust."""
    project_id = caller.project_id
    address = check_address(email, "email")
    if address.lower() == FIRST_OWNER:
        raise Invalid(f"{address} is reserved for the first owner", field="email")
    user = await deps.storage.users.get_by_email(address)
    if user is None:
        user = User(id=deps.ids.new("usr"), email=address, created_at=deps.clock.now())
        try:
            await deps.storage.users.add(user)
        except Conflict:  # a racing invitation made the account first: theirs is the link
            user = await find_user(deps, address)
        else:
            await deps.storage.users.set_role(Membership(user.id, project_id, role))
            return Invitation(user, await sign_in_link_token(deps, user))
    await deps.storage.users.set_role(Membership(user.id, project_id, role))
    if user.password_hash is not None:
        return Invitation(user, None)
    if all(m.project_id == project_id for m in await deps.storage.users.memberships(user.id)):
        # Invited again before they signed in, and only here: the account opens nothing but this
        # project, whose owner may hand out a new link (the old one stops working).
        return Invitation(user, await sign_in_link_token(deps, user))
    # Not signed in yet, and also another project's: a link minted earlier (by whoever) would now
    # lead there as well, so every earlier link is voided; an operator issues a new one.
    await deps.storage.users.new_link(user.id)
    return Invitation(user, None)


async def find_user(deps: Deps, email: str) -> User:
    user = await deps.storage.users.get_by_email(email.strip())
    if user is None:
        raise NotFound(f"no user {email}")
    return user


async def sign_in_link_token(deps: Deps, user: User) -> str:
    """A token for the set-password page, valid 24 h and once; a new one makes older ones void.
    Whoever holds it can set the user's password: only an operator (the CLI) or the invitation
    that created the account mints one."""
    version = await deps.storage.users.new_link(user.id)
    if version is None:
        raise NotFound(f"no user {user.email}")
    expires = int((deps.clock.now() + LINK_LIFETIME).timestamp())
    return deps.signer.sign("sign-in", (user.id, str(version), str(expires)))


async def redeem(deps: Deps, token: str | None) -> User:
    """The user a sign-in link is for, while the link is good; Invalid otherwise."""
    fields = deps.signer.unsign("sign-in", token or "")
    if fields is None or len(fields) != 3:
        raise Invalid("This sign-in link is not valid; ask for a new one (autorelay users link EMAIL)")
    user_id, version, expires = fields
    user = await deps.storage.users.get(user_id)
    if user is None or str(user.link_version) != version:
        raise Invalid(_USED)
    if deps.clock.now().timestamp() > int(expires):
        raise Invalid("This sign-in link has expired; ask for a new one (autorelay users link EMAIL)")
    return user


async def set_password(deps: Deps, token: str | None, password: str, email: str | None = None) -> SignedIn:
    """Through a sign-in link: the password (and, for the first owner, their real email) is set,
    the link is used up, every other session of the user ends, and a new one starts. The link is
    redeemed in one storage step: of concurrent uses exactly one succeeds."""
    user = await redeem(deps, token)
    password = check_password(password)
    address = None
    if email is not None and user.email == FIRST_OWNER and email.strip().lower() != user.email.lower():
        address = check_address(email, "email")
        if await deps.storage.users.get_by_email(address) is not None:
            raise Invalid(f"{address} already has an account", field="email")
    hashed = await deps.offload.run(deps.passwords.hash, password)
    try:
        redeemed = await deps.storage.users.redeem_link(user.id, user.link_version, hashed, address)
    except Conflict as taken:
        raise Invalid(f"{address} already has an account", field="email") from taken
    if not redeemed:
        raise Invalid(_USED)
    current = await deps.storage.users.get(user.id)
    if current is None:  # removed meanwhile
        raise Invalid(_USED)
    return await _start_session(deps, current)


_USED = "This sign-in link was already used or replaced; ask for a new one"


async def change_password(deps: Deps, visit: Visit, current: str, new: str) -> SignedIn:
    """A signed-in user's new password, given the current one: every session of the user ends
    (a stolen one among them) and a new one starts for this browser."""
    user = visit.user
    hashed = user.password_hash or _NO_SUCH_USER
    if not await deps.offload.run(deps.passwords.verify, hashed, current[:256]) or user.password_hash is None:
        raise Invalid("The current password is not right", field="current")
    new = check_password(new)
    if new == current:
        raise Invalid("The new password is the one you have now", field="password")
    hashed = await deps.offload.run(deps.passwords.hash, new)
    # As a sign-in link does it, in one storage step: the hash set, every session (and every
    # outstanding sign-in link) ended.
    version = await deps.storage.users.new_link(user.id)
    if version is None or not await deps.storage.users.redeem_link(user.id, version, hashed):
        raise Invalid("The password was changed elsewhere at the same moment; sign in and try again")
    return await _start_session(deps, user)


async def sign_in(deps: Deps, email: str, password: str, client: str) -> SignedIn:
    """Unauthenticated for a wrong email or password alike; RateLimited past the attempts a client
    may make for one account, or for all of them. Another client's failures never lock a user out."""
    now = deps.clock.now().timestamp()
    pair = f"sign-in|pair:{client}|{email.strip().lower()}"
    for bucket, limit in (
        (pair, _PAIR_LIMITS[0]),
        (pair + "|day", _PAIR_LIMITS[1]),
        (f"sign-in|ip:{client}", _CLIENT_LIMIT),
    ):
        admission = await deps.rate_limits.hit(bucket, now, limit)
        if not admission.allowed:
            raise refuse(admission, now, limit)
    user = await deps.storage.users.get_by_email(email.strip()) if email else None
    hashed = user.password_hash if user and user.password_hash else _NO_SUCH_USER
    matches = await deps.offload.run(deps.passwords.verify, hashed, password[:256])
    if user is None or user.password_hash is None or not matches:
        raise Unauthenticated("Wrong email or password")
    for bucket in (pair, pair + "|day"):  # the right password clears this client's failures
        await deps.rate_limits.forget(bucket)
    return await _start_session(deps, user)


async def _start_session(deps: Deps, user: User) -> SignedIn:
    token = new_session_token()
    now = deps.clock.now()
    memberships = await deps.storage.users.memberships(user.id)
    project_id = memberships[0].project_id if memberships else ""
    await deps.storage.users.add_session(Session(session_id(token), user.id, now, now, project_id))
    return SignedIn(user, token)


@frozen
class Visit:
    """Who is asking, in which project, with which role."""

    user: User
    session: Session
    role: Role
    projects: tuple[Membership, ...]
    names: dict[str, str]  # project id -> name, for the pages' project switcher


async def visit(deps: Deps, token: str | None) -> Visit | None:
    """The signed-in user behind a session cookie, or None (no session, ended, idle too long, or
    no longer a member of any project)."""
    if not token:
        return None
    session = await deps.storage.users.session(session_id(token))
    now = deps.clock.now()
    if session is None:
        return None
    if session.expired(now):
        await deps.storage.users.end_session(session.id)
        return None
    user = await deps.storage.users.get(session.user_id)
    memberships = tuple(await deps.storage.users.memberships(session.user_id))
    if user is None or not memberships:
        return None
    current = next((m for m in memberships if m.project_id == session.project_id), memberships[0])
    if session.due_for_touch(now) or current.project_id != session.project_id:
        await deps.storage.users.touch_session(session.id, now, current.project_id)
        session.seen_at, session.project_id = now, current.project_id
    names = {}
    for membership in memberships:  # cached lookups (AUTORELAY_KEY_CACHE_SECONDS)
        project = await deps.storage.projects.get(membership.project_id)
        names[membership.project_id] = project.name if project else membership.project_id
    return Visit(user, session, current.role, memberships, names)


async def switch_project(deps: Deps, visit: Visit, project_id: str) -> None:
    if not any(m.project_id == project_id for m in visit.projects):
        raise NotFound(f"project {project_id} not found")
    await deps.storage.users.touch_session(visit.session.id, deps.clock.now(), project_id)


async def sign_out(deps: Deps, token: str | None) -> None:
    if token:
        await deps.storage.users.end_session(session_id(token))


async def remove_member(deps: Deps, visit: Visit, user_id: str) -> None:
    """An owner takes a member out of the project shown; never themselves (another owner must).
    Their sessions elsewhere and their other projects are untouched."""
    if user_id == visit.user.id:
        raise Invalid("You cannot remove yourself; ask another owner")
    await deps.storage.users.remove_member(user_id, visit.session.project_id)


async def remove_user(deps: Deps, email: str) -> None:
    user = await find_user(deps, email)
    await deps.storage.users.delete(user.id)  # memberships and sessions go with it
