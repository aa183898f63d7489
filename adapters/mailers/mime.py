"""The RFC 5322 / MIME bytes of an Email.

Assembled here from the standard library's encoders (email.header for RFC 2047 headers,
binascii quoted-printable and base64, email.utils for addresses, dates and RFC 2231 file names)
because `EmailMessage` takes about 2 ms per message, which would make MIME the most expensive step
of a send by far; this takes a few dozen microseconds. The tests parse every shape back with the
`email` package. Lines end in CRLF; no line exceeds 998 octets.
"""

from __future__ import annotations

import base64
import binascii
import random
import re
from datetime import datetime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr, parseaddr
from functools import lru_cache

from adapters.mailers.relayed import relayed_message
from autorelay_core.domain.emails import Attachment, Email
from autorelay_core.domain.headers import has_line_break
from autorelay_core.errors import MailerError

CRLF = "\r\n"


def build_message(email: Email, sent_at: datetime) -> bytes:
    """multipart/alternative (text, html); with inline images (a content id), inside
    multipart/related beside them; with attached files, inside multipart/mixed.
    Bcc recipients are envelope-only and never appear in the headers. A message that cannot be
    serialised fails for good (retrying cannot fix it)."""
    try:
        if email.raw is not None:
            return relayed_message(email, sent_at)
        return _build(email, sent_at)
    except (ValueError, TypeError, UnicodeError) as error:
        raise MailerError(f"the message cannot be built: {error}", permanent=True) from error


def envelope_recipients(email: Email) -> list[str]:
    return [*email.to, *email.cc, *email.bcc]


def _build(email: Email, sent_at: datetime) -> bytes:
    lines = [
        _address_header("From", [email.sender]),
        _address_header("To", list(email.to)),
    ]
    if email.cc:
        lines.append(_address_header("Cc", list(email.cc)))
    if email.reply_to:
        lines.append(_address_header("Reply-To", list(email.reply_to)))
    lines += [
        _text_header("Subject", email.subject),
        f"Date: {_date(sent_at.replace(microsecond=0))}",
        f"Message-ID: {email.message_id}",
        *(_text_header(name, value) for name, value in email.headers.items()),
        "MIME-Version: 1.0",
    ]
    body = _alternative(email.text or "", email.html)
    inline = [a for a in email.attachments if a.content_id]
    attached = [a for a in email.attachments if not a.content_id]
    if inline:  # images the HTML shows by cid: beside the text, in one multipart/related (RFC 2387)
        body = _multipart("related", [body, *(_attachment(a) for a in inline)])
    if attached:
        body = _multipart("mixed", [body, *(_attachment(a) for a in attached)])
    return (CRLF.join(lines) + CRLF + body + CRLF).encode("ascii")


# The Date header to the second: a campaign sends thousands within one, and formatting took 5 us.
_date = lru_cache(maxsize=4)(format_datetime)


def _text_header(name: str, value: str) -> str:
    if has_line_break(value):  # deliver_claim checks first; this builder refuses on its own too
        raise ValueError(f"the {name} header contains a line break")
    line = f"{name}: {value}"
    if value.isascii() and len(line) <= 78:
        return line
    if value.isascii():
        folded = _fold(line)
        if folded is not None:
            return folded
    # RFC 2047 encoded words, folded by Header(): non-ASCII text, and words too long for any line.
    return f"{name}: " + Header(value, "utf-8", header_name=name).encode(linesep=CRLF)


def _fold(line: str) -> str | None:
    """An ASCII header folded before spaces into lines of at most 78 characters where the words
    allow (RFC 5322 2.2.3), what Header() does for ASCII at a fifth of its cost: campaign messages
    carry two long List-Unsubscribe URLs. None when a word is too long to fold (Header() decides)."""
    words = line.split(" ")
    if max(map(len, words)) > 990:
        return None
    lines, current = [], f"{words[0]} {words[1]}"  # the name and the value's first word stay together
    for word in words[2:]:
        if len(current) + 1 + len(word) > 78 and current.strip():
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    return CRLF.join(lines)


# A mailbox that parseaddr and formataddr would give back unchanged: "a@example.com" or
# "Ann Lee <a@example.com>" (ASCII atoms, no quoting or encoding needed). Most are; their parse was
# a quarter of a campaign message's build. A property test holds it to the slow path.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_MAILBOX = re.compile(rf"(?:((?:{_ATOM} )*{_ATOM}) <)?({_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*)(?(1)>)")


def address_field(mailbox: str) -> str:
    """One mailbox as a header carries it: RFC 2047 for a non-ASCII display name."""
    if _PLAIN_MAILBOX.fullmatch(mailbox):
        return mailbox
    return formataddr(parseaddr(mailbox), charset="utf-8")


def _address_header(name: str, mailboxes: list[str]) -> str:
    encoded = [address_field(mailbox) for mailbox in mailboxes]
    # One mailbox per line once the list is long: folding between addresses is always legal.
    separator = "," + CRLF + " " if len(mailboxes) > 1 and sum(map(len, encoded)) > 60 else ", "
    return f"{name}: " + separator.join(encoded)


def _part(content_type: str, data: bytes, *, encoding: str, extra: tuple[str, ...] = ()) -> str:
    if encoding == "base64":
        payload = base64.encodebytes(data).decode("ascii").rstrip("\n").replace("\n", CRLF)
    else:
        # b2a_qp ends soft breaks in LF when the text has no CRLF of its own; make every break CRLF.
        payload = binascii.b2a_qp(data, istext=True).decode("ascii").replace(CRLF, "\n").replace("\n", CRLF)
    return CRLF.join([f"Content-Type: {content_type}", f"Content-Transfer-Encoding: {encoding}", *extra, "", payload])


def _text_part(subtype: str, text: str) -> str:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)
    return _part(f'text/{subtype}; charset="utf-8"', normalised.encode("utf-8"), encoding="quoted-printable")


def _alternative(text: str, html: str) -> str:
    parts = [_text_part("plain", text)]
    if html:
        parts.append(_text_part("html", html))
    return _multipart("alternative", parts)


def _multipart(subtype: str, parts: list[str]) -> str:
    # "=_" cannot occur in quoted-printable or base64 output, so the boundary never collides.
    boundary = f"=_{random.getrandbits(128):032x}"  # unique, not secret: no need for the CSPRNG
    out = [f'Content-Type: multipart/{subtype}; boundary="{boundary}"', ""]
    for part in parts:
        # Not stripped: the CRLF before a delimiter belongs to the delimiter (RFC 2046 5.1.1), so a
        # text that ends in a line break keeps it only if its own CRLF is left in place.
        out += [f"--{boundary}", part]
    out.append(f"--{boundary}--")
    return CRLF.join(out)


def _attachment(attachment: Attachment) -> str:
    name = attachment.filename
    if name.isascii() and '"' not in name and "\\" not in name:
        param = f'filename="{name}"'
        type_param = f'; name="{name}"'
    else:
        param = f"filename*={encode_rfc2231(name, 'utf-8')}"
        type_param = ""
    if attachment.content_id:
        extra: tuple[str, ...] = (f"Content-Disposition: inline; {param}", f"Content-ID: <{attachment.content_id}>")
    else:
        extra = (f"Content-Disposition: attachment; {param}",)
    return _part(attachment.content_type + type_param, attachment.content, encoding="base64", extra=extra)
