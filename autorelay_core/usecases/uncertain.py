"""The operator's side of `uncertain` emails (see settle_handovers): list them, send one again, or
settle it as sent once the next hop's log shows it left."""

from __future__ import annotations

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.emails import Email, EmailStatus, EventType
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports import EmailFilter
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.record_events import record_event


async def list_uncertain(deps: Deps, caller: Caller, limit: int = 100) -> list[Email]:
    project_id = caller.project_id
    page = await deps.storage.emails.page(project_id, CursorRequest(limit=limit), EmailFilter(EmailStatus.UNCERTAIN))
    return page.items


async def _uncertain(deps: Deps, project_id: str, email_id: str) -> Email:
    email = found(await deps.storage.emails.get(project_id, email_id), f"email {email_id}")
    if email.status is not EmailStatus.UNCERTAIN:
        raise Conflict(f"email {email_id} is {email.status.value}, not uncertain")
    return email


async def resend_uncertain(deps: Deps, caller: Caller, email_id: str) -> None:
    """Send it again, with the same Message-ID."""
    project_id = caller.project_id
    await _uncertain(deps, project_id, email_id)
    if not await deps.storage.outbox.reopen(project_id, email_id, deps.clock.now()):
        raise Conflict(f"email {email_id} is already being sent again")
    deps.queue.wake()


async def settle_as_sent(deps: Deps, caller: Caller, email_id: str) -> None:
    """The operator found a held one in the next hop's log: record it sent (webhooks go out too)."""
    project_id = caller.project_id
    email = await _uncertain(deps, project_id, email_id)
    await record_event(deps, email, EventType.SENT, note="settled as sent by the operator")


async def set_uncertain_policy(deps: Deps, caller: Caller, *, transactional: bool, campaigns: bool) -> None:
    """Whether the project's uncertain mail is sent again (True) or held for the operator (False)."""
    project_id = caller.project_id
    await deps.storage.projects.set_uncertain_policy(project_id, transactional=transactional, campaigns=campaigns)
