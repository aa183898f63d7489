"""The suppression list: addresses a project must not mail again (a hard bounce, a complaint, or an
operator's say). Sends to them fail without reaching the mailer; deleting the entry lifts it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from attrs import frozen


class SuppressionReason(StrEnum):
    BOUNCE = "bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"  # added by a person: a recipient who asked, by phone or letter, not to be mailed


@frozen
class Suppression:
    project_id: str
    email: str  # as it was when suppressed; compared lower-cased
    reason: SuppressionReason
    created_at: datetime
    detail: str = ""

    @property
    def email_key(self) -> str:
        return self.email.lower()
