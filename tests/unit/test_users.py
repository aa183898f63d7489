"""Dashboard users over the memory adapters: links, passwords, sessions, roles, throttling."""

from __future__ import annotations

import asyncio

import pytest

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.users import Role
from autorelay_core.errors import Invalid, RateLimited, Unauthenticated
from autorelay_core.usecases import manage_users as uc
from autorelay_core.usecases.manage_keys import create_project


async def owner(deps, email="ada@example.com"):
    project = await create_project(deps, "acme")
    user = await uc.create_user(deps, email, project.id, Role.OWNER)
    return project, user


async def test_a_link_sets_the_password_once_and_signs_in(deps):
    project, user = await owner(deps)
    token = await uc.sign_in_link_token(deps, user)
    signed = await uc.set_password(deps, token, "correct horse battery")
    visit = await uc.visit(deps, signed.token)
    assert visit.user.id == user.id and visit.role is Role.OWNER and visit.session.project_id == project.id
    with pytest.raises(Invalid, match="already used"):
        await uc.set_password(deps, token, "another password!")
    with pytest.raises(Invalid, match="at least 10"):
        await uc.set_password(deps, await uc.sign_in_link_token(deps, user), "short")
    again = await uc.sign_in(deps, "ADA@example.com", "correct horse battery", "192.0.2.1")
    assert (await uc.visit(deps, again.token)).user.id == user.id
    with pytest.raises(Unauthenticated, match="Wrong email or password"):
        await uc.sign_in(deps, "ada@example.com", "wrong password!!", "192.0.2.1")
    with pytest.raises(Unauthenticated, match="Wrong email or password"):
        await uc.sign_in(deps, "nobody@example.com", "correct horse battery", "192.0.2.1")


async def test_links_expire_and_a_new_one_voids_the_old(deps, clock):
    _, user = await owner(deps)
    old = await uc.sign_in_link_token(deps, user)
    new = await uc.sign_in_link_token(deps, user)
    with pytest.raises(Invalid, match="already used or replaced"):
        await uc.redeem(deps, old)
    clock.advance(hours=25)
    with pytest.raises(Invalid, match="expired"):
        await uc.redeem(deps, new)
    with pytest.raises(Invalid, match="not valid"):
        await uc.redeem(deps, new[:-2] + "xx")


async def test_sessions_end_on_sign_out_password_change_idle_and_removal(deps, clock):
    _, user = await owner(deps)
    first = await uc.set_password(deps, await uc.sign_in_link_token(deps, user), "correct horse battery")
    second = await uc.sign_in(deps, user.email, "correct horse battery", "192.0.2.1")
    await uc.sign_out(deps, first.token)
    assert await uc.visit(deps, first.token) is None and await uc.visit(deps, second.token) is not None
    await uc.set_password(deps, await uc.sign_in_link_token(deps, user), "a new password!!")
    assert await uc.visit(deps, second.token) is None, "a password change ends every session"
    third = await uc.sign_in(deps, user.email, "a new password!!", "192.0.2.1")
    clock.advance(hours=1)
    assert await uc.visit(deps, third.token) is not None
    clock.advance(hours=2, minutes=1)
    assert await uc.visit(deps, third.token) is None, "idle for over two hours"
    fourth = await uc.sign_in(deps, user.email, "a new password!!", "192.0.2.1")
    await uc.remove_user(deps, user.email)
    assert await uc.visit(deps, fourth.token) is None


async def test_sign_in_failures_lock_out_only_the_client_that_made_them(deps, clock):
    _, user = await owner(deps)
    await uc.set_password(deps, await uc.sign_in_link_token(deps, user), "correct horse battery")
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await uc.sign_in(deps, user.email, "guess guess guess", "198.51.100.1")
    with pytest.raises(RateLimited):  # the guessing client, even with the right password, for a while
        await uc.sign_in(deps, user.email, "correct horse battery", "198.51.100.1")
    # The victim, from their own client, is not locked out by a stranger's guesses.
    await uc.sign_in(deps, user.email, "correct horse battery", "192.0.2.7")
    clock.advance(minutes=16)
    await uc.sign_in(deps, user.email, "correct horse battery", "198.51.100.1")


