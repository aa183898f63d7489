"""Run one request under an Idempotency-Key."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from autorelay_core.domain.callers import Caller
from autorelay_core.errors import InFlight, Unprocessable
from autorelay_core.policies.idempotency import StoredResponse, check_key, fingerprint
from autorelay_core.usecases.context import Deps


async def run_once(
    deps: Deps,
    caller: Caller,
    key: str,
    target: str,
    body: bytes,
    operation: Callable[[], Awaitable[tuple[StoredResponse, bool]]],
) -> tuple[StoredResponse, bool]:
    """The operation's answer, and whether it is a replay (`target`: the concrete method, path and
    query). The operation must turn the errors it answers (validation, not found...) into answers
    itself, and say whether its answer may be replayed (policies.idempotency.replayable); anything
    it raises is a failure of ours: the claim is released and the error propagates."""
    project_id = caller.project_id
    check_key(key)
    mine = fingerprint(target, body)
    store = deps.storage.idempotency
    existing = await store.claim(project_id, key, mine, deps.clock.now())
    if existing is not None:
        if existing.fingerprint != mine:
            raise Unprocessable("This Idempotency-Key was used with a different request; use a new key")
        if existing.response is None:
            raise InFlight("A request with this Idempotency-Key is still in progress; retry shortly")
        return existing.response, True
    try:
        response, keep = await operation()
    except BaseException:
        await store.release(project_id, key)
        raise
    if keep:
        await store.complete(project_id, key, response)
    else:
        await store.release(project_id, key)
    return response, False
