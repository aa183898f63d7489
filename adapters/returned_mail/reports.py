"""Bounces and complaints that come back as mail, read with the standard library's `email` package:
delivery status notifications (RFC 3464: multipart/report; report-type=delivery-status) and abuse
feedback reports (ARF, RFC 5965: report-type=feedback-report); other MTAs' free-form bounces with
flufl.bounce. Auto-replies (out of office, vacation) and unrelated mail are not reports.

Strangers write this mail, so reading it has a budget (`Budget`): only the message's first MiB is
parsed, a message with more MIME parts or nesting than any report has is refused before parsing,
and free-form detection sees a short, squeezed excerpt. Real mail is read as it comes: encoded and
raw 8-bit headers, a delivery-status part sent as text/plain, report blocks with no blank line
between them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from attrs import frozen
from flufl.bounce import all_failures

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_AUTO_SUBJECT = re.compile(r"\b(out of (the )?office|auto(matic)?[ -]?reply|vacation|abwesenheit|absence)\b", re.I)
# The names a report block gives its recipient, the likeliest to be the address we sent to first:
# what the sender asked for, what the MTA finally tried (a local alias, say), what it expanded to.
_NAMES = ("original-recipient", "final-recipient", "x-actual-recipient")
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")


@frozen
class Budget:
    """What reading one message may cost: bytes parsed, MIME parts and nesting (a report has two
    or three parts, rarely nested), the excerpt free-form detection reads, recipients reported."""

    read_bytes: int = 1024 * 1024
    parts: int = 100
    nesting: int = 8
    free_form_bytes: int = 64 * 1024
    recipients: int = 1000


BUDGET = Budget()


class NotReadable(Exception):
    """The message is not read: over the budget. Its text says why, for one log line."""


@frozen
class Report:
    kind: str  # HARD, SOFT or COMPLAINT
    # Each reported recipient as the names the report gives them, the likeliest first.
    recipients: tuple[tuple[str, ...], ...]
    detail: str
    # The return path the report names itself (ARF's Original-Mail-From), for reports sent to a
    # feedback address instead of the message's return path.
    return_path: str | None = None


def read_reports(raw: bytes, budget: Budget = BUDGET) -> list[Report]:
    """What the message reports; [] for an auto-reply or anything that is not a report.
    NotReadable when the message is over the budget."""
    head = raw[: budget.read_bytes]
    parts = len(re.findall(rb"(?m)^--", head))
    if parts > budget.parts:
        raise NotReadable(f"{parts} MIME boundaries or more (a report has a few)")
    nesting = len(re.findall(rb"(?i)multipart/", head))
    if nesting > budget.nesting:
        raise NotReadable(f"{nesting} multipart sections (a report has one or two)")
    message = BytesParser(policy=policy.compat32).parsebytes(head)
    if message.get_content_type() == "multipart/report":
        kind = _text(message.get_param("report-type")).lower()
        if kind == "delivery-status":
            return _delivery_status(message, budget)
        if kind == "feedback-report":
            return _feedback(message, budget)
    # Bounces say Auto-Submitted too: look for failures first; an auto-reply has none to report.
    found = _free_form(head, budget)
    return [] if not found and _auto_reply(message) else found


def _text(value: object) -> str:
    """A header or parameter as text, whatever the parser made of it (a str, an encoded Header for
    raw 8-bit bytes, a (charset, language, value) tuple, None)."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        value = value[-1]
    return " ".join(str(value).split())


