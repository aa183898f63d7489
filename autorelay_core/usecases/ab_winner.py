"""An A/B test's second half: the results by variant, the winner (picked by the reconciler after the
wait, or by a person), and the rest of the recipients queued with it.

The rest was kept at launch as contact ids (CampaignRepository.keep_rest). Queuing it is one
`add_many` under the (campaign, contact) uniqueness, then the campaign's update, then the kept list
dropped: a process killed between any two steps leaves a state the next round completes, and no
contact ever gets a second email.
"""

from __future__ import annotations

import logging

from attrs import evolve, frozen

from autorelay_core.domain.ab_tests import Metric, VariantResult, name, winner
from autorelay_core.domain.addresses import Mailbox
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.campaigns import Campaign, CampaignStatus
from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.emails import EmailStatus, Event, EventType
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import AutoRelayError, Conflict, Invalid
from autorelay_core.usecases.campaign_variants import version
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_campaigns import campaign_emails, get_campaign
from autorelay_core.usecases.manage_properties import as_read
from autorelay_core.usecases.manage_topics import in_topic
from autorelay_core.usecases.send_email import sender_charges

log = logging.getLogger("autorelay.campaigns")

_HANDED_OVER = (EmailStatus.SENT, EmailStatus.OPENED, EmailStatus.CLICKED, EmailStatus.COMPLAINED, EmailStatus.BOUNCED)


@frozen
class Results:
    by_variant: list[VariantResult]
    leader: int  # the variant that would win now (a tie: the earliest), or the winner once decided
    metric: Metric

    @property
    def ahead(self) -> int | None:
        """The leader when it is strictly ahead of every other variant (None on a tie)."""
        best = self.by_variant[self.leader].rate(self.metric)
        others = [r.rate(self.metric) for i, r in enumerate(self.by_variant) if i != self.leader]
        return self.leader if all(best > rate for rate in others) else None


async def results(deps: Deps, campaign: Campaign) -> Results | None:
    """How each variant of the test share is doing (None for a campaign without a test)."""
    if campaign.ab_test is None:
        return None
    counted = await deps.storage.campaign_mail.variant_statuses(campaign.id)
    found = []
    for index in range(len(campaign.ab_test.variants)):
        statuses = counted.get(index, {})
        found.append(
            VariantResult(
                sent=sum(statuses.get(s, 0) for s in _HANDED_OVER),
                opened=statuses.get(EmailStatus.OPENED, 0) + statuses.get(EmailStatus.CLICKED, 0),
                clicked=statuses.get(EmailStatus.CLICKED, 0),
            )
        )
    chosen = campaign.ab_test.winner
    metric = campaign.ab_test.metric
    return Results(found, winner(found, metric) if chosen is None else chosen, metric)


async def decide_tests(deps: Deps) -> list[Campaign]:
    """The reconciler's round: each sending campaign whose automatic test has waited long enough,
    and whose test share is all out, gets its winner and its rest. Returns those decided."""
    decided = []
    now = deps.clock.now()
    for campaign in await deps.storage.campaigns.running():
        test = campaign.ab_test
        if campaign.status is not CampaignStatus.SENDING or test is None or test.winner is not None:
            continue
        if not test.automatic or now < test.decides_at(campaign.starts_at or campaign.launched_at or now):
            continue
        if (await deps.storage.campaign_mail.statuses(campaign.id)).get(EmailStatus.QUEUED):
            continue  # the test share is still going out: its results are not in yet
        found = await results(deps, campaign)
        assert found is not None
        try:
            decided.append(await _send_rest(deps, campaign, found.leader))
        except AutoRelayError as error:  # a quota passed or a domain unverified since the launch
            log.warning("campaign %s: the rest of its A/B test waits: %s", campaign.id, error.message)
    return decided


async def choose_winner(deps: Deps, caller: Caller, campaign_id: str, variant: object) -> Campaign:
    """A person picks the winner (any time after the launch, before one was picked)."""
    campaign = await get_campaign(deps, caller, campaign_id)
    test = campaign.ab_test
    if test is None:
        raise Invalid("the campaign has no A/B test", field="variant")
    letters = [name(i) for i in range(len(test.variants))]
    if variant not in letters:
        raise Invalid(f"variant must be one of {', '.join(letters)}", field="variant")
    if test.winner is not None:
        raise Conflict(f"the winner was already picked: variant {name(test.winner)}")
    if campaign.status is not CampaignStatus.SENDING:
        raise Conflict(f"the campaign is {campaign.status.value}: a winner is picked while it is sending")
    return await _send_rest(deps, campaign, letters.index(str(variant)))


async def _send_rest(deps: Deps, campaign: Campaign, chosen: int) -> Campaign:
    test = campaign.ab_test
    assert test is not None
    project_id = campaign.project_id
    caller = Caller.system(project_id, KeyMode.TEST if test.test_mode else KeyMode.LIVE)
    sender = Mailbox.parse(campaign.from_email, "the sender")
    charges = await sender_charges(deps, caller, sender)
    kept = await deps.storage.contacts.get_many(project_id, await deps.storage.campaigns.rest(campaign.id))
    people = [c for c in kept if c.status is ContactStatus.SUBSCRIBED]  # who left since the launch: not
    if campaign.topic_id is not None:
        topic = await deps.storage.topics.get(project_id, campaign.topic_id)
        people = await in_topic(deps, topic, people) if topic else people
    people = await as_read(deps, project_id, people)
    best = evolve(version(campaign, sender, chosen), variant=None)  # the rest counts apart from the test
    now = deps.clock.now()
    emails = await deps.offload.run(campaign_emails, deps, caller, campaign, sender, people, now, None, best)
    await deps.storage.emails.add_many(emails, [Event(EventType.QUEUED, now)], charges)
    total = sum((await deps.storage.campaign_mail.statuses(campaign.id)).values())
    decided = evolve(campaign, ab_test=evolve(test, winner=chosen, decided_at=now), total=total, updated_at=now)
    await deps.storage.campaigns.update(decided)
    await deps.storage.campaigns.drop_rest(campaign.id)
    deps.queue.wake()
    log.info("campaign %s: variant %s won; %d more queued", campaign.id, name(chosen), len(emails))
    return decided
