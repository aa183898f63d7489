"""A/B tests over the memory adapters: the draft's test checked, the test share split evenly and
stably, the winner by rate after the wait (or a person's pick), and the rest queued with it once."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autorelay_core.domain.ab_tests import Metric, VariantResult, assign, winner
from autorelay_core.domain.campaigns import CampaignStatus
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases.ab_winner import choose_winner, decide_tests, results
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.manage_contacts import ContactInput, create_contact
from tests.unit.test_campaigns import draft
from tests.unit.test_send_email import live_key

TEST = {
    "variants": [{"subject": "A: {{ name }}"}, {"subject": "B: {{ name }}", "fromName": "Bea at Acme"}],
    "testPercent": 20,
    "waitMinutes": 60,
}


@given(
    keys=st.lists(st.text(min_size=1, max_size=8), max_size=300, unique=True),
    percent=st.integers(1, 100),
    variants=st.integers(2, 4),
)
def test_the_split_puts_each_person_in_one_group_evenly_and_the_same_every_time(keys, percent, variants):
    groups, rest = assign("cmp_x", keys, percent, variants)
    assert set(groups).isdisjoint(rest) and set(groups) | set(rest) == set(keys)
    assert len(groups) == min(len(keys), max(variants, round(len(keys) * percent / 100)))
    sizes = Counter(groups.values())
    assert not sizes or max(sizes.values()) - min(sizes.get(i, 0) for i in range(variants)) <= 1
    assert assign("cmp_x", list(reversed(keys)), percent, variants) == (groups, rest), "order does not matter"


def test_the_winner_is_the_best_rate_and_a_tie_goes_to_the_control():
    a, b = VariantResult(sent=100, opened=30, clicked=1), VariantResult(sent=50, opened=20, clicked=1)
    assert winner([a, b], Metric.OPENS) == 1  # 40 % beats 30 %
    assert winner([a, b], Metric.CLICKS) == 1  # 2 % beats 1 %
    assert winner([VariantResult(0, 0, 0), VariantResult(0, 0, 0)], Metric.OPENS) == 0


async def _campaign(deps, people: int, test=TEST, **fields):
    key = await live_key(deps)
    campaign = await draft(deps, key, from_email="News <news@acme.test>", ab_test=test, **fields)
    for n in range(people):
        await create_contact(deps, key, ContactInput(f"p{n}@example.com", campaign.list_id, f"P{n}"))
    return key, campaign


async def test_a_drafts_test_is_checked_with_the_problem_named(deps):
    key, campaign = await _campaign(deps, 0)
    assert [v.subject for v in campaign.ab_test.variants] == ["A: {{ name }}", "B: {{ name }}"]
    for test, problem in [
        ({"variants": [{}]}, "abTest.variants must be a list of 2 to 4 variants"),
        ({"variants": [{}, {"subject": "x\r\nBcc: evil@x.test"}]}, "abTest.variants[1].subject must not contain"),
        ({"variants": [{}, {"content": "{% if %}"}]}, "abTest.variants[1].content"),
        ({"variants": [{}, {}], "testPercent": 0}, "abTest.testPercent must be a whole number from 1 to 100"),
        ({"variants": [{}, {}], "metric": "replies"}, "abTest.metric must be opens or clicks"),
        ({"variants": [{}, {}], "waitMinutes": 20000}, "abTest.waitMinutes must be a whole number from 0 to 10080"),
        ({"variants": [{}, {}], "colour": "red"}, "abTest has unknown field(s): colour"),
        ("yes", "abTest must be an object"),
    ]:
        with pytest.raises(Invalid, match=re.escape(problem)):
            await uc.update_campaign(deps, key, campaign.id, uc.CampaignInput(ab_test=test))
    removed = await uc.update_campaign(deps, key, campaign.id, uc.CampaignInput(ab_test=False))
    assert removed.ab_test is None


async def test_the_test_share_goes_out_then_the_winner_reaches_the_rest_once(deps, mailer, clock):
    key, campaign = await _campaign(deps, 50)
    launched = await uc.launch_campaign(deps, key, campaign.id)
    assert launched.total == 10 and launched.ab_test.winner is None
    clock.advance(seconds=5)
    await drain(deps)
    subjects = Counter(m.subject.split(":")[0] for m in mailer.sent)
    assert subjects == {"A": 5, "B": 5}, "20 % of 50, split evenly"
    assert {m.sender for m in mailer.sent if m.subject.startswith("B")} == {"Bea at Acme <news@acme.test>"}
    assert all(m.sender == "News <news@acme.test>" for m in mailer.sent if m.subject.startswith("A"))
    assert (await uc.progress(deps, await uc.get_campaign(deps, key, campaign.id))).campaign.status is (
        CampaignStatus.SENDING
    ), "not complete while the rest waits for the winner"

    # Three of B's recipients open it (through the pixel, as a mail app would); one of A's.
    from autorelay_core.usecases.tracking import record_open

    readers = [m for m in mailer.sent if m.subject.startswith("B")][:3] + [
        m for m in mailer.sent if m.subject.startswith("A")
    ][:1]
    for message in readers:
        await record_open(deps, re.search(r"/track/open/([^\"]+)", message.html)[1])
    assert await decide_tests(deps) == [], "an hour is not up"
    clock.advance(minutes=60)
    [decided] = await decide_tests(deps)
    assert decided.ab_test.winner == 1 and decided.total == 50
    assert await decide_tests(deps) == [], "decided once"
    clock.advance(seconds=5)
    await drain(deps)
    received = Counter(m.to[0] for m in mailer.sent)
    assert len(received) == 50 and set(received.values()) == {1}, "every person once"
    rest = [m for m in mailer.sent[10:]]
    assert {m.subject.split(":")[0] for m in rest} == {"B"} and len(rest) == 40
    found = await results(deps, decided)
    assert [r.sent for r in found.by_variant] == [5, 5] and found.leader == 1, "the test's own numbers"
    final = await uc.progress(deps, await uc.get_campaign(deps, key, campaign.id))
    assert final.campaign.status is CampaignStatus.COMPLETED and final.campaign.sent == 50


async def test_a_person_picks_the_winner_of_a_manual_test(deps, mailer, clock):
    key, campaign = await _campaign(deps, 20, TEST | {"pick": "manual", "waitMinutes": 0, "testPercent": 50})
    await uc.launch_campaign(deps, key, campaign.id)
    clock.advance(seconds=5)
    await drain(deps)
    clock.advance(minutes=10)
    assert await decide_tests(deps) == [], "manual: nobody decides but a person"
    with pytest.raises(Invalid, match="variant must be one of A, B"):
        await choose_winner(deps, key, campaign.id, "C")
    picked = await choose_winner(deps, key, campaign.id, "A")
    assert picked.ab_test.winner == 0
    with pytest.raises(Conflict, match="already picked: variant A"):
        await choose_winner(deps, key, campaign.id, "B")
    clock.advance(seconds=5)
    await drain(deps)
    assert len({m.to for m in mailer.sent}) == len(mailer.sent) == 20
    assert Counter(m.subject[0] for m in mailer.sent) == {"A": 15, "B": 5}


async def test_queuing_the_rest_twice_adds_nobody_twice(deps, mailer, clock):
    from autorelay_core.usecases.ab_winner import _send_rest

    key, campaign = await _campaign(deps, 10, TEST | {"waitMinutes": 0})
    launched = await uc.launch_campaign(deps, key, campaign.id)
    kept = await deps.storage.campaigns.rest(campaign.id)
    assert len(kept) == 8
    first = await _send_rest(deps, launched, 0)
    # As if killed after the emails were added and before the kept list was dropped: run again.
    await deps.storage.campaigns.keep_rest(campaign.id, kept)
    again = await _send_rest(deps, launched, 0)
    assert first.total == again.total == 10
    clock.advance(seconds=5)
    await drain(deps)
    assert len(mailer.sent) == 10 and len({m.to for m in mailer.sent}) == 10


async def test_a_test_whose_whole_campaign_passes_the_quota_is_refused_whole(deps, mailer):
    from attrs import evolve

    from autorelay_core.errors import QuotaExceeded

    deps = evolve(deps, config=evolve(deps.config, monthly_quota=30))
    key, campaign = await _campaign(deps, 50)  # the test share (10) fits, the campaign does not
    with pytest.raises(QuotaExceeded, match="50 more emails would pass it"):
        await uc.launch_campaign(deps, key, campaign.id)
    assert (await uc.get_campaign(deps, key, campaign.id)).status is CampaignStatus.DRAFT
    assert await deps.storage.campaign_mail.statuses(campaign.id) == {}
