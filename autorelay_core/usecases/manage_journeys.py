"""Journeys (domain/journeys.py): made, edited (a new version once live), enabled, paused and
deleted, their figures, and a contact's way through them."""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.addresses import Mailbox
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.journeys import (
    Flow,
    Journey,
    JourneyRun,
    JourneyStatus,
    JourneyVersion,
    StepRecord,
    VersionStats,
    parse,
)
from autorelay_core.domain.properties import PropertyType, coerce
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_contacts import get_contact, text_field
from autorelay_core.usecases.manage_segments import compile_filter

MAX_NAME = 200
MAX_JOURNEYS = 200
PATHS = 20


@frozen
class JourneyInput:
    name: Any = None
    definition: Any = None  # {"trigger", "entry", "goal", "steps"}; on an update, those to change


@frozen
class Path:
    """One run of a contact through a journey, with the steps it passed."""

    journey: Journey | None
    run: JourneyRun
    records: tuple[StepRecord, ...]


def _name(value: Any) -> str:
    name = text_field(value, "name")
    if name is None:
        raise Invalid("name is required", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters", field="name")
    return name


async def checked(deps: Deps, caller: Caller, definition: Any) -> tuple[Flow, dict[str, Any]]:
    """The flow, with every id and key it names checked against the project: a journey that
    names a list since deleted still runs (that step fails and the run goes on), but one cannot
    be saved naming what is not there."""
    flow, stored = parse(definition)
    project_id, storage = caller.project_id, deps.storage
    trigger = flow.trigger
    if trigger.list_id is not None:
        found(await storage.lists.get(project_id, trigger.list_id), f"trigger.listId: list {trigger.list_id}")
    if trigger.segment_id is not None:
        found(
            await storage.segments.get(project_id, trigger.segment_id),
            f"trigger.segmentId: segment {trigger.segment_id}",
        )
    declared = {p.key: p for p in await storage.properties.all(project_id)}
    if trigger.date_property is not None:
        prop = declared.get(trigger.date_property)
        if prop is None or prop.type is not PropertyType.DATE:
            raise Invalid(
                f"trigger.date_property must be a declared date property ({trigger.date_property!r})",
                field="trigger.date_property",
            )
    for step in flow.all_steps():
        at = f"step {step.id}"
        p = step.params
        if step.type == "condition":
            try:
                await compile_filter(deps, caller, p["filter"])
            except Invalid as error:
                raise Invalid(f"{at}.filter: {error.message}", field=f"{at}.filter") from None
        elif step.type == "send":
            found(
                await storage.templates.get(project_id, p["templateId"]), f"{at}.templateId: template {p['templateId']}"
            )
            try:
                Mailbox.parse(p["from"], f"{at}.from")
            except Invalid as error:
                raise Invalid(error.message, field=f"{at}.from") from None
        elif step.type in ("add_to_list", "remove_from_list"):
            found(await storage.lists.get(project_id, p["listId"]), f"{at}.listId: list {p['listId']}")
        elif step.type == "set_topic":
            found(await storage.topics.get(project_id, p["topicId"]), f"{at}.topicId: topic {p['topicId']}")
        elif step.type == "webhook":
            found(await storage.webhooks.get(project_id, p["webhookId"]), f"{at}.webhookId: webhook {p['webhookId']}")
        elif step.type == "set_property":
            prop = declared.get(p["property"])
            if prop is None:
                raise Invalid(
                    f"{at}.property: no contact property {p['property']!r} is declared", field=f"{at}.property"
                )
            if p["value"] is not None:
                coerce(prop.type, p["value"], f"{at}.value")
        elif step.type == "wait_until" and "timezoneProperty" in p and p["timezoneProperty"] not in declared:
            raise Invalid(
                f"{at}.timezoneProperty: no contact property {p['timezoneProperty']!r} is declared",
                field=f"{at}.timezoneProperty",
            )
    return flow, stored


async def create_journey(deps: Deps, caller: Caller, fields: JourneyInput) -> Journey:
    name = _name(fields.name)
    _, definition = await checked(deps, caller, fields.definition)
    if len(await deps.storage.journeys.all(caller.project_id)) >= MAX_JOURNEYS:
        raise Conflict(f"A project has at most {MAX_JOURNEYS} journeys; delete one first")
    now = deps.clock.now()
    journey = Journey(
        id=deps.ids.new("jny"),
        project_id=caller.project_id,
        name=name,
        definition=definition,
        status=JourneyStatus.DRAFT,
        version=1,
        created_at=now,
        updated_at=now,
        test=caller.is_test,
    )
    await deps.storage.journeys.add(journey, JourneyVersion(journey.id, 1, definition, now))
    return journey


async def get_journey(deps: Deps, caller: Caller, journey_id: str) -> Journey:
    return found(await deps.storage.journeys.get(caller.project_id, journey_id), f"journey {journey_id}")


async def list_journeys(deps: Deps, caller: Caller) -> list[Journey]:
    return await deps.storage.journeys.all(caller.project_id)


async def update_journey(deps: Deps, caller: Caller, journey_id: str, fields: JourneyInput) -> Journey:
    """A new name and/or definition. A journey that was ever enabled gets a new version: those in
    it finish on the version they entered, newcomers take the new one. A draft changes in place."""
    journey = await get_journey(deps, caller, journey_id)
    now = deps.clock.now()
    changed = evolve(journey, updated_at=now)
    if fields.name is not None:
        changed.name = _name(fields.name)
    version = None
    if fields.definition is not None:
        if not isinstance(fields.definition, dict):
            raise Invalid("a journey's definition is an object: trigger, entry, goal, steps")
        # What is not given stays as it was: a new list of steps keeps the trigger.
        _, definition = await checked(deps, caller, {**journey.definition, **fields.definition})
        if definition != journey.definition:
            number = journey.version if journey.enabled_at is None else journey.version + 1
            changed.definition, changed.version = definition, number
            version = JourneyVersion(journey.id, number, definition, now)
    await deps.storage.journeys.save(changed, version)
    return changed


async def enable_journey(deps: Deps, caller: Caller, journey_id: str) -> Journey:
    """Contacts enter it (from now on) and move; a paused journey's go on where they stood."""
    journey = await get_journey(deps, caller, journey_id)
    await checked(deps, caller, journey.definition)  # what it names may have gone since
    now = deps.clock.now()
    changed = evolve(journey, status=JourneyStatus.ACTIVE, updated_at=now, enabled_at=journey.enabled_at or now)
    await deps.storage.journeys.save(changed)
    deps.queue.wake()
    return changed


async def pause_journey(deps: Deps, caller: Caller, journey_id: str) -> Journey:
    """Nobody enters and nobody moves; waits that end meanwhile go on at the resume."""
    journey = await get_journey(deps, caller, journey_id)
    if journey.status is not JourneyStatus.ACTIVE:
        raise Conflict(f"Only an active journey can be paused; this one is {journey.status.value}")
    changed = evolve(journey, status=JourneyStatus.PAUSED, updated_at=deps.clock.now())
    await deps.storage.journeys.save(changed)
    return changed


async def delete_journey(deps: Deps, caller: Caller, journey_id: str) -> None:
    journey = await get_journey(deps, caller, journey_id)
    if journey.status is JourneyStatus.ACTIVE:
        raise Conflict("An active journey cannot be deleted; pause it first (everyone in it stops where they are)")
    await deps.storage.journeys.delete(caller.project_id, journey.id)


async def journey_stats(deps: Deps, caller: Caller, journey_id: str) -> list[VersionStats]:
    journey = await get_journey(deps, caller, journey_id)
    return await deps.storage.journeys.stats(journey.id)


async def journey_version(deps: Deps, caller: Caller, journey_id: str, number: int) -> JourneyVersion:
    journey = await get_journey(deps, caller, journey_id)
    return found(await deps.storage.journeys.version(journey.id, number), f"version {number} of journey {journey_id}")


async def contact_paths(deps: Deps, caller: Caller, contact_id: str, limit: int = PATHS) -> list[Path]:
    """The contact's (its address's) runs through the project's journeys, newest first."""
    contact = await get_contact(deps, caller, contact_id)
    runs = await deps.storage.journeys.runs_of(caller.project_id, contact.email_key, limit)
    records = await deps.storage.journeys.records([r.id for r in runs])
    journeys = {j.id: j for j in await deps.storage.journeys.all(caller.project_id)}
    return [Path(journeys.get(run.journey_id), run, tuple(r for r in records if r.run_id == run.id)) for run in runs]
