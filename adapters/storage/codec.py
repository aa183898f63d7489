"""Entity <-> row conversion shared by the SQL adapters (cattrs at the edge, as the design says)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import cattrs
import orjson

from autorelay_core.domain.emails import Email, Event

converter = cattrs.Converter()
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
converter.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
converter.register_structure_hook(bytes, lambda v, _: base64.b64decode(v))


def ts(moment: datetime) -> float:
    """Times the database compares (due, lease) are stored as epoch seconds."""
    return moment.timestamp()


def email_payload(email: Email) -> str:
    return orjson.dumps(converter.unstructure(email)).decode()


def email_from_payload(payload: str) -> Email:
    return email_from_data(orjson.loads(payload))


def email_from_data(data: dict[str, Any]) -> Email:
    """From the decoded payload (a JSON column the driver already parsed)."""
    return converter.structure(data, Email)


def event_data(event: Event) -> str:
    return orjson.dumps(event.data).decode() if event.data else "{}"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
