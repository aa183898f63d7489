"""The account state machine and the bounce/complaint rules that drive it.

active -> flagged happens automatically, when over the last 24 h of live sends the bounce rate is
at least 2 % or the complaint rate at least 0.05 %, and at least `min_volume` live sends happened
(a handful of test sends must not lock an account). Everything else is an operator's decision:
suspending, deactivating, reinstating. Deactivated is terminal. Nothing automatic ever returns an
account to active.
"""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

from attrs import frozen

from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.errors import AccountLocked, Conflict

WINDOW = timedelta(hours=24)
BOUNCE_LIMIT = Fraction(2, 100)
COMPLAINT_LIMIT = Fraction(5, 10_000)
DEFAULT_MIN_VOLUME = 100


@frozen
class Activity:
    """Live sends, bounces and complaints in the window."""

    sends: int
    bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> Fraction:
        return Fraction(self.bounces, self.sends) if self.sends else Fraction(0)

    @property
    def complaint_rate(self) -> Fraction:
        return Fraction(self.complaints, self.sends) if self.sends else Fraction(0)


def breach(activity: Activity, min_volume: int = DEFAULT_MIN_VOLUME) -> str | None:
    """Why the activity breaks the rules, or None. Exact fractions: 2.00 % blocks, 1.99 % does not."""
    if activity.sends < min_volume:
        return None
    if activity.bounce_rate >= BOUNCE_LIMIT:
        return f"bounce rate {float(activity.bounce_rate):.2%} in the last 24 h (limit 2%)"
    if activity.complaint_rate >= COMPLAINT_LIMIT:
        return f"complaint rate {float(activity.complaint_rate):.3%} in the last 24 h (limit 0.05%)"
    return None


def auto_flag(project: Project, activity: Activity, min_volume: int = DEFAULT_MIN_VOLUME) -> bool:
    """The only automatic transition: active -> flagged. Returns whether it happened."""
    reason = breach(activity, min_volume)
    if project.status is not AccountStatus.ACTIVE or reason is None:
        return False
    project.status, project.status_reason = AccountStatus.FLAGGED, reason
    return True


# Operator actions: which states each may start from.
_OPERATOR: dict[AccountStatus, frozenset[AccountStatus]] = {
    AccountStatus.ACTIVE: frozenset({AccountStatus.FLAGGED, AccountStatus.SUSPENDED}),  # reinstate
    AccountStatus.FLAGGED: frozenset({AccountStatus.ACTIVE}),
    AccountStatus.SUSPENDED: frozenset({AccountStatus.ACTIVE, AccountStatus.FLAGGED}),
    AccountStatus.DEACTIVATED: frozenset({AccountStatus.ACTIVE, AccountStatus.FLAGGED, AccountStatus.SUSPENDED}),
}


def operator_set(project: Project, target: AccountStatus, reason: str) -> None:
    """An operator moves the account (reinstate = target active). Deactivated is final."""
    if project.status is target:
        return
    if project.status not in _OPERATOR[target]:
        raise Conflict(f"a {project.status.value} account cannot become {target.value}")
    project.status = target
    project.status_reason = "" if target is AccountStatus.ACTIVE else reason


_MESSAGES = {
    AccountStatus.FLAGGED: "Account is flagged for review ({reason}). Outbound sending is paused. Contact {contact}.",
    AccountStatus.SUSPENDED: "Account is suspended ({reason}). A compliance review is required. Contact {contact}.",
    AccountStatus.DEACTIVATED: "Account is deactivated ({reason}). This is permanent.",
}
# The reference's operator address; an install names its own (AUTORELAY_SUPPORT_CONTACT).
DEFAULT_CONTACT = "support@autorelay.net"


def check_access(project: Project, *, mutating: bool, contact: str = DEFAULT_CONTACT) -> None:
    """AccountLocked for a mutating request while not active, and for any request once deactivated.
    `contact`: whom the message tells the customer to write to."""
    status = project.status
    if status is AccountStatus.ACTIVE or (not mutating and status is not AccountStatus.DEACTIVATED):
        return
    reason = project.status_reason or "no reason recorded"
    raise AccountLocked(_MESSAGES[status].format(reason=reason, contact=contact), account_status=status.value)