def _auto_reply(message: Message) -> bool:
    auto = _text(message.get("Auto-Submitted")).lower()
    precedence = _text(message.get("Precedence")).lower()
    return (
        auto.startswith("auto-")
        or precedence in ("auto_reply", "bulk", "junk", "list")
        or any(message.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"))
        or bool(_AUTO_SUBJECT.search(_text(message.get("Subject"))))
    )


def _address(field: str | None) -> str | None:
    """`rfc822; user@example.com` -> the address."""
    if not field:
        return None
    value = field.split(";", 1)[-1].strip().strip("<>").strip()
    return value if "@" in value and len(value) <= 320 and " " not in value else None


def _fields(lines: Iterable[str]) -> Iterator[tuple[str, str] | None]:
    """`Name: value` fields with folded lines joined; None for a blank line (a block's end)."""
    name, value = None, ""
    for line in lines:
        if line[:1] in (" ", "\t") and name is not None:
            value += " " + line.strip()
            continue
        if name is not None:
            yield name, value
            name = None
        if not line.strip():
            yield None
        elif ":" in line:
            name, value = (piece.strip() for piece in line.split(":", 1))
    if name is not None:
        yield name, value


def _blocks(text: str, limit: int) -> list[dict[str, str]]:
    """The per-recipient blocks of a delivery-status text (the per-message block is skipped). A
    blank line ends a block, as RFC 3464 writes them; so does a second recipient field or a
    recipient field after the block's Action or Status, for MTAs that leave the blank line out."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] | None = None
    for field in _fields(text.splitlines()):
        if field is None:
            current = None
            continue
        key, value = field[0].lower(), field[1]
        if key in _NAMES and (current is None or key in current or "action" in current or "status" in current):
            if len(blocks) >= limit:
                break
            current = {}
            blocks.append(current)
        if current is not None:
            current.setdefault(key, value)
    return blocks


def _status_text(part: Message) -> str:
    payload = part.get_payload()
    if isinstance(payload, list):  # parsed as a run of header blocks
        return "\n\n".join(
            "\n".join(f"{k}: {_text(v)}" for k, v in block.items()) for block in payload if isinstance(block, Message)
        )
    decoded = part.get_payload(decode=True)
    return decoded.decode("utf-8", "replace") if isinstance(decoded, bytes) else str(payload)


def _status_parts(message: Message) -> list[str]:
    """The delivery-status parts' text; where an MTA labels it text/plain, the text part that reads
    like one."""
    found = [_status_text(part) for part in message.walk() if part.get_content_type() in _STATUS_TYPES]
    if found:
        return found
    plain = [_status_text(p) for p in message.walk() if p.get_content_type() == "text/plain"]
    return [text for text in plain if re.search(r"(?im)^(final|original)-recipient\s*:", text)]


def _delivery_status(message: Message, budget: Budget) -> list[Report]:
    """At most one hard and one soft report: each with every recipient of its kind (so the rule
    that a report affects only its own email's recipients sees them all), the first one's detail."""
    found: dict[str, tuple[list[tuple[str, ...]], str]] = {}
    seen = 0
    for text in _status_parts(message):
        for block in _blocks(text, budget.recipients - seen):
            names = tuple(dict.fromkeys(a for a in (_address(block.get(k)) for k in _NAMES) if a))
            action = block.get("action", "").strip().lower()
            status = _STATUS.search(block.get("status", ""))
            if not names or action in ("delivered", "relayed", "expanded"):
                continue
            code = status.group(0) if status else ""
            diagnostic = block.get("diagnostic-code", "").split(";", 1)[-1]  # "smtp; 550 ..." -> "550 ..."
            detail = " ".join(diagnostic.split())[:500] or code or action
            detail = f"{code} {detail}".strip() if code not in detail else detail
            kind = HARD if code.startswith("5") or (not code and action == "failed") else None
            kind = kind or (SOFT if code.startswith("4") or action == "delayed" else None)
            if kind is not None:
                found.setdefault(kind, ([], detail))[0].append(names)
                seen += 1
    return [Report(kind, tuple(names), detail) for kind, (names, detail) in found.items()]


def _feedback(message: Message, budget: Budget) -> list[Report]:
    fields: dict[str, list[str]] | None = None
    original: Message | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/feedback-report":
            fields = {}
            for field in _fields(_status_text(part).splitlines()):
                if field is not None:
                    fields.setdefault(field[0].lower(), []).append(field[1])
        elif kind == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
        elif kind == "text/rfc822-headers":
            raw_headers = part.get_payload(decode=True)
            text = raw_headers.decode("utf-8", "replace") if isinstance(raw_headers, bytes) else ""
            original = BytesParser(policy=policy.compat32).parsebytes(text.encode("utf-8", "replace"), headersonly=True)
    if fields is None:
        return []
    feedback = (fields.get("feedback-type", ["abuse"])[0]).strip().lower()
    if feedback not in ("abuse", "fraud", "other", "virus"):
        return []
    recipients = [a for a in (_address(v) for v in fields.get("original-rcpt-to", [])) if a]
    if not recipients and original is not None:
        values = [_text(v) for v in original.get_all("To") or []]
        recipients = [address for _, address in getaddresses(values) if "@" in address]
    agent = (fields.get("user-agent") or fields.get("reporting-mta") or ["a mailbox provider"])[0]
    detail = f"{feedback} report from {' '.join(agent.split())[:200]}"
    named = _address((fields.get("original-mail-from") or [""])[0])
    found = tuple((r,) for r in dict.fromkeys(recipients[: budget.recipients]))
    return [Report(COMPLAINT, found, detail, named)] if found else []


def _free_form(head: bytes, budget: Budget) -> list[Report]:
    # flufl.bounce's detectors read every line of the text; bounces say what failed near the top.
    # Runs of blank lines are squeezed first: they cost the detectors the most and mean nothing.
    excerpt = re.sub(rb"(\r?\n)(\s*\r?\n){2,}", rb"\1\1", head[: budget.free_form_bytes])
    message = BytesParser(policy=policy.compat32).parsebytes(excerpt)
    try:
        temporary, permanent = all_failures(message)  # flufl.bounce answers (temporary, permanent)
    except Exception:  # a detector that trips on odd mail (no From, say) has found no bounce
        return []

    def names(found: Iterable[object]) -> tuple[tuple[str, ...], ...]:
        decoded = sorted({a.decode(errors="replace") if isinstance(a, bytes) else str(a) for a in found})
        return tuple((a,) for a in decoded[: budget.recipients])

    subject = _text(message.get("Subject"))[:200]
    reports = []
    if permanent:
        reports.append(Report(HARD, names(permanent), f"bounce: {subject}"))
    if temporary:
        reports.append(Report(SOFT, names(temporary), f"delay: {subject}"))
    return reports
