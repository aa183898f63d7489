"""Schemathesis hooks: constraints the OpenAPI schema cannot state.

`scheduled_at` must be at most 30 days ahead, relative to now, and an event's `occurredAt` not in
the future; JSON Schema has no "now". Generated times are moved into the window, so the run still
checks every other field. A contact's `properties` must name the project's declared properties,
which the fuzzer cannot know: generated ones are dropped (tests/e2e/test_contact_properties.py
covers them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _in_window(value: object) -> object:
    moment = _moment(value)
    if moment is not None and moment - datetime.now(UTC) > timedelta(days=29):
        return (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return value


def _past(value: object) -> object:
    moment = _moment(value)
    if moment is not None and moment > datetime.now(UTC):
        return (datetime.now(UTC) - timedelta(days=1)).isoformat()
    return value


@schemathesis.hook
def map_body(context, body):
    path = getattr(getattr(context, "operation", None), "path", "") or ""
    rows = body.get("emails") if isinstance(body, dict) and isinstance(body.get("emails"), list) else [body]
    if isinstance(body, dict) and isinstance(body.get("contacts"), list):
        rows = body["contacts"]
    for row in rows:
        if not isinstance(row, dict):
            continue
        if "scheduled_at" in row:
            row["scheduled_at"] = _in_window(row["scheduled_at"])
        if "occurredAt" in row:
            row["occurredAt"] = _past(row["occurredAt"])
        if path.startswith("/api/v1/contacts"):
            row.pop("properties", None)
    return body
