"""Pacing: how fast mail may go to a receiving domain group, and a new sending domain's warm-up.

Mailbox providers judge a sender by its volume per minute and its day-to-day growth; a burst from
an unknown sender is deferred or junked. A pace rule caps a destination (a group of receiving
domains) per minute; a warm-up caps a sending domain's mail per day on a rising schedule.
"""

from __future__ import annotations

from datetime import date

from attrs import frozen

from autorelay_core.errors import Invalid
from autorelay_core.policies.rate_limit import Limit

# The big consumer mailbox providers, each one destination however many domains it answers for.
BUILT_IN_GROUPS: dict[str, tuple[str, ...]] = {
    "gmail": ("gmail.com", "googlemail.com"),
    "microsoft": (
        "outlook.com", "hotmail.com", "live.com", "msn.com", "passport.com",
        "hotmail.co.uk", "hotmail.fr", "hotmail.de", "hotmail.it", "hotmail.es",
        "outlook.fr", "outlook.de", "live.co.uk", "live.fr", "live.de",
    ),
    "yahoo": (
        "yahoo.com", "ymail.com", "rocketmail.com", "yahoo.co.uk", "yahoo.fr", "yahoo.de", "yahoo.co.jp",
        "aol.com", "aim.com", "verizon.net",
    ),
}  # fmt: skip


@frozen
class PaceRule:
    """At most `per_minute` messages a minute to the destination `name`: a built-in group, a group
    of the operator's (`domains`), or a single receiving domain (a name with a dot)."""

    name: str
    per_minute: int
    domains: tuple[str, ...] = ()

    def limit(self) -> Limit:
        """The pace as a sliding window of a tenth of a minute (or one message), so the minute's
        allowance is spread over it instead of going out in one burst: no window of that length
        holds more than `count`, so no minute holds more than `per_minute`."""
        count = max(1, round(self.per_minute / 10))
        return Limit(count, 60.0 * count / self.per_minute)

    def members(self) -> tuple[str, ...]:
        if self.domains:
            return self.domains
        return BUILT_IN_GROUPS.get(self.name, (self.name,))


def pace_rule(name: str, per_minute: int, domains: tuple[str, ...] = ()) -> PaceRule:
    """A checked rule: Invalid names the problem."""
    name = name.strip().lower()
    domains = tuple(sorted({d.strip().lower().rstrip(".") for d in domains if d.strip()}))
    if not name or not all(c.isalnum() or c in "-._" for c in name):
        raise Invalid(f"{name!r} is not a destination name (letters, digits, '-', '_' or '.')", field="name")
    if per_minute < 1:
        raise Invalid("the pace must be at least 1 message a minute", field="per_minute")
    if "." not in name and name not in BUILT_IN_GROUPS and not domains:
        known = ", ".join(BUILT_IN_GROUPS)
        raise Invalid(f"{name!r} is not a built-in group ({known}) nor a domain: name its domains", field="domains")
    for domain in domains:
        if "." not in domain or not all(c.isalnum() or c in "-." for c in domain):
            raise Invalid(f"{domain!r} is not a domain name", field="domains")
    return PaceRule(name, per_minute, domains)


def destination(recipient_domain: str, rules: list[PaceRule]) -> str:
    """The destination a receiving domain belongs to: an operator's group that lists it, else a
    built-in group, else the domain itself (backoff after a deferral works per destination even
    where no pace is set)."""
    domain = recipient_domain.lower().rstrip(".")
    for rule in rules:
        if domain in rule.domains:
            return rule.name
    for name, members in BUILT_IN_GROUPS.items():
        if domain in members:
            return name
    return domain


@frozen
class Warmup:
    """A sending domain's daily allowance: `daily[0]` on `started_on`, `daily[1]` the next day, and so
    on; after the last day the warm-up is over and the domain sends without a daily cap."""

    domain: str
    started_on: date
    daily: tuple[int, ...]

    def day(self, today: date) -> int:
        """1 on the first day."""
        return (today - self.started_on).days + 1

    def allowance(self, today: date) -> int | None:
        """Today's allowance; None once the schedule is over (or before it starts: nothing to hold)."""
        index = (today - self.started_on).days
        return self.daily[index] if 0 <= index < len(self.daily) else None


def warmup(domain: str, started_on: date, daily: tuple[int, ...]) -> Warmup:
    domain = domain.strip().lower().rstrip(".")
    if "." not in domain:
        raise Invalid(f"{domain!r} is not a domain name", field="domain")
    if not daily or any(n < 1 for n in daily):
        raise Invalid("a warm-up schedule is one or more daily volumes, each at least 1", field="daily")
    if len(daily) > 366:
        raise Invalid("a warm-up schedule lasts at most a year", field="daily")
    return Warmup(domain, started_on, daily)


def ramp(start: int, factor: float, until: int) -> tuple[int, ...]:
    """A schedule that starts at `start` a day and grows by `factor` each day until `until` a day:
    ramp(50, 2, 1000) is (50, 100, 200, 400, 800, 1000)."""
    if start < 1 or factor <= 1 or until < start:
        raise Invalid("a ramp needs a start of at least 1, a factor above 1 and an end above the start")
    days: list[int] = []
    volume = float(start)
    while volume < until and len(days) < 366:
        days.append(int(volume))
        volume *= factor
    days.append(until)
    return tuple(days)
