"""A campaign's A/B test as a draft gives it (`abTest`), checked, and the versions a launch renders:
one per variant, each variant's subject, sender name and content standing in for the campaign's."""

from __future__ import annotations

from typing import Any

from attrs import frozen

from autorelay_core.domain.ab_tests import (
    MAX_PERCENT,
    MAX_VARIANTS,
    MAX_WAIT_MINUTES,
    MIN_PERCENT,
    MIN_VARIANTS,
    AbTest,
    Metric,
    Variant,
)
from autorelay_core.domain.addresses import Mailbox
from autorelay_core.domain.campaigns import Campaign
from autorelay_core.domain.headers import not_text_problem, one_line_problem
from autorelay_core.domain.templates import MAX_TEMPLATE_CHARS
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_templates import parsed

_FIELDS = {"variants", "testPercent", "metric", "waitMinutes", "pick"}
_VARIANT_FIELDS = {"subject", "fromName", "content"}


@frozen
class Version:
    """What one group of recipients gets: None stands for the campaign without a test."""

    variant: int | None
    subject: str
    content: str
    sender: Mailbox


def _int(value: Any, field: str, low: int, high: int, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _text(value: Any, field: str, limit: int, *, one_line: bool) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"{field} must be a non-empty string (or left out: the campaign's own)", field=field)
    if len(value) > limit:
        raise Invalid(f"{field} must be at most {limit} characters", field=field)
    problem = one_line_problem(value, tab=True) if one_line else not_text_problem(value)
    if problem is not None:
        raise Invalid(f"{field} {problem}", field=field)
    return value.strip() if one_line else value


async def parse_ab_test(deps: Deps, value: Any) -> AbTest | None:
    """`{"variants": [{subject?, fromName?, content?} x 2-4], "testPercent": 20, "metric": "opens",
    "waitMinutes": 240, "pick": "auto" | "manual"}`; `false` removes the test."""
    if value is False:
        return None
    if not isinstance(value, dict):
        raise Invalid("abTest must be an object (or false to remove the test)", field="abTest")
    unknown = sorted(set(value) - _FIELDS)
    if unknown:
        raise Invalid(f"abTest has unknown field(s): {', '.join(unknown)}", field=f"abTest.{unknown[0]}")
    given = value.get("variants")
    if not isinstance(given, list) or not MIN_VARIANTS <= len(given) <= MAX_VARIANTS:
        raise Invalid(f"abTest.variants must be a list of {MIN_VARIANTS} to {MAX_VARIANTS} variants", field="abTest")
    variants = []
    for index, item in enumerate(given):
        at = f"abTest.variants[{index}]"
        if not isinstance(item, dict) or set(item) - _VARIANT_FIELDS:
            raise Invalid(f"{at} must be an object with subject, fromName and content (each optional)", field=at)
        variant = Variant(
            subject=_text(item.get("subject"), f"{at}.subject", 998, one_line=True),
            from_name=_text(item.get("fromName"), f"{at}.fromName", 256, one_line=True),
            content=_text(item.get("content"), f"{at}.content", MAX_TEMPLATE_CHARS, one_line=False),
        )
        for field, text in (("subject", variant.subject), ("content", variant.content)):
            if text is not None:
                await parsed(deps, text, f"{at}.{field}")
        variants.append(variant)
    metric = value.get("metric", "opens")
    if metric not in ("opens", "clicks"):
        raise Invalid("abTest.metric must be opens or clicks", field="abTest.metric")
    pick = value.get("pick", "auto")
    if pick not in ("auto", "manual"):
        raise Invalid("abTest.pick must be auto or manual", field="abTest.pick")
    return AbTest(
        variants=tuple(variants),
        test_percent=_int(value.get("testPercent"), "abTest.testPercent", MIN_PERCENT, MAX_PERCENT, 20),
        metric=Metric(metric),
        wait_minutes=_int(value.get("waitMinutes"), "abTest.waitMinutes", 0, MAX_WAIT_MINUTES, 240),
        automatic=pick == "auto",
    )


def versions(campaign: Campaign, sender: Mailbox) -> list[Version]:
    """The campaign's versions: its own, or one per variant of its test."""
    if campaign.ab_test is None:
        return [Version(None, campaign.subject, campaign.content, sender)]
    return [version(campaign, sender, index) for index in range(len(campaign.ab_test.variants))]


def version(campaign: Campaign, sender: Mailbox, index: int) -> Version:
    assert campaign.ab_test is not None
    variant = campaign.ab_test.variants[index]
    named = Mailbox(sender.address, variant.from_name) if variant.from_name else sender
    return Version(index, variant.subject or campaign.subject, variant.content or campaign.content, named)
