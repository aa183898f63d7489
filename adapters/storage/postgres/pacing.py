"""Pace rules and warm-up schedules on PostgreSQL (see store.py for the pool)."""

from __future__ import annotations

from adapters.storage.rows import pacing as rows
from autorelay_core.domain.pacing import PaceRule, Warmup


class PostgresPacing:
    def __init__(self, db) -> None:
        self.db = db

    async def rules(self) -> list[PaceRule]:
        return [rows.rule_row(r) for r in await self.db.fetchall(rows.RULES)]

    async def set_rule(self, rule: PaceRule) -> None:
        await self.db.rowcount(rows.SET_RULE.format(p="%s"), rows.rule_values(rule))

    async def drop_rule(self, name: str) -> bool:
        return await self.db.rowcount(rows.DROP_RULE.format(p="%s"), (name,)) == 1

    async def warmups(self) -> list[Warmup]:
        return [rows.warmup_row(r) for r in await self.db.fetchall(rows.WARMUPS)]

    async def set_warmup(self, warmup: Warmup) -> None:
        await self.db.rowcount(rows.SET_WARMUP.format(p="%s"), rows.warmup_values(warmup))

    async def drop_warmup(self, domain: str) -> bool:
        return await self.db.rowcount(rows.DROP_WARMUP.format(p="%s"), (domain,)) == 1
