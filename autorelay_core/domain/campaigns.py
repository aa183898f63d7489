"""Campaigns: a broadcast of one HTML body to a list or a segment. Drafts may be edited and deleted; once
launched, content and list are locked and the campaign keeps its delivery records."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import define

from autorelay_core.domain.ab_tests import AbTest
from autorelay_core.errors import Conflict


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SENDING = "sending"
    PAUSED = "paused"  # the account is not active; resumes when it is
    COMPLETED = "completed"
    FAILED = "failed"  # nothing could be sent


@define
class Campaign:
    id: str
    project_id: str
    name: str
    subject: str
    from_email: str
    list_id: str
    content: str
    created_at: datetime
    updated_at: datetime
    status: CampaignStatus = CampaignStatus.DRAFT
    launched_at: datetime | None = None
    total: int = 0  # recipients snapshotted at launch
    sent: int = 0
    failed: int = 0
    # Contacts who unsubscribed through this campaign's link: counted by the store, never written back.
    unsubscribed: int = 0
    starts_at: datetime | None = None  # a scheduled launch: the first email is due then
    # Paused by a person (the dashboard), not by the account's status: only a person resumes it.
    paused_by_user: bool = False
    # Sent to a segment (domain/segments.py) instead of a list: list_id is then "". The segment is
    # resolved once, at launch, into the frozen set of recipients.
    segment_id: str | None = None
    # Mail of a topic (domain/topics.py): it goes only to those in the topic, and its one-click
    # unsubscribe leaves the topic rather than the list.
    topic_id: str | None = None
    # An A/B test of 2 to 4 variants (domain/ab_tests.py); None: one version for everyone.
    ab_test: AbTest | None = None

    def check_editable(self) -> None:
        if self.status is not CampaignStatus.DRAFT:
            raise Conflict("The campaign has been launched: its content and list are locked")

    def check_deletable(self) -> None:
        if self.status is not CampaignStatus.DRAFT:
            raise Conflict("Only draft campaigns can be deleted")
