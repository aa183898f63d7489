"""Bounces and complaints that come back as mail, read with the standard library's `email` package:
delivery status notifications (RFC 3464: multipart/report; report-type=delivery-status) and abuse
feedback reports (ARF, RFC 5965: report-type=feedback-report); other MTAs' free-form bounces with
flufl.bounce. Auto-replies (out of office, vacation) and unrelated mail are not reports."""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses

from attrs import frozen
from flufl.bounce import all_failures

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
_AUTO_SUBJECT = re.compile(r"\b(out of (the )?office|auto(matic)?[ -]?reply|vacation|abwesenheit|absence)\b", re.I)


@frozen
class Report:
    kind: str  # HARD, SOFT or COMPLAINT
    recipients: tuple[str, ...]
    detail: str
    # The return path the report names itself (ARF's Original-Mail-From), for reports sent to a
    # feedback address instead of the message's return path.
    return_path: str | None = None


def read_reports(raw: bytes) -> list[Report]:
    """What the message reports; [] for an auto-reply or anything that is not a report."""
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    if message.get_content_type() == "multipart/report":
        kind = str(message.get_param("report-type") or "").lower()
        if kind == "delivery-status":
            return _delivery_status(message)
        if kind == "feedback-report":
            return _feedback(message)
    # Bounces say Auto-Submitted too: look for failures first; an auto-reply has none to report.
    found = _free_form(message)
    return [] if not found and _auto_reply(message) else found


def _auto_reply(message: Message) -> bool:
    auto = (message.get("Auto-Submitted") or "").lower()
    precedence = (message.get("Precedence") or "").lower()
    return (
        auto.startswith("auto-")
        or precedence in ("auto_reply", "bulk", "junk", "list")
        or any(message.get(h) for h in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"))
        or bool(_AUTO_SUBJECT.search(message.get("Subject") or ""))
    )


def _address(field: str | None) -> str | None:
    """`rfc822; user@example.com` -> the address."""
    if not field:
        return None
    value = field.split(";", 1)[-1].strip().strip("<>")
    return value if "@" in value else None


def _delivery_status(message: Message) -> list[Report]:
    reports: list[Report] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        if isinstance(payload, str):  # some MTAs send it as one text block
            blocks = [HeaderParser().parsestr(chunk) for chunk in re.split(r"\r?\n\r?\n", payload) if chunk.strip()]
        else:
            blocks = [block for block in payload if isinstance(block, Message)]
        for block in blocks[1:] if len(blocks) > 1 else blocks:
            recipient = _address(block.get("Final-Recipient")) or _address(block.get("Original-Recipient"))
            action = (block.get("Action") or "").strip().lower()
            status = _STATUS.search(block.get("Status") or "")
            if recipient is None or action in ("delivered", "relayed", "expanded"):
                continue
            code = status.group(0) if status else ""
            diagnostic = (block.get("Diagnostic-Code") or "").split(";", 1)[-1]  # "smtp; 550 ..." -> "550 ..."
            detail = " ".join(diagnostic.split()) or code or action
            if code.startswith("5") or (not code and action == "failed"):
                reports.append(Report(HARD, (recipient,), f"{code} {detail}".strip() if code not in detail else detail))
            elif code.startswith("4") or action == "delayed":
                reports.append(Report(SOFT, (recipient,), f"{code} {detail}".strip() if code not in detail else detail))
    return reports


def _feedback(message: Message) -> list[Report]:
    fields: Message | None = None
    original: Message | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/feedback-report":
            payload = part.get_payload()
            if isinstance(payload, list):  # parsed as a message by some parsers
                text = "\n".join(
                    f"{k}: {v}" for block in payload if isinstance(block, Message) for k, v in block.items()
                )
            else:
                text = str(payload)
            fields = HeaderParser().parsestr(text.strip() + "\n")
        elif kind == "message/rfc822":
            inner = part.get_payload()
            original = inner[0] if isinstance(inner, list) and inner and isinstance(inner[0], Message) else None
        elif kind == "text/rfc822-headers":
            raw_headers = part.get_payload(decode=True)
            text = raw_headers.decode("utf-8", "replace") if isinstance(raw_headers, bytes) else ""
            original = HeaderParser().parsestr(text)
    if fields is None:
        return []
    feedback = (fields.get("Feedback-Type") or "abuse").strip().lower()
    if feedback not in ("abuse", "fraud", "other", "virus"):
        return []
    named_rcpts = [_address(v) for v in fields.get_all("Original-Rcpt-To") or []]
    recipients = [r for r in named_rcpts if r]
    if not recipients and original is not None:
        recipients = [address for _, address in getaddresses(original.get_all("To") or []) if "@" in address]
    agent = fields.get("User-Agent") or fields.get("Reporting-MTA") or "a mailbox provider"
    detail = f"{feedback} report from {' '.join(agent.split())}"
    named = _address(fields.get("Original-Mail-From"))
    return [Report(COMPLAINT, tuple(recipients), detail, named)] if recipients else []


def _free_form(message: Message) -> list[Report]:
    temporary, permanent = all_failures(message)  # flufl.bounce answers (temporary, permanent)
    decode = lambda found: tuple(sorted({a.decode() if isinstance(a, bytes) else str(a) for a in found}))  # noqa: E731
    reports = []
    if permanent:
        reports.append(Report(HARD, decode(permanent), f"bounce: {' '.join((message.get('Subject') or '').split())}"))
    if temporary:
        reports.append(Report(SOFT, decode(temporary), f"delay: {' '.join((message.get('Subject') or '').split())}"))
    return reports
