"""Dashboard users: creation and sign-in links (operators), setting a password through a link,
signing in and out, sessions with an idle timeout, and each user's role in a project."""

from __future__ import annotations

from attrs import frozen

from autorelay_core.domain.addresses import check_address
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
from autorelay_core.errors import Invalid, NotFound, Unauthenticated
from autorelay_core.policies.rate_limit import MINUTE, Limit, Scope, refuse
from autorelay_core.usecases.context import Deps

# Placeholder of the owner `serve` creates on a fresh database; they choose their email with the link.
FIRST_OWNER = "owner@autorelay.invalid"
# Wrong passwords: per account (guessing one password) and per client (spraying many accounts).
_SIGN_IN_LIMITS = (Limit(10, 15 * MINUTE), Limit(30, 15 * MINUTE, Scope.IP))
# verify() on this when the email is unknown, so a miss costs the same time as a wrong password.
_NO_SUCH_USER = "$argon2id$v=19$m=19456,t=2,p=1$SfOB/dKRM4ZdDXG5pJZ9lw$viGDqSG4Bi0tw4qwzUo1S/aIvjNeEg1PU6HuS9fsYUQ"


@frozen
class SignedIn:
    user: User
    token: str  # the session cookie's value; only its hash is stored


async def create_user(deps: Deps, email: str, project_id: str, role: Role = Role.MEMBER) -> User:
    """A new user in the project, or an existing one given a role in it."""
    address = check_address(email, "email")
    user = await deps.storage.users.get_by_email(address)
    if user is None:
        user = User(id=deps.ids.new("usr"), email=address, created_at=deps.clock.now())
        await deps.storage.users.add(user)
    await deps.storage.users.set_role(Membership(user.id, project_id, role))
    return user


async def find_user(deps: Deps, email: str) -> User:
    user = await deps.storage.users.get_by_email(email.strip())
    if user is None:
        raise NotFound(f"no user {email}")
    return user


async def sign_in_link_token(deps: Deps, user: User) -> str:
    """A token for the set-password page, valid 24 h and once; a new one makes older ones void."""
    current = await deps.storage.users.get(user.id)  # `user` may be an older read: keep its password
    if current is None:
        raise NotFound(f"no user {user.email}")
    user = current
    user.link_version += 1
    await deps.storage.users.update(user)
    expires = int((deps.clock.now() + LINK_LIFETIME).timestamp())
    return deps.signer.sign("sign-in", (user.id, str(user.link_version), str(expires)))


async def redeem(deps: Deps, token: str | None) -> User:
    """The user a sign-in link is for, while the link is good; Invalid otherwise."""
    fields = deps.signer.unsign("sign-in", token or "")
    if fields is None or len(fields) != 3:
        raise Invalid("This sign-in link is not valid; ask for a new one (autorelay users link EMAIL)")
    user_id, version, expires = fields
    user = await deps.storage.users.get(user_id)
    if user is None or str(user.link_version) != version:
        raise Invalid("This sign-in link was already used or replaced; ask for a new one")
    if deps.clock.now().timestamp() > int(expires):
        raise Invalid("This sign-in link has expired; ask for a new one (autorelay users link EMAIL)")
    return user


async def set_password(deps: Deps, token: str | None, password: str, email: str | None = None) -> SignedIn:
    """Through a sign-in link: the password (and, for the first owner, their real email) is set,
    the link is used up, every other session of the user ends, and a new one starts."""
    user = await redeem(deps, token)
    password = check_password(password)
    if email is not None and email.strip().lower() != user.email.lower():
        address = check_address(email, "email")
        if await deps.storage.users.get_by_email(address) is not None:
            raise Invalid(f"{address} already has an account", field="email")
        user = await _renamed(deps, user, address)
    user.password_hash = await deps.offload.run(deps.passwords.hash, password)
    user.link_version += 1
    await deps.storage.users.update(user)
    await deps.storage.users.end_sessions(user.id)
    return await _start_session(deps, user)


async def _renamed(deps: Deps, user: User, address: str) -> User:
    """The placeholder owner takes their real address: a new row (emails are the unique key) that
    keeps the id and the memberships."""
    memberships = await deps.storage.users.memberships(user.id)
    await deps.storage.users.delete(user.id)
    renamed = User(user.id, address, user.created_at, user.password_hash, user.link_version)
    await deps.storage.users.add(renamed)
    for membership in memberships:
        await deps.storage.users.set_role(membership)
    return renamed


async def sign_in(deps: Deps, email: str, password: str, client: str) -> SignedIn:
    """Unauthenticated for a wrong email or password alike; RateLimited past the attempts an
    account or a client may make."""
    now = deps.clock.now().timestamp()
    for limit in _SIGN_IN_LIMITS:
        subject = client if limit.scope is Scope.IP else email.strip().lower()
        admission = await deps.rate_limits.hit(f"sign-in|{limit.scope.value}:{subject}", now, limit)
        if not admission.allowed:
            raise refuse(admission, now, limit)
    user = await deps.storage.users.get_by_email(email.strip()) if email else None
    hashed = user.password_hash if user and user.password_hash else _NO_SUCH_USER
    matches = await deps.offload.run(deps.passwords.verify, hashed, password[:256])
    if user is None or user.password_hash is None or not matches:
        raise Unauthenticated("Wrong email or password")
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


async def remove_user(deps: Deps, email: str) -> None:
    user = await find_user(deps, email)
    await deps.storage.users.delete(user.id)  # memberships and sessions go with it
