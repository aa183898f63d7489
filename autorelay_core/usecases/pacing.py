"""Pacing at delivery time: per destination, after a deferral, and a sending domain's warm-up.

Every check goes through the rate-limit store, so processes that share one (SQLite file, Postgres,
Redis) share the pace. An email that may not go yet is given back to the outbox unsent, due when
it may (`EmailRepository.postpone`): it is held, never dropped, and its retries stay untouched.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from autorelay_core.domain.addresses import split_mailbox
from autorelay_core.domain.emails import Email
from autorelay_core.domain.pacing import PaceRule, Warmup, destination
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.ports import PacingSettings, RateLimitStore

DAY = 86400.0
# How long the settings are cached: `autorelay pacing set` reaches every worker within this.
SETTINGS_TTL = 10.0
# A limit of 0 admits nothing and records nothing: it reads a bucket without touching it.
PEEK_COUNT = 0
ANY = "*"  # the bucket every deferral also lands in


class Pacer:
    """One per process: caches the settings and spreads the emails it holds back over the pace
    (a hint: the rate-limit store is what enforces the pace, across processes)."""

    def __init__(self, settings: PacingSettings, limits: RateLimitStore, backoff: timedelta) -> None:
        self._settings, self._limits, self._backoff = settings, limits, backoff.total_seconds()
        self._loaded_at = -math.inf
        self._rules: dict[str, PaceRule] = {}
        self._rule_list: list[PaceRule] = []
        self._warmups: dict[str, Warmup] = {}
        self._next_slot: dict[str, float] = {}
        self._woken: set[int] = set()
        self._resting, self._resting_checked_at = False, -math.inf

    async def _load(self, now: float) -> None:
        if now - self._loaded_at < SETTINGS_TTL:
            return
        self._rule_list = await self._settings.rules()
        self._rules = {rule.name: rule for rule in self._rule_list}
        self._warmups = {w.domain: w for w in await self._settings.warmups()}
        self._loaded_at = now

    def destinations(self, email: Email) -> list[str]:
        domains = {(split_mailbox(r)[1] or r).rpartition("@")[2] for r in (*email.to, *email.cc, *email.bcc)}
        return sorted({destination(domain, self._rule_list) for domain in domains if domain})

    async def hold_until(self, email: Email, now: datetime) -> datetime | None:
        """None when the email may go now (and it is counted against its paces); otherwise when to
        look at it again."""
        t = now.timestamp()
        await self._load(t)
        destinations = self.destinations(email)
        if await self._any_resting(t):  # a destination that deferred us rests first
            for name in destinations:
                rest = await self._limits.hit(f"backoff:{name}", t, Limit(PEEK_COUNT, self._backoff))
                if rest.used and rest.oldest is not None:
                    return self._at(rest.oldest + self._backoff)
        for name in destinations:
            rule = self._rules.get(name)
            if rule is None:
                continue
            limit = rule.limit()
            admission = await self._limits.hit(f"pace:{name}", t, limit)
            if not admission.allowed and admission.oldest is not None:
                return self._at(self._slot(f"pace:{name}", admission.oldest + limit.window, limit))
        sending = _sending_domain(email)
        warmup = self._warmups.get(sending)
        allowance = warmup.allowance(now.date()) if warmup else None
        if allowance is not None:
            # A rolling day: no 24 hours hold more than the day's allowance; what is held goes out
            # as the oldest of the day's sends leave the window, that is, the next day.
            admission = await self._limits.hit(f"warmup:{sending}", t, Limit(allowance, DAY))
            if not admission.allowed and admission.oldest is not None:
                return self._at(admission.oldest + DAY)
        return None

    async def deferred(self, email: Email, now: datetime) -> None:
        """A destination answered "try later": it rests for the backoff, the others go on."""
        t = now.timestamp()
        await self._load(t)
        for name in [*self.destinations(email), ANY]:
            await self._limits.hit(f"backoff:{name}", t, Limit(1_000_000, self._backoff))
        self._resting_checked_at = -math.inf

    async def _any_resting(self, t: float) -> bool:
        """Whether any destination deferred anyone lately: read once a second, not once an email,
        since deferrals are rare and every delivery asks (another process's shows within a second)."""
        if t - self._resting_checked_at >= 1.0:
            rest = await self._limits.hit(f"backoff:{ANY}", t, Limit(PEEK_COUNT, self._backoff))
            self._resting, self._resting_checked_at = bool(rest.used), t
        return self._resting

    def _slot(self, bucket: str, free_at: float, limit: Limit) -> float:
        """Emails held for one pace come back one interval apart, not all at the moment the window
        frees, so a backlog is not claimed and held again on every pass."""
        at = max(free_at, self._next_slot.get(bucket, 0.0))
        self._next_slot[bucket] = at + limit.window / limit.count
        return at

    def _at(self, moment: float) -> datetime:
        return datetime.fromtimestamp(moment + 1e-3, tz=UTC)

    def wake_second(self, at: datetime) -> bool:
        """True the first time a pass is asked for the second after `at` (one wake per second
        serves every email held until then)."""
        second = math.ceil(at.timestamp())
        if second in self._woken:
            return False
        if len(self._woken) > 10_000:
            self._woken.clear()
        self._woken.add(second)
        return True

    async def today(self, domain: str, now: datetime) -> tuple[Warmup, int | None, int] | None:
        """The domain's warm-up, today's allowance, and how many went in the last 24 hours."""
        t = now.timestamp()
        await self._load(t)
        warmup = self._warmups.get(domain)
        if warmup is None:
            return None
        used = await self._limits.hit(f"warmup:{domain}", t, Limit(PEEK_COUNT, DAY))
        return warmup, warmup.allowance(now.date()), used.used


def _sending_domain(email: Email) -> str:
    return (split_mailbox(email.sender)[1] or email.sender).rpartition("@")[2].lower()
