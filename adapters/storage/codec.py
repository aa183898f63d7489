"""Entity <-> row conversion shared by the SQL adapters (cattrs at the edge, as the design says)."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

import cattrs
import orjson
from cattrs.gen import make_dict_unstructure_fn, override

from autorelay_core.domain import search
from autorelay_core.domain.emails import Email, Event
from autorelay_core.ports import CONTENT_FIELDS, RECORD_FIELDS

converter = cattrs.Converter()
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_structure_hook(datetime, lambda v, _: datetime.fromisoformat(v))
converter.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
converter.register_structure_hook(bytes, lambda v, _: base64.b64decode(v))


def ts(moment: datetime) -> float:
    """Times the database compares (due, lease) are stored as epoch seconds."""
    return moment.timestamp()


# What an email is (CONTENT_FIELDS), written once when it is accepted, is kept apart from its record
# (RECORD_FIELDS: status, counters, last error, provider id), which is rewritten at every step of
# delivery: a step rewrites a hundred bytes instead of the whole email.
# The record's converter leaves the content out as it goes (no bodies copied, no attachment
# base64-encoded, for a write that stores neither).
_record = converter.copy()
_no_content: dict[str, Any] = {name: override(omit=True) for name in CONTENT_FIELDS}
_record.register_unstructure_hook(Email, make_dict_unstructure_fn(Email, _record, **_no_content))
# And the content's the same way: a generated function, not a dict unstructured value by value.
_content = converter.copy()
_no_record: dict[str, Any] = {name: override(omit=True) for name in RECORD_FIELDS}
_content.register_unstructure_hook(Email, make_dict_unstructure_fn(Email, _content, **_no_record))


def email_payload(email: Email) -> str:
    """The record: RECORD_FIELDS (every field but the content)."""
    return orjson.dumps(_record.unstructure(email)).decode()


def email_content(email: Email) -> str:
    """The content: CONTENT_FIELDS, written once."""
    return orjson.dumps(_content.unstructure(email)).decode()


def email_from_parts(record: str | dict[str, Any], content: str | dict[str, Any]) -> Email:
    """From the record and the content, as stored (JSON text) or already decoded by the driver."""
    data = orjson.loads(record) if isinstance(record, str) else dict(record)
    data.update(orjson.loads(content) if isinstance(content, str) else content)
    return converter.structure(data, Email)


def search_words(email: Email) -> str:
    """The words the email log's search finds the email by (one rule for every backend)."""
    return search.email_words(email)


def first_to(email: Email) -> str | None:
    """The first recipient, as the recipient filter looks for it (its own indexed column)."""
    return email.to[0].lower() if email.to else None


def event_data(event: Event) -> str:
    return orjson.dumps(event.data).decode() if event.data else "{}"


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))
