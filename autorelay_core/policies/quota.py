"""Quotas: what a live send is charged against, checked and counted atomically with the send.

Every live email counts once against the project's monthly quota (whatever its number of
recipients); one from the shared sandbox sender also counts against the sandbox's daily cap. Test
keys are charged nothing. A charge that would pass its limit fails the send with 402 and stores
nothing.
"""

from __future__ import annotations

from datetime import datetime

from attrs import frozen


@frozen
class Charge:
    counter: str  # "emails" or "sandbox"
    period: str  # "2026-11" (month) or "2026-11-26" (day)
    limit: int

    @property
    def label(self) -> str:
        return "monthly email quota" if self.counter == "emails" else "sandbox sender's daily cap"


def month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def charges(*, at: datetime, monthly_quota: int, sandbox: bool, sandbox_cap: int) -> tuple[Charge, ...]:
    monthly = Charge("emails", month(at), monthly_quota)
    return (monthly, Charge("sandbox", day(at), sandbox_cap)) if sandbox else (monthly,)


def exceeded_message(charge: Charge, amount: int = 1) -> str:
    """Why a charge of `amount` emails (one send, or a campaign's recipients at launch) failed."""
    wanted = "" if amount == 1 else f" {amount} more emails would pass it;"
    if charge.counter == "sandbox":
        return (
            f"The shared sandbox sender is capped at {charge.limit} emails a day per project;{wanted} "
            "verify your own domain to send more"
        )
    return f"Monthly quota of {charge.limit} emails reached;{wanted} nothing was sent. Upgrade your plan to send more"
