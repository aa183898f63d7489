"""Noting a key's last use is bookkeeping: it never refuses the request it rides on."""

from __future__ import annotations

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Unavailable
from autorelay_core.usecases.manage_keys import authenticate, create_key, create_project


async def test_a_locked_out_last_use_write_lets_the_request_through_and_is_tried_again(deps, clock):
    project = await create_project(deps, "acme")
    issued = await create_key(deps, Caller.system(project.id), KeyMode.LIVE)
    touched, real_touch = [], deps.storage.keys.touch

    async def locked_touch(key_id, at):
        touched.append(at)
        raise Unavailable("the database is locked by another process; retry shortly", retry_after=1)

    deps.storage.keys.touch = locked_touch
    assert (await authenticate(deps, issued.plain)).id == issued.key.id
    assert (await authenticate(deps, issued.plain)).id == issued.key.id
    assert len(touched) == 2, "the use was not noted, so the next request tries again"

    deps.storage.keys.touch = real_touch
    clock.advance(seconds=5)
    await authenticate(deps, issued.plain)
    [listed] = await deps.storage.keys.list(project.id)
    assert listed.last_used_at == clock.now()
