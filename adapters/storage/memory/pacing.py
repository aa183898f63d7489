"""Pace rules and warm-up schedules in this process's memory."""

from __future__ import annotations

from autorelay_core.domain.pacing import PaceRule, Warmup


class MemoryPacing:
    def __init__(self) -> None:
        self._rules: dict[str, PaceRule] = {}
        self._warmups: dict[str, Warmup] = {}

    async def rules(self) -> list[PaceRule]:
        return [self._rules[name] for name in sorted(self._rules)]

    async def set_rule(self, rule: PaceRule) -> None:
        self._rules[rule.name] = rule

    async def drop_rule(self, name: str) -> bool:
        return self._rules.pop(name, None) is not None

    async def warmups(self) -> list[Warmup]:
        return [self._warmups[domain] for domain in sorted(self._warmups)]

    async def set_warmup(self, warmup: Warmup) -> None:
        self._warmups[warmup.domain] = warmup

    async def drop_warmup(self, domain: str) -> bool:
        return self._warmups.pop(domain, None) is not None
