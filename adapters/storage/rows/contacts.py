"""Contact <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

import json
from datetime import datetime

from autorelay_core.domain.contacts import Contact, ContactStatus

COLUMNS = "id, project_id, list_id, email, name, company, status, created_at, properties"
# Every stored column, in the order of `values()`.
FIELDS = "id, project_id, list_id, email, email_key, search_key, name, company, status, created_at, properties"
# An update changes these (values()[2:9] and [10]) of the row with values()[0:2] as (id, project_id).
UPDATE = (
    "list_id = {p}, email = {p}, email_key = {p}, search_key = {p}, name = {p}, company = {p}, status = {p},"
    " properties = {p}"
)
LIKE_ESCAPE = "\\"


def contact_row(row: tuple) -> Contact:
    cid, project_id, list_id, email, name, company, status, created, properties = row
    created_at = created if isinstance(created, datetime) else datetime.fromisoformat(created)
    if isinstance(properties, str):  # SQLite's text; PostgreSQL's jsonb arrives decoded
        properties = json.loads(properties)
    return Contact(cid, project_id, list_id, email, created_at, name, company, ContactStatus(status), properties)


def search_key(contact: Contact) -> str:
    """What `search` matches: the address and the name, lower-cased here (all of Unicode, where the
    databases' lower() may know only ASCII), joined by a character nobody types."""
    return f"{contact.email_key}\x1f{(contact.name or '').lower()}"


def values(contact: Contact, created_at: object = None) -> tuple:
    """The row for FIELDS; `created_at` as the database wants it (default: the datetime)."""
    return (
        contact.id,
        contact.project_id,
        contact.list_id,
        contact.email,
        contact.email_key,
        search_key(contact),
        contact.name,
        contact.company,
        contact.status.value,
        contact.created_at if created_at is None else created_at,
        json.dumps(contact.properties, separators=(",", ":")),
    )


def update_args(contact: Contact) -> tuple:
    row = values(contact)
    return (*row[2:9], row[10], row[0], row[1])


def like_pattern(search: str) -> str:
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
