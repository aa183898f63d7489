"""The hand-over point every mailer calls before the point of no return (see ports.Handover)."""

from __future__ import annotations

from autorelay_core.errors import MailerError
from autorelay_core.ports import Handover


async def handed_over(handover: Handover | None) -> None:
    """Record the hand-over; a lost lease stops the message before it leaves (another worker owns it)."""
    if handover is not None and not await handover():
        raise MailerError("the email's lease ran out before it was handed over; another worker has it", permanent=False)
