"""Sending domains. Live keys may send only from a verified domain of their project (or the
shared sandbox sender); DNS records and verification arrive with the mailers issue."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import define


class DomainStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"


@define
class Domain:
    id: str
    project_id: str
    name: str  # lower case
    created_at: datetime
    status: DomainStatus = DomainStatus.PENDING
    verified_at: datetime | None = None
