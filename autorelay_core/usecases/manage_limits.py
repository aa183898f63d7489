"""An operator's rate-limit overrides: a project's per-key limit of one operation, raised or lowered
(`autorelay limits`). The other scopes' limits (per recipient, per IP) are the reference's."""

from __future__ import annotations

from autorelay_core.domain.callers import Caller
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.usecases.context import Deps


async def set_limit(deps: Deps, caller: Caller, operation: str, limit: Limit) -> None:
    project_id = caller.project_id
    await deps.storage.limits.set(project_id, operation, limit)


async def clear_limit(deps: Deps, caller: Caller, operation: str) -> bool:
    """Back to the reference's limit; False when there was no override."""
    project_id = caller.project_id
    return await deps.storage.limits.clear(project_id, operation)


async def limit_overrides(deps: Deps, caller: Caller) -> dict[str, Limit]:
    project_id = caller.project_id
    return await deps.storage.limits.get(project_id)
