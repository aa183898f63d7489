"""The bytes of a message the SMTP relay took in: the client's own MIME, byte for byte, without its
Bcc (recipients the envelope carries, never the headers), with the relay's Received trace on top,
its Message-ID as the client wrote it (or AutoRelay's, in front, when it had none, a malformed one,
or the operator asked for replacement) and a Date if it had none."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

from autorelay_core.domain.emails import Email


def relayed_message(email: Email, sent_at: datetime) -> bytes:
    assert email.raw is not None
    head, _, _ = _split(email.raw)
    kept = _message_id(head) == email.message_id  # the client's own, kept where it was
    head, separator, body = _split(without_headers(email.raw, {b"bcc"} if kept else {b"bcc", b"message-id"}))
    # Trace fields go on top (RFC 5321 4.4); the ones we add after them.
    added = [f"Received: {email.headers['Received']}".encode()] if "Received" in email.headers else []
    if not kept:
        added.append(f"Message-ID: {email.message_id}".encode())
    if not has_header(head, b"date"):
        added.append(f"Date: {format_datetime(sent_at)}".encode())
    return b"".join(line + b"\r\n" for line in added) + head + separator + body


def _message_id(head: bytes) -> str | None:
    for line in head.splitlines():
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"message-id":
            return value.decode("ascii", "replace").strip()
    return None


def _split(raw: bytes) -> tuple[bytes, bytes, bytes]:
    """Header block, the blank line after it, body: at the first blank line, CRLF or bare LF."""
    found = [(raw.find(separator), separator) for separator in (b"\r\n\r\n", b"\n\n")]
    found = [(at, separator) for at, separator in found if at >= 0]
    if not found:
        return raw.rstrip(b"\r\n"), b"\r\n\r\n", b""
    at, separator = min(found)
    return raw[:at], separator, raw[at + len(separator) :]


def has_header(head: bytes, name: bytes) -> bool:
    return any(line.split(b":", 1)[0].strip().lower() == name for line in head.splitlines() if line[:1] not in b" \t")


def without_headers(raw: bytes, names: set[bytes]) -> bytes:
    """The message without the named header fields (folded continuation lines included)."""
    head, separator, body = _split(raw)
    kept: list[bytes] = []
    dropping = False
    for line in head.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = line.split(b":", 1)[0].strip().lower() in names
        if not dropping:
            kept.append(line)
    return b"".join(kept).rstrip(b"\r\n") + separator + body
