"""The webhook payload's wire format, built here and nowhere else: JSON with the reference's camelCase
names and millisecond UTC timestamps (`2026-11-30T21:00:00.000Z`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from autorelay_core.domain.emails import Email, Event


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Datetimes through `default` (str) and keys of any type, as json.dumps(default=str) had them.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def _dump(event_id: str, event_type: str, at: datetime, data: dict[str, Any]) -> str:
    payload = {"id": event_id, "type": event_type, "createdAt": _iso(at), "data": data}
    # orjson: compact UTF-8 like json.dumps(separators=(",", ":"), ensure_ascii=False), five times
    # faster, and a notice is built for every event of every email.
    return orjson.dumps(payload, default=str, option=_OPTIONS).decode()


class JsonNotices:
    def body(self, event_id: str, event_type: str, email: Email, event: Event) -> str:
        data: dict[str, Any] = {
            "emailId": email.id,
            "from": email.sender,
            "to": list(email.to),
            "subject": email.subject,
            "tags": email.tags,
        }
        if email.campaign_id:
            data["campaignId"] = email.campaign_id
        if email.test:
            data["test"] = True  # an email sent with a test key: as the test event says it
        data.update(event.data)  # error, recipients, url, ...
        return _dump(event_id, event_type, event.created_at, data)

    def test_body(self, event_id: str, event_type: str, at: datetime) -> str:
        data = {
            "emailId": "em_test",
            "from": "AutoRelay <hello@example.com>",
            "to": ["someone@example.com"],
            "subject": "A test event from AutoRelay",
            "tags": {},
            "test": True,
        }
        return _dump(event_id, event_type, at, data)


def resend_body(body: str) -> str:
    """An AutoRelay payload in Resend's shape (resend.com/docs/dashboard/webhooks/event-types): the
    same event with Resend's names, for an endpoint whose handler was written for Resend."""
    ours = orjson.loads(body)
    data = ours.get("data") or {}
    kind, at = ours.get("type", ""), ours.get("createdAt", "")
    theirs: dict[str, Any] = {
        "created_at": at,
        "email_id": data.get("emailId"),
        "from": data.get("from"),
        "to": data.get("to") or [],
        "subject": data.get("subject"),
        "tags": data.get("tags") or {},
    }
    if data.get("campaignId"):
        theirs["broadcast_id"] = data["campaignId"]
    if kind == "email.bounced":
        theirs["bounce"] = {"message": data.get("error", ""), "type": "Permanent", "subType": "General"}
    elif kind == "email.clicked":
        theirs["click"] = {"link": data.get("url", ""), "timestamp": at}
    elif kind == "email.failed":
        theirs["failed"] = {"reason": data.get("error", "")}
    if data.get("test"):
        theirs["test"] = True
    return orjson.dumps({"type": kind, "created_at": at, "data": theirs}, default=str, option=_OPTIONS).decode()
