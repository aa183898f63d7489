"""Saved templates: a subject and an HTML body with `{{ variable }}` placeholders."""

from __future__ import annotations

from datetime import datetime

from attrs import define


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
