"""Project counters for GET /stats: the reference's fields plus the account's health and quota."""

from __future__ import annotations

from attrs import frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.projects import Project
from autorelay_core.domain.reputation import Activity
from autorelay_core.policies.quota import day, month
from autorelay_core.ports import CampaignCounts
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_reputation import activity


@frozen
class WarmupToday:
    """A sending domain of the project on a warm-up: which day, today's volume and what went."""

    domain: str
    day: int  # 1 on the first day
    days: int
    allowance: int | None  # None before it starts and once it is over
    sent_last_24h: int


@frozen
class Stats:
    project: Project
    emails_this_month: int
    sandbox_today: int
    domains: int
    contacts: int
    campaigns: CampaignCounts
    activity: Activity
    warmups: tuple[WarmupToday, ...] = ()


async def read_stats(deps: Deps, caller: Caller) -> Stats:
    project_id = caller.project_id
    project = found(await deps.storage.projects.get(project_id), f"project {project_id}")
    now = deps.clock.now()
    quota = deps.storage.quota
    return Stats(
        project=project,
        emails_this_month=await quota.usage(project_id, "emails", month(now)),
        sandbox_today=await quota.usage(project_id, "sandbox", day(now)),
        domains=await deps.storage.domains.count(project_id),
        contacts=await deps.storage.contacts.count(project_id),
        campaigns=await deps.storage.campaigns.counts(project_id),
        activity=await activity(deps, project_id),
        warmups=await _warmups(deps, project_id),
    )


async def _warmups(deps: Deps, project_id: str) -> tuple[WarmupToday, ...]:
    now = deps.clock.now()
    found = []
    for domain in await deps.storage.domains.all(project_id):
        state = await deps.pacer.today(domain.name, now)
        if state is not None:
            schedule, allowance, sent = state
            found.append(WarmupToday(domain.name, schedule.day(now.date()), len(schedule.daily), allowance, sent))
    return tuple(found)
