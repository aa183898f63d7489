"""Contact <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

from datetime import datetime

from autorelay_core.domain.contacts import Contact, ContactStatus

COLUMNS = "id, project_id, list_id, email, name, company, status, created_at"
LIKE_ESCAPE = "\\"


def contact_row(row: tuple) -> Contact:
    cid, project_id, list_id, email, name, company, status, created = row
    created_at = created if isinstance(created, datetime) else datetime.fromisoformat(created)
    return Contact(cid, project_id, list_id, email, created_at, name, company, ContactStatus(status))


def search_key(contact: Contact) -> str:
    """What `search` matches: the address and the name, lower-cased here (all of Unicode, where the
    databases' lower() may know only ASCII), joined by a character nobody types."""
    return f"{contact.email_key}\x1f{(contact.name or '').lower()}"


def like_pattern(search: str) -> str:
    escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
