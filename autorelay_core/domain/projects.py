"""Projects: the tenant boundary. Every object belongs to exactly one project."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import define


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FLAGGED = "flagged"
    SUSPENDED = "suspended"
    DEACTIVATED = "deactivated"


@define
class Project:
    id: str
    name: str
    created_at: datetime
    status: AccountStatus = AccountStatus.ACTIVE
    status_reason: str = ""
    # Engagement tracking (an open pixel, links through our redirect); each can be turned off.
    track_opens: bool = True
    track_clicks: bool = True
    # What happens to an email whose worker stopped in the middle of handing it over (status
    # `uncertain`): sent again with the same Message-ID (a duplicate beats a lost password reset),
    # or held for the operator (a campaign would rather not send anyone a second copy).
    resend_uncertain_transactional: bool = True
    resend_uncertain_campaigns: bool = False
    # The operator let this project's webhooks reach plain http:// and private or loopback
    # addresses (a receiver on a developer's machine); AUTORELAY_WEBHOOKS_ALLOW_PRIVATE does it
    # for every project. Never a tenant's choice: it would aim the server at its own network.
    webhooks_local: bool = False

    def resends_uncertain(self, campaign: bool) -> bool:
        return self.resend_uncertain_campaigns if campaign else self.resend_uncertain_transactional
