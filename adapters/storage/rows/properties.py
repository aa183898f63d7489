"""ContactProperty <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

import json
from datetime import datetime

from autorelay_core.domain.properties import ContactProperty, PropertyType

COLUMNS = "id, project_id, key, type, default_value, created_at"
# The default as JSON text on both databases (PostgreSQL would decode a jsonb string to a str that
# reads like JSON text, "free" and '"free"' alike).
SELECT = "id, project_id, key, type, CAST(default_value AS text), created_at"


def property_row(row: tuple) -> ContactProperty:
    pid, project_id, key, kind, default, created = row
    default = None if default is None else json.loads(default)
    created_at = created if isinstance(created, datetime) else datetime.fromisoformat(created)
    return ContactProperty(pid, project_id, key, PropertyType(kind), created_at, default)


def default_json(prop: ContactProperty) -> str | None:
    return None if prop.default is None else json.dumps(prop.default)
