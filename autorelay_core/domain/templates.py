"""Saved templates: a subject and an HTML body with `{{ variable }}` placeholders."""

from __future__ import annotations

from datetime import datetime

from attrs import define

# Of a template's (or a campaign's) HTML or text: room for any email (Gmail clips past 102 KB),
# and a bound on what parsing and rendering one can cost.
MAX_TEMPLATE_CHARS = 512 * 1024


@define
class Template:
    id: str
    project_id: str
    name: str
    subject: str
    html: str
    created_at: datetime
    updated_at: datetime
    text: str | None = None
