"""Read side for emails: one email with its events, and cursor pages."""

from __future__ import annotations

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.emails import Email, EmailStatus, Event
from autorelay_core.errors import Invalid
from autorelay_core.policies.pagination import CursorPage, CursorRequest
from autorelay_core.ports import EmailFilter
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found

LISTABLE_STATUSES = tuple(status.value for status in EmailStatus)


async def get_email(deps: Deps, caller: Caller, email_id: str) -> tuple[Email, list[Event]]:
    project_id = caller.project_id
    email = found(await deps.storage.emails.get(project_id, email_id), f"email {email_id}")
    return email, await deps.storage.emails.events(email_id)


async def text_part(deps: Deps, email: Email) -> str | None:
    """The plain-text part as delivery sends it: the one given, or else the one generated from the
    HTML (generated again here: only what was given is stored). None for a sealed email."""
    if email.sealed:
        return None
    if email.text is not None:
        return email.text
    return await deps.offload.run(deps.html_to_text.convert, email.html)


def parse_status(value: str | None) -> EmailStatus | None:
    if value is None:
        return None
    try:
        return EmailStatus(value)
    except ValueError:
        raise Invalid(f"status must be one of {', '.join(LISTABLE_STATUSES)}", field="status") from None


async def list_emails(
    deps: Deps, caller: Caller, status: EmailStatus | None, cursor: CursorRequest
) -> CursorPage[Email]:
    # A cursor names an email of this project; anything else is a client error, not an empty page.
    project_id = caller.project_id
    if cursor.after is not None and await deps.storage.emails.get(project_id, cursor.after) is None:
        raise Invalid("not the id of an email of this project", field="starting_after")
    return await deps.storage.emails.page(project_id, cursor, EmailFilter(status=status))
