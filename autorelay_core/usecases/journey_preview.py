"""A test run: one contact taken through a journey on a fast clock, with the events you say they
would do, as a timeline of what would happen. Nothing is sent or changed: conditions read the
contact as it is now, and every other step says what it would do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from attrs import frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.journeys import Flow, Step, next_time_of_day, parse, step_zone
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.journey_entry import contact_matches
from autorelay_core.usecases.manage_contacts import get_contact
from autorelay_core.usecases.manage_properties import as_read

MAX_EVENTS = 20


@frozen
class Happening:
    """One line of the timeline: when (on the fast clock), which step, and what came of it."""

    at: datetime
    step_id: str
    step_type: str
    outcome: str
    detail: str = ""


@frozen
class SupposedEvent:
    name: str
    after: timedelta  # after the contact entered


def supposed_events(value: Any) -> list[SupposedEvent]:
    """[{"name": "activated", "hours": 20}, ...]: the events the run supposes, checked."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_EVENTS:
        raise Invalid(f"events must be a list of at most {MAX_EVENTS} {{name, hours}}", field="events")
    found = []
    for position, item in enumerate(value):
        at = f"events[{position}]"
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"]:
            raise Invalid(f"{at} needs a name", field=at)
        hours = item.get("hours", 0)
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= 24 * 366:
            raise Invalid(f"{at}.hours must be a number of hours from 0 to 8784", field=f"{at}.hours")
        found.append(SupposedEvent(item["name"][:100], timedelta(hours=hours)))
    return sorted(found, key=lambda e: e.after)


async def dry_run(
    deps: Deps,
    caller: Caller,
    definition: dict[str, Any],
    contact_id: str,
    events: list[SupposedEvent],
    start: datetime | None = None,
) -> list[Happening]:
    """The timeline of the contact entering at `start` (now when not given)."""
    flow, _ = parse(definition)
    (contact,) = await as_read(deps, caller.project_id, [await get_contact(deps, caller, contact_id)])
    start = start or deps.clock.now()
    happened = [(start + e.after, e.name) for e in events]
    timeline: list[Happening] = []
    at, step_id = start, flow.first
    while step_id is not None:
        step = flow.step(step_id)
        assert step is not None
        goal = _first(happened, flow.goal, start, at) if flow.goal else None
        if goal is not None:
            timeline.append(Happening(goal, step.id, step.type, "exited", f"the goal {flow.goal} happened"))
            return timeline
        at, outcome, detail, branch = await _step(deps, caller, flow, step, contact, at, happened)
        if step.type in ("wait", "wait_until", "wait_for_event") and flow.goal:
            goal = _first(happened, flow.goal, start, at)
            if goal is not None and goal < at:
                timeline.append(Happening(goal, step.id, step.type, "exited", f"the goal {flow.goal} happened"))
                return timeline
        timeline.append(Happening(at, step.id, step.type, outcome, detail))
        if step.type == "exit":
            return timeline
        step_id = flow.after(step.id, branch)
    return timeline


def _first(happened: list[tuple[datetime, str]], name: str | None, since: datetime, until: datetime) -> datetime | None:
    return next((when for when, what in happened if what == name and since <= when <= until), None)


async def _step(
    deps: Deps,
    caller: Caller,
    flow: Flow,
    step: Step,
    contact: Contact,
    at: datetime,
    happened: list[tuple[datetime, str]],
) -> tuple[datetime, str, str, str | None]:
    """(when it is passed, outcome, what it would do, the branch taken)."""
    p = step.params
    if step.type == "wait":
        return at + step.duration, "done", f"waited {_span(step.duration)}", None
    if step.type == "wait_until":
        where = step_zone(step, contact.properties)
        return next_time_of_day(at, p["time"], where), "done", f"waited until {p['time']} ({where})", None
    if step.type == "wait_for_event":
        came = _first(happened, p["event"], at, at + step.duration)
        if came is not None:
            return came, "received", f"{p['event']} happened", "received"
        return at + step.duration, "timedOut", f"no {p['event']} within {_span(step.duration)}", "timedOut"
    if step.type == "condition":
        yes = await contact_matches(deps, contact, p["filter"])
        return (
            at,
            "yes" if yes else "no",
            "the contact matches" if yes else "the contact does not match",
            ("yes" if yes else "no"),
        )
    if step.type == "send":
        template = await deps.storage.templates.get(caller.project_id, p["templateId"])
        name = template.name if template else "a deleted template"
        return at, "sent", f"would send {name} to {contact.email}", None
    described = {
        "set_property": f"would set {p.get('property')} to {p.get('value')!r}",
        "add_to_list": "would add the contact to a list",
        "remove_from_list": "would take the contact off a list",
        "set_topic": "would " + ("subscribe to" if p.get("subscribed") else "unsubscribe from") + " a topic",
        "webhook": "would post to a webhook endpoint",
        "exit": "leaves the journey",
    }[step.type]
    return at, "exited" if step.type == "exit" else "done", described, None


def _span(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
