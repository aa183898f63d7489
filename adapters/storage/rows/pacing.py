"""Pace rules and warm-up schedules in SQL: the statements and row codecs that the SQLite and the
PostgreSQL stores share (`{p}` is the driver's placeholder)."""

from __future__ import annotations

from datetime import date

from autorelay_core.domain.pacing import PaceRule, Warmup

RULES = "SELECT name, per_minute, domains FROM pace_rules ORDER BY name"
SET_RULE = (
    "INSERT INTO pace_rules (name, per_minute, domains) VALUES ({p}, {p}, {p})"
    " ON CONFLICT (name) DO UPDATE SET per_minute = excluded.per_minute, domains = excluded.domains"
)
DROP_RULE = "DELETE FROM pace_rules WHERE name = {p}"
WARMUPS = "SELECT domain, started_on, daily FROM warmups ORDER BY domain"
SET_WARMUP = (
    "INSERT INTO warmups (domain, started_on, daily) VALUES ({p}, {p}, {p})"
    " ON CONFLICT (domain) DO UPDATE SET started_on = excluded.started_on, daily = excluded.daily"
)
DROP_WARMUP = "DELETE FROM warmups WHERE domain = {p}"


def rule_values(rule: PaceRule) -> tuple:
    return (rule.name, rule.per_minute, ",".join(rule.domains))


def rule_row(row: tuple) -> PaceRule:
    name, per_minute, domains = row
    return PaceRule(name, per_minute, tuple(d for d in domains.split(",") if d))


def warmup_values(warmup: Warmup) -> tuple:
    return (warmup.domain, warmup.started_on.isoformat(), ",".join(map(str, warmup.daily)))


def warmup_row(row: tuple) -> Warmup:
    domain, started_on, daily = row
    started = started_on if isinstance(started_on, date) else date.fromisoformat(started_on)
    return Warmup(domain, started, tuple(int(n) for n in daily.split(",")))
