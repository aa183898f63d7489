"""Schemathesis hooks: constraints the OpenAPI schema cannot state.

`scheduled_at` must be at most 30 days ahead, relative to now; JSON Schema has no "now". Generated
far-future times are moved into the window, so the run still checks every other field.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import schemathesis


def _in_window(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None and moment - datetime.now(UTC) > timedelta(days=29):
        return (datetime.now(UTC) + timedelta(days=1)).isoformat()
    return value


@schemathesis.hook
def map_body(context, body):
    rows = body.get("emails") if isinstance(body, dict) and isinstance(body.get("emails"), list) else [body]
    for row in rows:
        if isinstance(row, dict) and "scheduled_at" in row:
            row["scheduled_at"] = _in_window(row["scheduled_at"])
    return body
