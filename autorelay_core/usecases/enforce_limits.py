"""Apply the rate limits of one endpoint to one request."""

from __future__ import annotations

from attrs import frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.policies.rate_limit import LIMITS, Admission, Limit, Scope, refuse
from autorelay_core.usecases.context import Deps


@frozen
class Applied:
    limit: Limit
    admission: Admission
    now: float


async def limits_for(deps: Deps, caller: Caller, endpoint: str) -> tuple[Limit, ...]:
    """The reference's limits for the endpoint, with an operator override replacing the per-key one."""
    defaults = LIMITS.get(endpoint, ())
    override = (await deps.storage.limits.get(caller.project_id)).get(endpoint) if defaults else None
    if override is None:
        return defaults
    return tuple(override if limit.scope is Scope.KEY else limit for limit in defaults)


async def enforce(
    deps: Deps,
    endpoint: str,
    *,
    caller: Caller | None = None,
    project_id: str | None = None,
    recipient: str | None = None,
    ip: str | None = None,
    only: Scope | None = None,
) -> list[Applied]:
    """Count this request against every limit of the endpoint (or only those of one scope, for a
    subject known later than the caller); RateLimited if any is full. Returns what was applied, for
    the RateLimit response headers. `project_id`: whose recipient it is, when there is no caller.
    A caller's limits are its project's (an operator's override replaces the per-key one); a
    dashboard user is limited like a key of their own."""
    project_id = caller.project_id if caller else (project_id or "")
    limits = await limits_for(deps, caller, endpoint) if caller else LIMITS.get(endpoint, ())
    subjects = {
        Scope.KEY: caller.id if caller else None,
        Scope.RECIPIENT: f"{project_id}:{recipient.lower()}" if recipient else None,
        Scope.IP: ip,
    }
    applied = []
    now = deps.clock.now().timestamp()
    for limit in limits:
        subject = subjects[limit.scope]
        if subject is None or (only is not None and limit.scope is not only):
            continue
        admission = await deps.rate_limits.hit(f"{endpoint}|{limit.scope.value}:{subject}", now, limit)
        if not admission.allowed:
            deps.metrics.rate_limited(endpoint)
            raise refuse(admission, now, limit)
        applied.append(Applied(limit, admission, now))
    return applied
