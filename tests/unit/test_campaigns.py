"""Campaign drafts over the memory adapters: required fields, checks, the draft lock, stats."""

from __future__ import annotations

import pytest

from autorelay_core.domain.campaigns import CampaignStatus
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases.manage_contacts import create_list
from autorelay_core.usecases.read_stats import read_stats
from tests.unit.test_send_email import live_key


async def draft(deps, key, **fields):
    target = await create_list(deps, key.project_id, "Subscribers")
    values = {"name": "Spring", "subject": "Hi {{ name }}", "from_email": "news@unverified.test"}
    values |= {"list_id": target.id, "content": "<p>Hello {{ name }}</p><a href='{{ unsubscribe_url }}'>x</a>"}
    return await uc.create_campaign(deps, key.project_id, uc.CampaignInput(**(values | fields)))


async def test_a_draft_is_checked_and_may_name_an_unverified_domain(deps):
    key = await live_key(deps)
    campaign = await draft(deps, key)
    assert campaign.status is CampaignStatus.DRAFT and campaign.id.startswith("cmp_")
    with pytest.raises(Invalid, match="fromEmail is required"):
        await uc.create_campaign(deps, key.project_id, uc.CampaignInput("n", "s", None, campaign.list_id, "<p>c</p>"))
    with pytest.raises(Invalid, match="fromEmail"):
        await draft(deps, key, from_email="not-an-address")
    with pytest.raises(Invalid, match="content"):
        await draft(deps, key, content="<p>{{ broken </p>")
    with pytest.raises(NotFound):
        await draft(deps, key, list_id="lst_missing")


async def test_a_launched_campaign_is_locked_and_only_drafts_can_be_deleted(deps):
    key = await live_key(deps)
    campaign = await draft(deps, key)
    edited = await uc.update_campaign(deps, key.project_id, campaign.id, uc.CampaignInput(subject="New"))
    assert edited.subject == "New" and edited.content == campaign.content
    edited.status = CampaignStatus.SENDING  # what launching does
    await deps.storage.campaigns.update(edited)
    with pytest.raises(Conflict, match="locked"):
        await uc.update_campaign(deps, key.project_id, campaign.id, uc.CampaignInput(subject="Again"))
    with pytest.raises(Conflict, match=r"^Only draft campaigns can be deleted$"):
        await uc.delete_campaign(deps, key.project_id, campaign.id)
    other = await draft(deps, key)
    await uc.delete_campaign(deps, key.project_id, other.id)
    with pytest.raises(NotFound):
        await uc.get_campaign(deps, key.project_id, other.id)
    page = await uc.list_campaigns(deps, key.project_id, "sending", OffsetRequest(1, 20))
    assert [c.id for c in page.items] == [campaign.id]
    with pytest.raises(Invalid, match="status must be one of"):
        await uc.list_campaigns(deps, key.project_id, "done", OffsetRequest(1, 20))
    stats = await read_stats(deps, key.project_id)
    assert (stats.campaigns.total, stats.campaigns.sending, stats.campaigns.completed) == (1, 1, 0)


async def test_launch_sends_each_subscribed_contact_one_rendered_message_at_the_pace(deps, mailer, clock):
    from datetime import timedelta

    from attrs import evolve

    from autorelay_core.domain.contacts import ContactStatus
    from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, get_contact

    deps = evolve(deps, config=evolve(deps.config, campaign_rate=2.0))
    key = await live_key(deps)
    campaign = await draft(deps, key, from_email="news@acme.test")
    people = {}
    for name in ("Ann", "Bob", "Cy", "Dee"):
        people[name] = await create_contact(
            deps, key, ContactInput(f"{name.lower()}@example.com", campaign.list_id, name)
        )
    for name, status in (("Cy", ContactStatus.UNSUBSCRIBED), ("Dee", ContactStatus.BOUNCED)):
        contact = await get_contact(deps, key.project_id, people[name].id)
        contact.status = status
        await deps.storage.contacts.update(contact)

    launched = await uc.launch_campaign(deps, key, campaign.id)
    assert launched.status is CampaignStatus.SENDING and launched.total == 2
    with pytest.raises(Conflict, match="already launched"):
        await uc.launch_campaign(deps, key, campaign.id)
    await deps.queue.drain()
    assert [m.to for m in mailer.sent] == [("ann@example.com",)], "the second is due half a second later"
    clock.advance(seconds=1)
    from autorelay_core.usecases.deliver_email import drain

    await drain(deps)
    assert sorted(m.subject for m in mailer.sent) == ["Hi Ann", "Hi Bob"]
    assert "Hello Bob" in next(m for m in mailer.sent if m.subject == "Hi Bob").html
    live = await uc.progress(deps, await uc.get_campaign(deps, key.project_id, campaign.id))
    assert live.campaign.status is CampaignStatus.COMPLETED and (live.campaign.sent, live.campaign.failed) == (2, 0)
    assert (await uc.get_campaign(deps, key.project_id, campaign.id)).status is CampaignStatus.COMPLETED
    assert timedelta(seconds=0.5) in {m.scheduled_at - launched.launched_at for m in mailer.sent if m.scheduled_at}


async def test_a_live_campaign_needs_a_verified_sender_domain_at_launch(deps):
    key = await live_key(deps)
    campaign = await draft(deps, key)  # news@unverified.test
    with pytest.raises(Invalid, match=r"unverified\.test"):
        await uc.launch_campaign(deps, key, campaign.id)
    assert (await uc.get_campaign(deps, key.project_id, campaign.id)).status is CampaignStatus.DRAFT
