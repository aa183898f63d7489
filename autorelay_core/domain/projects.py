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
