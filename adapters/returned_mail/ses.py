"""SES's feedback as an SNS Notification carries it (a bounce, a complaint, a delivery), read into
what the core's feedback rule takes. The SNS envelope is checked first (sns.py)."""

from __future__ import annotations

import json
from typing import Any

from attrs import frozen

from autorelay_core.errors import Invalid
from autorelay_core.usecases.provider_feedback import Feedback


@frozen
class SesEvent:
    provider_id: str  # SES's MessageId of the email
    feedback: Feedback
    recipients: list[str]
    detail: str = ""


def read_ses_event(text: str) -> SesEvent | None:
    """The event in an SNS Message; None for a kind that changes nothing (opens, sends, ...).
    Invalid when the text is not an SES event at all."""
    try:
        event = json.loads(text)
        kind = event.get("notificationType") or event.get("eventType")
        provider_id = str(event["mail"]["messageId"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise Invalid("the SNS Message is not an SES event") from None
    if kind == "Bounce":
        bounce = _object(event, "bounce")
        permanent = bounce.get("bounceType") == "Permanent"
        feedback = Feedback.PERMANENT_BOUNCE if permanent else Feedback.TRANSIENT_BOUNCE
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        return SesEvent(provider_id, feedback, _addresses(bounce, "bouncedRecipients"), detail)
    if kind == "Complaint":
        complaint = _object(event, "complaint")
        detail = str(complaint.get("complaintFeedbackType") or "complaint")
        return SesEvent(provider_id, Feedback.COMPLAINT, _addresses(complaint, "complainedRecipients"), detail)
    if kind == "Delivery":
        recipients = _object(event, "delivery").get("recipients", [])
        return SesEvent(provider_id, Feedback.DELIVERED, [r for r in recipients if isinstance(r, str) and r])
    return None


def _object(event: dict[str, Any], name: str) -> dict[str, Any]:
    value = event.get(name)
    return value if isinstance(value, dict) else {}


def _addresses(part: dict[str, Any], name: str) -> list[str]:
    listed = part.get(name)
    rows = listed if isinstance(listed, list) else []
    return [
        row["emailAddress"]
        for row in rows
        if isinstance(row, dict) and isinstance(row.get("emailAddress"), str) and row["emailAddress"]
    ]
