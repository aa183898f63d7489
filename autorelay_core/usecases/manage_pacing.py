"""An operator's pace rules (at most N a minute to a receiving group) and warm-up schedules (a daily
cap per sending domain that grows). The Pacer (pacing.py) reads them before each delivery."""

from __future__ import annotations

from autorelay_core.domain.pacing import PaceRule, Warmup
from autorelay_core.usecases.context import Deps


async def set_rule(deps: Deps, rule: PaceRule) -> None:
    await deps.storage.pacing.set_rule(rule)


async def rules(deps: Deps) -> list[PaceRule]:
    return await deps.storage.pacing.rules()


async def drop_rule(deps: Deps, name: str) -> bool:
    """False when no rule has that name."""
    return await deps.storage.pacing.drop_rule(name.lower())


async def set_warmup(deps: Deps, schedule: Warmup) -> None:
    await deps.storage.pacing.set_warmup(schedule)


async def warmups(deps: Deps) -> list[Warmup]:
    return await deps.storage.pacing.warmups()


async def drop_warmup(deps: Deps, domain: str) -> bool:
    """False when the domain has no warm-up."""
    return await deps.storage.pacing.drop_warmup(domain.lower())
