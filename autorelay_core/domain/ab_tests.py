"""A/B tests of a campaign: 2 to 4 variants (subject, sender name, content), sent to a test share of
the recipients split evenly; after the wait, the variant with the best open (or click) rate is the
winner and the rest of the recipients get it, automatically or when a person picks it.

Who is in the test, and with which variant, is a pure function of the campaign id and the frozen
recipient set (`assign`): the same at a relaunch after a crash, and each recipient is in exactly
one group. The rest is kept at launch as a list of contact ids; the winner step turns it into
emails under the same (campaign, contact) uniqueness as the launch, so a kill anywhere leaves each
recipient with one email at most, and a rerun completes it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum

from attrs import frozen

LETTERS = "ABCD"
MIN_VARIANTS, MAX_VARIANTS = 2, 4
MIN_PERCENT, MAX_PERCENT = 1, 100  # 100: no rest, the test is the whole campaign (a plain split)
MAX_WAIT_MINUTES = 7 * 24 * 60


class Metric(StrEnum):
    OPENS = "opens"
    CLICKS = "clicks"


@frozen
class Variant:
    """What differs; None keeps the campaign's own (its subject, its sender's name, its content)."""

    subject: str | None = None
    from_name: str | None = None
    content: str | None = None


@frozen
class VariantResult:
    sent: int  # handed to the mailer (whatever happened next)
    opened: int  # opened or clicked (a click is an open the pixel missed)
    clicked: int

    def rate(self, metric: Metric) -> float:
        hits = self.opened if metric is Metric.OPENS else self.clicked
        return hits / self.sent if self.sent else 0.0

    @property
    def open_rate(self) -> float:
        return self.rate(Metric.OPENS)

    @property
    def click_rate(self) -> float:
        return self.rate(Metric.CLICKS)


@frozen
class AbTest:
    variants: tuple[Variant, ...]
    test_percent: int
    metric: Metric
    wait_minutes: int
    automatic: bool = True  # False: the rest waits for a person to pick the winner
    # Set at launch: whether the campaign was launched in test mode (its rest is too).
    test_mode: bool = False
    winner: int | None = None  # set once the rest has been queued with it
    decided_at: datetime | None = None

    def decides_at(self, launched: datetime) -> datetime:
        return launched + timedelta(minutes=self.wait_minutes)


def name(index: int) -> str:
    return LETTERS[index]


def _order(campaign_id: str, key: str) -> bytes:
    return hashlib.sha256(f"{campaign_id}\0{key}".encode()).digest()


def assign(campaign_id: str, keys: list[str], percent: int, variants: int) -> tuple[dict[str, int], list[str]]:
    """The test group (key -> variant index) and the rest, in a stable pseudo-random order: the
    first `percent` % of the keys by a hash of (campaign, key), at least one per variant, dealt
    round robin so the variants differ in size by one at most."""
    ordered = sorted(dict.fromkeys(keys), key=lambda key: _order(campaign_id, key))
    size = min(len(ordered), max(variants, round(len(ordered) * percent / 100)))
    return {key: i % variants for i, key in enumerate(ordered[:size])}, ordered[size:]


def winner(results: list[VariantResult], metric: Metric) -> int:
    """The variant with the best rate; a tie goes to the earliest (A before B: the control)."""
    best = max(result.rate(metric) for result in results)
    return next(i for i, result in enumerate(results) if result.rate(metric) == best)
