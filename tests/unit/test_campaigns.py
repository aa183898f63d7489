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
