"""Reading a received message (strangers write it) into the core's `ReadMail`: the standard
library's parser (`email.policy.default`: RFC 2047 words, RFC 2231 file names), within limits on
parts and nesting checked before and while reading, and the reply text without its quoted history
by mail-parser-reply. Runs in a process of its own (receiver.py), which a time budget can end."""

from __future__ import annotations

import email.policy
import re
from email.message import EmailMessage
from email.parser import BytesParser

from attrs import frozen
from mailparser_reply import EmailReplyParser  # type: ignore[import-untyped]

from adapters.inbound_mail.dmarc import read_reports
from adapters.inbound_mail.unreadable import Unreadable
from adapters.inbound_mail.verify import authenticate
from autorelay_core.domain.inbound import Attachment, ReadMail

MAX_PARTS = 500
MAX_DEPTH = 20
MAX_HEADERS = 500
# The reply parser reads at most this much of the text (its regular expressions scan it all).
REPLY_SCAN = 200_000
_BOUNDARY_LINE = re.compile(rb"^--", re.M)
_MESSAGE_ID = re.compile(r"<[^<>\s]{1,998}>")


def quick_check(raw: bytes) -> None:
    """What can be told without parsing: a message with far more boundary lines than parts allowed
    (a 100,000-part message) is refused before the parser builds any of them."""
    if len(_BOUNDARY_LINE.findall(raw, 0, len(raw))) > 2 * MAX_PARTS + 2:
        raise Unreadable(f"more than {MAX_PARTS} MIME parts")


@frozen
class Envelope:
    """What the listener knows beside the message: who connected, as whom, and who checks."""

    client_address: str = ""
    mail_from: str = ""
    helo: str = ""
    authserv_id: str = "autorelay"
    reports: bool = False  # sent to a rua address: its DMARC aggregate reports are read too


def read_mail(raw: bytes, envelope: Envelope | None = None) -> ReadMail:
    """The message read; with `envelope`, its SPF, DKIM and DMARC results too (DNS lookups)."""
    quick_check(raw)
    try:
        message = BytesParser(policy=email.policy.default).parsebytes(raw)
    except RecursionError as error:
        raise Unreadable(f"MIME parts nested deeper than {MAX_DEPTH}") from error
    assert isinstance(message, EmailMessage)
    parts = _walk(message)
    text, html = "", ""
    files: list[tuple[Attachment, bytes]] = []
    for part, forwarded in parts:
        if forwarded or (part.is_multipart() and part.get_content_type() != "message/rfc822"):
            continue  # a container, or a part of a forwarded message (which is one file)
        disposition = part.get_content_disposition()
        kind = part.get_content_type()
        if disposition is None and kind in ("text/plain", "text/html"):
            body = _text(part)
            if kind == "text/plain" and not text:
                text = body
            elif kind == "text/html" and not html:
                html = body
            continue
        if kind.startswith("multipart/"):
            continue
        files.append(_file(part, len(files) + 1))
    headers = tuple((k, _clean(str(v))) for k, v in list(message.items())[:MAX_HEADERS])
    return ReadMail(
        from_=_header(message, "From"),
        to=_addresses(message, "To"),
        cc=_addresses(message, "Cc"),
        reply_to=_addresses(message, "Reply-To"),
        subject=_header(message, "Subject"),
        message_id=_first_id(_header(message, "Message-ID")),
        in_reply_to=_first_id(_header(message, "In-Reply-To")),
        references=tuple(_MESSAGE_ID.findall(_header(message, "References")))[:100],
        date=_header(message, "Date"),
        text=text,
        html=html,
        reply_text=reply_of(text),
        headers=headers,
        files=tuple(files),
        authentication=tuple(_checked(raw, envelope).items()) if envelope is not None else (),
        reports=read_reports(files) if envelope is not None and envelope.reports else (),
    )


def _checked(raw: bytes, envelope: Envelope) -> dict[str, str]:
    e = envelope
    return authenticate(raw, e.client_address, e.mail_from, e.helo, e.authserv_id)


def reply_of(text: str) -> str:
    """The text a person wrote in a reply, without the quoted message under it."""
    if not text.strip():
        return ""
    try:
        return _clean(
            EmailReplyParser(languages=["en", "de", "fr", "es", "it", "nl"]).parse_reply(text=text[:REPLY_SCAN])
        )
    except Exception:  # a parser bug on strange text: the whole text is the best answer
        return text


def _walk(message: EmailMessage) -> list[tuple[EmailMessage, bool]]:
    """Every part, depth first, within MAX_PARTS and MAX_DEPTH, and whether it is inside a
    forwarded message (message/rfc822: the parts inside count against the limits too)."""
    found: list[tuple[EmailMessage, bool]] = []
    stack: list[tuple[EmailMessage, int, bool]] = [(message, 0, False)]
    while stack:
        part, depth, forwarded = stack.pop()
        if depth > MAX_DEPTH:
            raise Unreadable(f"MIME parts nested deeper than {MAX_DEPTH}")
        found.append((part, forwarded))
        if len(found) > MAX_PARTS:
            raise Unreadable(f"more than {MAX_PARTS} MIME parts")
        if part.is_multipart():
            children = part.get_payload()
            assert isinstance(children, list)
            inside = forwarded or part.get_content_type() == "message/rfc822"
            stack.extend((child, depth + 1, inside) for child in reversed(children) if isinstance(child, EmailMessage))
    return found


def _text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown charset: read as UTF-8, replaced
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
    # Lines end in CRLF on the wire; a body is given with LF, as a program reads text.
    return _clean(content.replace("\r\n", "\n") if isinstance(content, str) else "")


def _file(part: EmailMessage, number: int) -> tuple[Attachment, bytes]:
    payload = part.get_payload(decode=True)
    data = payload if isinstance(payload, bytes) else b""
    if part.get_content_type() == "message/rfc822":  # a forwarded message: its own bytes
        inner = part.get_payload()
        data = inner[0].as_bytes() if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage) else data
    filename = _clean(part.get_filename() or "")[:255]
    attachment = Attachment(
        id=f"att_{number}",
        filename=filename,
        content_type=part.get_content_type()[:255],
        size=len(data),
        disposition="inline" if part.get_content_disposition() == "inline" else "attachment",
        content_id=_clean(str(part.get("Content-ID", "") or "")).strip("<> ")[:255],
    )
    return attachment, data


def _header(message: EmailMessage, name: str) -> str:
    try:
        value = message.get(name)
    except (IndexError, ValueError, TypeError):  # a malformed header the policy cannot model
        value = message.get_all(name, failobj=[""])[0] if message.get_all(name) else ""
    return _clean(str(value or ""))[:2000]


def _addresses(message: EmailMessage, name: str) -> tuple[str, ...]:
    try:
        header = message.get(name)
        addresses = getattr(header, "addresses", None)
    except (IndexError, ValueError, TypeError):
        addresses = None
    if addresses is None:
        value = _header(message, name)
        return (value,) if value else ()
    return tuple(_clean(str(a)) for a in addresses)[:100]


def _first_id(value: str) -> str:
    found = _MESSAGE_ID.search(value)
    return found.group(0) if found else ""


def _clean(text: str) -> str:
    """No NUL characters (PostgreSQL's text refuses them) and no lone surrogates."""
    return text.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
