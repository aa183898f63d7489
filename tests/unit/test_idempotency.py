"""Idempotency-Key rules over the memory store, with a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from autorelay_core.domain.callers import Caller
from autorelay_core.errors import (
    AccountLocked,
    Conflict,
    Invalid,
    NotFound,
    QuotaExceeded,
    RateLimited,
    Unauthenticated,
    Unavailable,
    Unprocessable,
)
from autorelay_core.policies.idempotency import StoredResponse, fingerprint, replayable
from autorelay_core.usecases.idempotent import run_once

EP = "POST /api/v1/emails"


class Counting:
    """An operation answering as a door does: its answer, and whether the refusal (if any) lasts."""

    def __init__(self, refused: Exception | None = None, body: bytes = b'{"id":"em_1"}') -> None:
        self.calls, self.refused, self.body = 0, refused, body

    async def __call__(self) -> tuple[StoredResponse, bool]:
        self.calls += 1
        status = 200 if self.refused is None else 400
        return StoredResponse(status, "application/json", self.body), replayable(self.refused)


async def test_a_repeat_replays_the_stored_answer_without_running_again(deps):
    op = Counting()
    first, replayed = await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op)
    again, replayed_again = await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op)
    assert (replayed, replayed_again, op.calls) == (False, True, 1)
    assert again == first


async def test_another_body_or_route_with_the_same_key_is_422(deps):
    await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", Counting())
    with pytest.raises(Unprocessable):
        await run_once(deps, Caller.system("prj"), "k1", EP, b'{"x":1}', Counting())
    with pytest.raises(Unprocessable):
        await run_once(deps, Caller.system("prj"), "k1", "POST /api/v1/templates", b"{}", Counting())


async def test_keys_are_scoped_by_project(deps):
    op = Counting()
    await run_once(deps, Caller.system("prj_a"), "k1", EP, b"{}", op)
    _, replayed = await run_once(deps, Caller.system("prj_b"), "k1", EP, b"{}", op)
    assert not replayed and op.calls == 2


async def test_a_request_in_flight_makes_repeats_409(deps):
    started, release = asyncio.Event(), asyncio.Event()

    async def slow() -> tuple[StoredResponse, bool]:
        started.set()
        await release.wait()
        return StoredResponse(200, "application/json", b"{}"), True

    first = asyncio.create_task(run_once(deps, Caller.system("prj"), "k1", EP, b"{}", slow))
    await started.wait()
    with pytest.raises(Conflict):
        await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", Counting())
    release.set()
    await first


@pytest.mark.parametrize(
    ("refused", "kept"),
    [
        (None, True),
        (Invalid("to is required"), True),
        (NotFound("template tpl_1 not found"), True),
        (QuotaExceeded("monthly quota used"), True),
        (AccountLocked("suspended", account_status="suspended"), True),
        (Unauthenticated("missing key"), False),
        (Conflict("already exists"), False),
        (RateLimited("slow down", retry_after=1), False),
        (Unavailable("database busy"), False),
    ],
    ids=lambda value: type(value).__name__ if value is not None else "success",
)
async def test_which_answers_are_kept(deps, refused, kept):
    """A success and lasting refusals replay; refusals that may pass let a retry run again."""
    op = Counting(refused)
    await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op)
    _, replayed = await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op)
    assert replayed is kept and op.calls == (1 if kept else 2)


async def test_a_crash_releases_the_key(deps):
    async def boom() -> tuple[StoredResponse, bool]:
        raise RuntimeError("database down")

    with pytest.raises(RuntimeError):
        await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", boom)
    _, replayed = await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", Counting())
    assert not replayed


async def test_keys_expire_after_24_hours_and_dead_claims_after_a_minute(deps, clock):
    op = Counting()
    await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op)
    clock.advance(hours=23, minutes=59)
    assert (await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op))[1] is True
    clock.advance(minutes=2)
    assert (await run_once(deps, Caller.system("prj"), "k1", EP, b"{}", op))[1] is False
    # A claim whose request never finished (the process died) frees itself after a minute.
    assert await deps.storage.idempotency.claim("prj", "k2", fingerprint(EP, b"{}"), clock.now()) is None
    with pytest.raises(Conflict):
        await run_once(deps, Caller.system("prj"), "k2", EP, b"{}", op)
    clock.advance(seconds=61)
    assert (await run_once(deps, Caller.system("prj"), "k2", EP, b"{}", op))[1] is False


async def test_key_length_is_checked(deps):
    with pytest.raises(Invalid, match="255"):
        await run_once(deps, Caller.system("prj"), "k" * 256, EP, b"{}", Counting())
    await run_once(deps, Caller.system("prj"), "k" * 255, EP, b"{}", Counting())
