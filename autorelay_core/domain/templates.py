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


# Every save keeps a version; the oldest beyond this many are dropped (a 512 KiB template saved
# every minute for a day must not grow the database without bound).
KEPT_VERSIONS = 50


@define
class TemplateVersion:
    """One save of a template, numbered from 1. The template row holds the current content; the
    API answers with that, and versions are for looking back and restoring."""

    template_id: str
    number: int
    name: str
    subject: str
    html: str
    text: str | None
    saved_at: datetime


def version_of(template: Template, number: int) -> TemplateVersion:
    return TemplateVersion(
        template.id, number, template.name, template.subject, template.html, template.text, template.updated_at
    )
