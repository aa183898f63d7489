"""Entity <-> row conversion shared by the SQL adapters (cattrs at the edge, as the design says)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import cattrs
import orjson

from autorelay_core.domain.emails import Email, Event
from autorelay_core.ports import CONTENT_FIELDS

converter = cattrs.Converter()
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
converter.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
converter.register_structure_hook(bytes, lambda v, _: base64.b64decode(v))


def ts(moment: datetime) -> float:
    """Times the database compares (due, lease) are stored as epoch seconds."""
    return moment.timestamp()


# What an email is, written once when it is accepted, is kept apart from the record (status,
# counters, provider id), which is rewritten at every step of delivery: a step rewrites a few
# hundred bytes instead of the bodies.
CONTENT = CONTENT_FIELDS


def email_payload(email: Email) -> str:
    """The record: every field but the content."""
    data = converter.unstructure(email)
    for name in CONTENT:
        del data[name]
    return orjson.dumps(data).decode()


def email_content(email: Email) -> str:
    data = converter.unstructure(email)
    return orjson.dumps({name: data[name] for name in CONTENT}).decode()


def email_from_parts(record: str | dict[str, Any], content: str | dict[str, Any]) -> Email:
    """From the record and the content, as stored (JSON text) or already decoded by the driver."""
    data = orjson.loads(record) if isinstance(record, str) else dict(record)
    data.update(orjson.loads(content) if isinstance(content, str) else content)
    return converter.structure(data, Email)


def event_data(event: Event) -> str:
    return orjson.dumps(event.data).decode() if event.data else "{}"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
