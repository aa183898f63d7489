"""Reads for views that no API endpoint has: the dashboard's charts and tables, the CLI's listings.
Each is one project's (or, for the operator's listings, the installation's) data as stored; the
doors call these, never the storage ports."""

from __future__ import annotations

from datetime import datetime

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.campaigns import Campaign
from autorelay_core.domain.emails import Email
from autorelay_core.domain.imports import ContactImport
from autorelay_core.domain.projects import Project
from autorelay_core.domain.users import Membership, Role, User
from autorelay_core.domain.webhooks import Attempt
from autorelay_core.policies.pagination import CursorPage, CursorRequest
from autorelay_core.ports import EmailFilter
from autorelay_core.usecases.context import Deps


async def campaign_timeline(deps: Deps, campaign: Campaign) -> list[tuple[str, str, int]]:
    """(minute, event type, count) of the campaign's mail, for its chart."""
    return await deps.storage.campaign_mail.timeline(campaign.id)


async def campaign_links(deps: Deps, campaign: Campaign, limit: int) -> list[tuple[str, int]]:
    """The most clicked links of the campaign, with their clicks."""
    return await deps.storage.campaign_mail.links(campaign.id, limit)


async def recent_imports(deps: Deps, caller: Caller, limit: int) -> list[ContactImport]:
    project_id = caller.project_id
    return await deps.storage.imports.recent(project_id, limit)


async def import_sample(deps: Deps, job: ContactImport, count: int) -> list[list[str]]:
    """The first rows of an uploaded file, to match its columns by."""
    return await deps.storage.imports.sample(job.project_id, job.id, count)


async def invalid_rows(deps: Deps, job: ContactImport) -> list[tuple[int, str, str]]:
    """(line, why, email) of each row the import left out."""
    return await deps.storage.imports.invalid_rows(job.project_id, job.id)


async def daily_activity(deps: Deps, caller: Caller, since: datetime) -> list[tuple[str, str, int]]:
    project_id = caller.project_id
    return await deps.storage.activity.daily(project_id, since)


async def members(deps: Deps, caller: Caller) -> list[tuple[User, Role]]:
    project_id = caller.project_id
    return await deps.storage.users.members(project_id)


async def users_and_projects(deps: Deps) -> list[tuple[User, list[Membership]]]:
    """Every user with the projects they belong to (the operator's listing)."""
    return [(user, await deps.storage.users.memberships(user.id)) for user in await deps.storage.users.list()]


async def projects_by_id(deps: Deps) -> dict[str, Project]:
    return {project.id: project for project in await deps.storage.projects.list()}


async def delivery_attempts(deps: Deps, caller: Caller, delivery_id: str) -> list[Attempt]:
    project_id = caller.project_id
    return await deps.storage.webhooks.attempts(project_id, delivery_id)


async def search_emails(deps: Deps, caller: Caller, cursor: CursorRequest, where: EmailFilter) -> CursorPage[Email]:
    """The project's emails, newest first, filtered as the dashboard's log filters them."""
    project_id = caller.project_id
    return await deps.storage.emails.page(project_id, cursor, where)
