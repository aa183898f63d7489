"""Account reputation: feedback that counts against it, the automatic check, operator actions."""

from __future__ import annotations

from autorelay_core.domain.emails import EventType
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.reputation import WINDOW, Activity, auto_flag, operator_set
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_campaigns import follow_account
from autorelay_core.usecases.manage_keys import find_project

FEEDBACK = (EventType.BOUNCED, EventType.COMPLAINED)


async def activity(deps: Deps, project_id: str) -> Activity:
    return await deps.storage.activity.activity(project_id, deps.clock.now() - WINDOW)


async def evaluate(deps: Deps, project_id: str) -> Project:
    """Flag the project if its last 24 h break the rules (the only automatic transition)."""
    project = found(await deps.storage.projects.get(project_id), f"project {project_id}")
    if auto_flag(project, await activity(deps, project_id), deps.config.reputation_min_volume):
        await deps.storage.projects.set_status(project.id, project.status, project.status_reason)
        await follow_account(deps, project.id, project.status)
    return project


async def evaluate_all(deps: Deps) -> list[Project]:
    """Run the check for every active project; returns those it flagged."""
    flagged = []
    for project in await deps.storage.projects.list():
        if project.status is AccountStatus.ACTIVE:
            checked = await evaluate(deps, project.id)
            if checked.status is AccountStatus.FLAGGED:
                flagged.append(checked)
    return flagged


async def operator_action(deps: Deps, project_ref: str, target: AccountStatus, reason: str = "") -> Project:
    """`autorelay projects reinstate|flag|suspend|deactivate`."""
    project = await find_project(deps, project_ref)
    operator_set(project, target, reason or "set by an operator")
    await deps.storage.projects.set_status(project.id, project.status, project.status_reason)
    await follow_account(deps, project.id, project.status)
    return project
