"""The one access rule: may this caller do this, now? Every door asks here (the API's `requires`,
the dashboard's pages and its sends, the SMTP relay) before it calls a use case."""

from __future__ import annotations

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.reputation import check_access
from autorelay_core.errors import Forbidden
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.enforce_limits import Applied, enforce


async def admit(
    deps: Deps,
    caller: Caller,
    *,
    scope: str | None = None,
    limited_as: str | None = None,
    mutating: bool = True,
    status: bool = True,
) -> list[Applied]:
    """Refuse, in this order: a project whose account is locked (AccountLocked; reads too once it
    is deactivated), a caller without `scope` (Forbidden), a caller over the rate limits of the
    operation `limited_as` (RateLimited). Returns the limits applied, for the RateLimit headers.
    Only the doors tenants use are rate limited (Caller.rate_limited). `status=False`: the
    account's status does not apply (a locked project's owners still manage it in the dashboard;
    what it sends is refused)."""
    project = await deps.storage.projects.get(caller.project_id) if status else None
    if project is not None:
        check_access(project, mutating=mutating, contact=deps.config.support_contact)
    if scope is not None and not caller.allows(scope):
        raise Forbidden(caller.lacks(scope))
    if limited_as is None or not caller.rate_limited:
        return []
    return await enforce(deps, limited_as, caller=caller)
