"""The user repository (dashboard users, memberships, sessions) over every storage adapter."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from autorelay_core.domain.users import Membership, Role, Session, User
from autorelay_core.errors import Conflict
from tests.support import FakeClock

NOW = FakeClock().now()


async def test_users_are_unique_by_email_whatever_its_case(store):
    ada = User("usr_1", "Ada@Example.com", NOW)
    await store.users.add(ada)
    with pytest.raises(Conflict):
        await store.users.add(User("usr_2", "ada@example.COM", NOW))
    assert await store.users.get("usr_1") == ada
    assert await store.users.get_by_email("ADA@example.com") == ada
    assert await store.users.new_link("usr_1") == 1 and await store.users.new_link("usr_1") == 2
    assert await store.users.new_link("usr_9") is None
    assert [u.id for u in await store.users.list()] == ["usr_1"]


async def test_a_link_is_redeemed_once_even_by_racing_callers(store):
    await store.users.add(User("usr_1", "ada@example.com", NOW))
    await store.users.add(User("usr_2", "bob@example.com", NOW))
    await store.users.add_session(Session("s1", "usr_1", NOW, NOW))
    version = await store.users.new_link("usr_1")
    won = await asyncio.gather(*(store.users.redeem_link("usr_1", version, f"hash{i}") for i in range(6)))
    assert sorted(won) == [False] * 5 + [True]
    ada = await store.users.get("usr_1")
    assert ada.link_version == version + 1 and ada.password_hash == f"hash{won.index(True)}"
    assert await store.users.session("s1") is None, "a redemption ends the user's sessions"
    assert not await store.users.redeem_link("usr_1", version, "again")
    with pytest.raises(Conflict):
        await store.users.redeem_link("usr_1", version + 1, "h", email="BOB@example.com")
    assert (await store.users.get("usr_1")).password_hash == f"hash{won.index(True)}"
    assert await store.users.redeem_link("usr_1", version + 1, "h2", email="Ada@Acme.test")
    assert (await store.users.get_by_email("ada@acme.TEST")).id == "usr_1"


async def test_memberships_and_sessions_go_with_their_user(store):
    for uid, email in (("usr_1", "a@example.com"), ("usr_2", "b@example.com")):
        await store.users.add(User(uid, email, NOW))
    await store.users.set_role(Membership("usr_1", "prj_a", Role.OWNER))
    await store.users.set_role(Membership("usr_1", "prj_b", Role.MEMBER))
    await store.users.set_role(Membership("usr_2", "prj_a", Role.MEMBER))
    await store.users.set_role(Membership("usr_2", "prj_a", Role.OWNER))  # changed, not added
    assert sorted(m.project_id for m in await store.users.memberships("usr_1")) == ["prj_a", "prj_b"]
    members = await store.users.members("prj_a")
    assert [(u.id, role) for u, role in members] == [("usr_1", Role.OWNER), ("usr_2", Role.OWNER)]
    assert await store.users.remove_member("usr_1", "prj_b")
    assert not await store.users.remove_member("usr_1", "prj_b")

    first = Session("s1", "usr_1", NOW, NOW)
    await store.users.add_session(first)
    await store.users.add_session(Session("s2", "usr_1", NOW, NOW))
    await store.users.add_session(Session("s3", "usr_2", NOW, NOW))
    later = NOW + timedelta(minutes=5)
    await store.users.touch_session("s1", later)
    assert (await store.users.session("s1")).seen_at == later
    await store.users.touch_session("s1", later, project_id="prj_b")
    assert (await store.users.session("s1")).project_id == "prj_b"
    await store.users.end_session("s1")
    assert await store.users.session("s1") is None
    await store.users.end_sessions("usr_1")
    assert await store.users.session("s2") is None and await store.users.session("s3") is not None

    assert await store.users.delete("usr_2")
    assert await store.users.get("usr_2") is None and await store.users.session("s3") is None
    assert [u.id for u, _ in await store.users.members("prj_a")] == ["usr_1"]
    assert not await store.users.delete("usr_2")
