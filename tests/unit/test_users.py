"""Dashboard users over the memory adapters: links, passwords, sessions, roles, throttling."""

from __future__ import annotations

import pytest

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


async def test_sign_in_is_throttled_per_account_and_per_client(deps):
    _, user = await owner(deps)
    await uc.set_password(deps, await uc.sign_in_link_token(deps, user), "correct horse battery")
    for _ in range(10):
        with pytest.raises(Unauthenticated):
            await uc.sign_in(deps, user.email, "guess guess guess", "198.51.100.1")
    with pytest.raises(RateLimited):  # even the right password, for a while
        await uc.sign_in(deps, user.email, "correct horse battery", "198.51.100.2")
    for i in range(30):
        with pytest.raises((Unauthenticated, RateLimited)):
            await uc.sign_in(deps, f"u{i}@example.com", "guess guess guess", "203.0.113.5")
    with pytest.raises(RateLimited):
        await uc.sign_in(deps, "another@example.com", "guess guess guess", "203.0.113.5")


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
