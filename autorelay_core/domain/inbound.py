"""Inbound mail: the domains a project receives mail for, and the messages that arrived.

A receiving domain belongs to one project (two projects cannot both take mail for a name), and the
inbound listener accepts mail for nothing else but the bounce domain: it is never an open relay.
A message is read by an adapter (strangers write it: within a budget, off the API's threads) into
`ReadMail`; the core stores it once per project whose domain it was sent to, with the webhook
deliveries it makes, in one write."""

from __future__ import annotations

from datetime import datetime

from attrs import define, field, frozen

from autorelay_core.domain.dmarc import DmarcReport
from autorelay_core.domain.domains import DnsRecord

# What one stored message keeps of its bodies (the raw message keeps everything).
MAX_KEPT_BODY = 1024 * 1024
RAW_TYPE = "message/rfc822"


@frozen
class ReceivingDomain:
    id: str
    project_id: str
    name: str  # lower case, no trailing dot
    created_at: datetime

    def mx_records(self, host: str) -> list[DnsRecord]:
        """What the domain's owner publishes so that mail for it comes to the inbound listener."""
        return [DnsRecord("MX", self.name, f"10 {host}.")]


@frozen
class Attachment:
    """A part that is a file: its bytes are in the blob store under `key` (never public)."""

    id: str
    filename: str
    content_type: str
    size: int
    disposition: str  # attachment or inline
    content_id: str = ""
    key: str = ""


@frozen
class ReadMail:
    """A message as the inbound reader found it (headers decoded, bodies as text)."""

    from_: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    date: str
    text: str
    html: str
    reply_text: str  # the text without the quoted history of a reply
    headers: tuple[tuple[str, str], ...]
    # The files, with their bytes, in the order of the message: (metadata without key, data).
    files: tuple[tuple[Attachment, bytes], ...] = ()
    # SPF, DKIM and DMARC results ("spf", "dkim", "dmarc", "dkim_domain", "from_domain", "header").
    authentication: tuple[tuple[str, str], ...] = ()
    # The DMARC aggregate reports attached (read only for mail to a rua address).
    reports: tuple[DmarcReport, ...] = ()


@define
class InboundMessage:
    id: str
    project_id: str
    received_at: datetime
    envelope_from: str
    recipients: tuple[str, ...]  # the envelope's, at this project's domains
    from_: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    subject: str
    message_id: str
    in_reply_to: str
    references: tuple[str, ...]
    text: str
    html: str
    reply_text: str
    headers: tuple[tuple[str, str], ...]
    size: int
    raw_key: str
    client_address: str = ""
    helo: str = ""
    attachments: tuple[Attachment, ...] = field(factory=tuple)
    authentication: dict[str, str] = field(factory=dict)
    # The email of ours it answers (its In-Reply-To or References named our Message-ID), and that
    # email's campaign or journey: ids, "" for none.
    reply_to_email: str = ""
    reply_to_campaign: str = ""
    reply_to_journey: str = ""
    # The routes its recipients took (ids), and what forward routes sent: (to, email id, problem).
    routes: tuple[str, ...] = ()
    forwards: tuple[tuple[str, str, str], ...] = ()

    def summary(self) -> dict[str, object]:
        """The fields every view of a received message starts from (webhook event, API)."""
        return {
            "from": self.from_,
            "to": list(self.to),
            "cc": list(self.cc),
            "reply_to": list(self.reply_to),
            "subject": self.subject,
            "message_id": self.message_id,
            "recipients": list(self.recipients),
        }


def kept(body: str) -> str:
    """A body as stored beside the raw message: at most MAX_KEPT_BODY characters."""
    return body if len(body) <= MAX_KEPT_BODY else body[:MAX_KEPT_BODY]


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower().removesuffix(".")
