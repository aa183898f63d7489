"""Sliding-window rate limits: the table from the API reference, and the rule every store applies.

A request is admitted when fewer than `count` requests were admitted for the same bucket in the
`window` seconds before it; the admitted ones are remembered (a sliding log), so no window of that
length ever holds more than `count` admitted requests. A refused request is told to retry after
the oldest admitted request in the window leaves it; at that moment it will be admitted.
"""

from __future__ import annotations

import math
from enum import StrEnum

from attrs import frozen

from autorelay_core.errors import Invalid, RateLimited


class Scope(StrEnum):
    KEY = "key"  # per project API key
    RECIPIENT = "recipient"
    IP = "ip"


@frozen
class Limit:
    count: int
    window: float  # seconds
    scope: Scope = Scope.KEY

    def describe(self) -> str:
        return f"{self.count}/{_UNIT_NAMES.get(self.window, f'{self.window:g}s')}"


_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "hour": 3600.0, "h": 3600.0, "day": 86400.0, "d": 86400.0}
_UNIT_NAMES = {1.0: "s", 60.0: "min", 3600.0: "hour", 86400.0: "day"}

MINUTE, HOUR = 60.0, 3600.0

# Exactly the reference's table, by operation. Each door maps onto these names: the HTTP adapter
# its routes (adapters/http/operations.py), the SMTP relay and the dashboard the operation they do.
LIMITS: dict[str, tuple[Limit, ...]] = {
    "emails.send": (Limit(100, MINUTE),),
    "emails.send_batch": (Limit(10, MINUTE),),
    "contacts.list": (Limit(60, MINUTE),),
    "contacts.create": (Limit(30, MINUTE),),
    "contacts.get": (Limit(60, MINUTE),),
    "contacts.update": (Limit(30, MINUTE),),
    "contacts.delete": (Limit(30, MINUTE),),
    "contacts.import": (Limit(5, HOUR),),
    "events.record": (Limit(100, MINUTE),),  # as many as sends: an app records one per user action
    "segments.create": (Limit(30, MINUTE),),
    "segments.count": (Limit(60, MINUTE),),  # each is a query over every contact: a live count, not a feed
    "topics.create": (Limit(30, MINUTE),),
    "journeys.create": (Limit(30, MINUTE),),
    "journeys.enter": (Limit(100, MINUTE),),  # like events: one per user action
    "lists.list": (Limit(60, MINUTE),),
    "lists.create": (Limit(20, HOUR),),
    "campaigns.list": (Limit(60, MINUTE),),
    "campaigns.create": (Limit(20, HOUR),),
    "campaigns.get": (Limit(60, MINUTE),),
    "campaigns.update": (Limit(30, MINUTE),),
    "campaigns.delete": (Limit(30, MINUTE),),
    "campaigns.launch": (Limit(5, HOUR),),
    "templates.list": (Limit(60, MINUTE),),
    "assets.list": (Limit(60, MINUTE),),
    "assets.upload": (Limit(30, MINUTE),),
    "domains.create": (Limit(10, HOUR),),
    # Not in the reference: API keys made and revoked through the Resend-compatible API.
    "keys.create": (Limit(10, HOUR),),
    "webhooks.create": (Limit(20, HOUR),),
    "stats.read": (Limit(30, MINUTE),),
    "otp.send": (Limit(20, HOUR), Limit(5, HOUR, Scope.RECIPIENT)),
    "otp.verify": (Limit(10, MINUTE),),
    "contacts.unsubscribe": (Limit(60, MINUTE, Scope.IP),),
    # Beyond the reference's table: each verification makes several DNS queries on our side.
    "domains.verify": (Limit(10, MINUTE),),
}


def parse_limit(text: str) -> Limit:
    """`100/min`, `5/hour`, `10000/m`, `3/30s`: an operator override."""
    try:
        count_text, unit = text.strip().split("/", 1)
        count = int(count_text)
        if unit in _UNITS:
            window = _UNITS[unit]
        else:
            window = float(unit.rstrip("s"))
    except ValueError:
        raise Invalid(f"{text!r} is not a limit like 100/min, 5/hour or 3/30s") from None
    if count < 1 or window <= 0:
        raise Invalid(f"{text!r}: the count and the window must be positive")
    return Limit(count, window)


@frozen
class Admission:
    """What a store reports for one attempt."""

    allowed: bool
    used: int  # admitted requests in the window, this one included when allowed
    oldest: float | None  # time of the oldest admitted request still in the window


def admit(log: list[float], now: float, limit: Limit) -> tuple[Admission, list[float]]:
    """The rule, on a bucket's log of admission times (oldest first). Returns the outcome and the
    log to store. Stores that cannot run Python (SQL, Redis) implement exactly this."""
    recent = [t for t in log if t > now - limit.window]
    if len(recent) < limit.count:
        recent.append(now)
        return Admission(True, len(recent), recent[0]), recent
    return Admission(False, len(recent), recent[0]), recent


def retry_after(admission: Admission, now: float, limit: Limit) -> int:
    """Whole seconds (>= 1) after which the same request will be admitted."""
    assert admission.oldest is not None
    # floor(... + slack) + 1 rather than ceil: strictly past the moment the oldest entry leaves the
    # window, with a microsecond to spare, so float rounding of `now + wait` can never land the
    # retry a hair too early.
    return max(1, math.floor(admission.oldest + limit.window - now + 1e-6) + 1)


def reset_after(admission: Admission, now: float, limit: Limit) -> int:
    """Seconds until the window has room for the full quota again (for the RateLimit header)."""
    if admission.oldest is None:
        return 0
    return max(0, math.ceil(admission.oldest + limit.window - now))


def refuse(admission: Admission, now: float, limit: Limit) -> RateLimited:
    wait = retry_after(admission, now, limit)
    return RateLimited(
        f"Rate limit exceeded: {limit.describe()} per {limit.scope.value}; retry in {wait} s",
        retry_after=wait,
        policy=(policy_name(limit), limit.count, limit.window),
    )


def policy_name(limit: Limit) -> str:
    return f"per-{limit.scope.value}"
