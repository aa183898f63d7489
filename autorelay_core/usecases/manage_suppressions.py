"""The suppression list as a person or a key changes it: lifting an address (the bounces and
complaints that put it there come through provider_feedback)."""

from __future__ import annotations

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.suppressions import Suppression
from autorelay_core.errors import NotFound
from autorelay_core.usecases.context import Deps


async def lift_suppression(deps: Deps, caller: Caller, address: str) -> str:
    """Take `address` off the project's list (compared lower-cased, as stored); NotFound when it
    was not on it. Returns the address as given, stripped."""
    project_id = caller.project_id
    address = address.strip()
    if not await deps.storage.suppressions.remove(project_id, address.lower()):
        raise NotFound(f"{address} is not suppressed")
    return address


async def suppression_page(deps: Deps, caller: Caller, limit: int, after: str | None) -> list[Suppression]:
    """Up to `limit` suppressions in address order, after the address `after`."""
    project_id = caller.project_id
    return await deps.storage.suppressions.page(project_id, limit, after)
