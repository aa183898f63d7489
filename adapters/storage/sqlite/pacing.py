"""Pace rules and warm-up schedules on SQLite (see tables.py for the connection)."""

from __future__ import annotations

from adapters.storage.rows import pacing as rows
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.pacing import PaceRule, Warmup


class SqlitePacing:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def rules(self) -> list[PaceRule]:
        return [rows.rule_row(r) for r in self._t.conn.execute(rows.RULES)]

    async def set_rule(self, rule: PaceRule) -> None:
        async with self._t.tx() as conn:
            conn.execute(rows.SET_RULE.format(p="?"), rows.rule_values(rule))

    async def drop_rule(self, name: str) -> bool:
        async with self._t.tx() as conn:
            return conn.execute(rows.DROP_RULE.format(p="?"), (name,)).rowcount == 1

    async def warmups(self) -> list[Warmup]:
        return [rows.warmup_row(r) for r in self._t.conn.execute(rows.WARMUPS)]

    async def set_warmup(self, warmup: Warmup) -> None:
        async with self._t.tx() as conn:
            conn.execute(rows.SET_WARMUP.format(p="?"), rows.warmup_values(warmup))

    async def drop_warmup(self, domain: str) -> bool:
        async with self._t.tx() as conn:
            return conn.execute(rows.DROP_WARMUP.format(p="?"), (domain,)).rowcount == 1