async def test_a_success_clears_the_pairs_failures_and_a_day_bounds_slow_guessing(deps, clock):
    _, user = await owner(deps)
    await uc.set_password(deps, await uc.sign_in_link_token(deps, user), "correct horse battery")
    for _ in range(3):
        for _ in range(9):
            with pytest.raises(Unauthenticated):
                await uc.sign_in(deps, user.email, "typo typo typo", "192.0.2.7")
        await uc.sign_in(deps, user.email, "correct horse battery", "192.0.2.7")  # resets the pair
    # A guesser who waits out each 15 minutes still stops at 30 a day.
    refused = 0
    for _ in range(4):
        for _ in range(10):
            try:
                await uc.sign_in(deps, user.email, "guess guess guess", "203.0.113.9")
            except RateLimited:
                refused += 1
            except Unauthenticated:
                pass
        clock.advance(minutes=16)
    assert refused == 10


async def test_a_client_spraying_many_accounts_is_throttled(deps):
    for i in range(30):
        with pytest.raises((Unauthenticated, RateLimited)):
            await uc.sign_in(deps, f"u{i}@example.com", "guess guess guess", "203.0.113.5")
    with pytest.raises(RateLimited):
        await uc.sign_in(deps, "another@example.com", "guess guess guess", "203.0.113.5")


async def test_inviting_an_existing_user_adds_a_role_and_never_a_link(deps):
    project_b, bob = await owner(deps, "bob@example.com")
    await uc.set_password(deps, await uc.sign_in_link_token(deps, bob), "bob's own password")
    project_a = await create_project(deps, "attacker")
    invitation = await uc.invite(deps, Caller.system(project_a.id), "BOB@example.com", Role.MEMBER)
    assert invitation.link_token is None and invitation.user.id == bob.id
    signed = await uc.sign_in(deps, "bob@example.com", "bob's own password", "192.0.2.1")
    roles = {m.project_id: m.role for m in await deps.storage.users.memberships(bob.id)}
    assert roles == {project_b.id: Role.OWNER, project_a.id: Role.MEMBER}
    assert await uc.visit(deps, signed.token) is not None
    new = await uc.invite(deps, Caller.system(project_a.id), "carol@example.com")
    assert new.link_token is not None and (await uc.redeem(deps, new.link_token)).email == "carol@example.com"
    with pytest.raises(Invalid, match="reserved"):
        await uc.invite(deps, Caller.system(project_a.id), uc.FIRST_OWNER)


async def test_a_pending_user_invited_again_by_their_only_project_gets_a_new_link(deps):
    project = await create_project(deps, "a")
    first = await uc.invite(deps, Caller.system(project.id), "eli@example.com")
    again = await uc.invite(deps, Caller.system(project.id), "eli@example.com", Role.OWNER)
    assert again.link_token is not None
    with pytest.raises(Invalid, match="already used or replaced"):
        await uc.redeem(deps, first.link_token)
    assert (await uc.redeem(deps, again.link_token)).email == "eli@example.com"


async def test_a_link_minted_before_another_project_invites_the_user_stops_working(deps):
    project_a = await create_project(deps, "a")
    first = await uc.invite(deps, Caller.system(project_a.id), "dan@example.com")
    project_b = await create_project(deps, "b")
    assert (await uc.invite(deps, Caller.system(project_b.id), "dan@example.com")).link_token is None
    with pytest.raises(Invalid, match="already used or replaced"):
        await uc.set_password(deps, first.link_token, "project a's owner sets it")


async def test_a_link_is_redeemed_once_however_many_race_for_it(deps):
    _, user = await owner(deps)
    token = await uc.sign_in_link_token(deps, user)
    results = await asyncio.gather(
        *(uc.set_password(deps, token, f"racing password {i}") for i in range(6)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, uc.SignedIn)]
    assert len(won) == 1 and all(isinstance(r, Invalid) for r in results if r not in won)


async def test_the_first_owner_chooses_an_email_and_members_are_not_owners(deps):
    project, placeholder = await owner(deps, uc.FIRST_OWNER)
    signed = await uc.set_password(
        deps, await uc.sign_in_link_token(deps, placeholder), "correct horse battery", "me@acme.test"
    )
    assert signed.user.email == "me@acme.test" and signed.user.id == placeholder.id
    member = await uc.create_user(deps, "bob@example.com", project.id)
    session = await uc.set_password(deps, await uc.sign_in_link_token(deps, member), "bob's password!")
    visit = await uc.visit(deps, session.token)
    assert visit.role is Role.MEMBER  # owner-only pages refuse it (tests/dashboard)
    assert [(u.email, r) for u, r in await deps.storage.users.members(project.id)] == [
        ("bob@example.com", Role.MEMBER),
        ("me@acme.test", Role.OWNER),
    ]
