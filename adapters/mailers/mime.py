"""Build the RFC 5322 message for an Email with the standard library's `email` package."""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from autorelay_core.domain.emails import Email
from autorelay_core.errors import MailerError


def build_message(email: Email, sent_at: datetime) -> EmailMessage:
    """multipart/alternative (text, html), wrapped in multipart/mixed when there are attachments.
    Bcc recipients are envelope-only and never appear in the headers. An email the standard
    library refuses to serialise fails for good (retrying cannot fix it)."""
    try:
        return _build(email, sent_at)
    except (ValueError, TypeError) as error:
        raise MailerError(f"the message cannot be built: {error}", permanent=True) from error


def _build(email: Email, sent_at: datetime) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    message["From"] = email.sender
    message["To"] = ", ".join(email.to)
    if email.cc:
        message["Cc"] = ", ".join(email.cc)
    if email.reply_to:
        message["Reply-To"] = ", ".join(email.reply_to)
    message["Subject"] = email.subject
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = email.message_id
    for name, value in email.headers.items():
        message[name] = value
    message.set_content(email.text or "", subtype="plain")
    if email.html:
        message.add_alternative(email.html, subtype="html")
    for attachment in email.attachments:
        maintype, _, subtype = attachment.content_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype or "octet-stream", filename=attachment.filename
        )
    return message


def envelope_recipients(email: Email) -> list[str]:
    return [*email.to, *email.cc, *email.bcc]
