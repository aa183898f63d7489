"""How contacts enter journeys: an event, joining a list, coming to match a segment, a date
property coming round, or an API call; and how events reach the runs already in a journey (the
event a step waits for, the goal that ends a run early)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from autorelay_core.domain.activity import ContactEvent
from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact, ContactStatus, email_key
from autorelay_core.domain.journeys import Flow, Journey, JourneyRun, JourneyStatus, parse
from autorelay_core.domain.keys import KeyMode
from autorelay_core.domain.segments import And, Compare, Node
from autorelay_core.domain.segments import parse as parse_filter
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_properties import declared

log = logging.getLogger("autorelay.journeys")
# How many people one scan of a segment or date trigger enters at most; the next scan goes on.
SCAN_LIMIT = 10_000
_FLOWS: dict[tuple[str, int], Flow] = {}


def flow_of(journey_id: str, version: int, definition: dict[str, Any]) -> Flow:
    """The parsed flow of a version (versions never change, so each is parsed once a process)."""
    key = (journey_id, version)
    flow = _FLOWS.get(key)
    if flow is None:
        if len(_FLOWS) > 1024:
            _FLOWS.clear()
        flow = _FLOWS[key] = parse(definition)[0]
    return flow


async def read_filter(deps: Deps, project_id: str, tree: Any) -> Node:
    """A segment filter read against the project's properties as of now (as manage_segments reads
    one; here without it, which imports the contact use cases that call into this module)."""
    return parse_filter(tree, await declared(deps, project_id), deps.clock.now())


async def contact_matches(deps: Deps, contact: Contact, tree: Any) -> bool:
    """A condition's filter read for this one contact, by the store's own segment query (so a
    journey's condition and a segment agree on every store)."""
    node = await read_filter(deps, contact.project_id, tree)
    this = Compare("email", None, "eq", contact.email, "text")
    return bool(await deps.storage.contacts.matching(contact.project_id, And((node, this)), 1))


def system_caller(journey: Journey) -> Caller:
    return Caller.system(journey.project_id, KeyMode.TEST if journey.test else KeyMode.LIVE)


async def enter(deps: Deps, journey: Journey, people: Iterable[tuple[Contact, str]]) -> list[JourneyRun]:
    """Enter each (contact, entry key) as the journey's entry rule allows; the runs made."""
    if journey.status is not JourneyStatus.ACTIVE:
        return []
    flow = flow_of(journey.id, journey.version, journey.definition)
    now = deps.clock.now()
    runs = [
        JourneyRun(
            id=deps.ids.new("jrn"),
            project_id=journey.project_id,
            journey_id=journey.id,
            version=journey.version,
            contact_id=contact.id,
            email_key=contact.email_key,
            entry_key=key,
            entered_at=now,
            step_id=flow.first,
            due_at=now,
            goal=flow.goal,
        )
        for contact, key in people
    ]
    if not runs:
        return []
    added = await deps.storage.journeys.enter(runs, flow.entry.not_since(now))
    if added:
        deps.queue.wake()
    return added


def person_contact(contacts: list[Contact]) -> Contact | None:
    """Who a person is in a journey: their oldest subscribed contact, else their oldest."""
    return next((c for c in contacts if c.status is ContactStatus.SUBSCRIBED), contacts[0] if contacts else None)


async def event_happened(deps: Deps, event: ContactEvent) -> None:
    """An event of POST /events: runs waiting for it or ending on it are told, and journeys it
    triggers take the person in (when the address is a contact of the project)."""
    now = deps.clock.now()
    if await deps.storage.journeys.signal(event.project_id, event.email_key, event.name, event.occurred_at, now):
        deps.queue.wake()
    journeys = await deps.storage.journeys.triggered(event.project_id, f"event:{event.name}")
    if not journeys:
        return
    contact = person_contact(await deps.storage.contacts.of_person(event.project_id, event.email_key))
    if contact is None:
        return
    for journey in journeys:
        await enter(deps, journey, [(contact, event.id)])


async def joined(deps: Deps, contacts: list[Contact]) -> int:
    """Contacts that joined a list (subscribed): journeys the list triggers take them in."""
    by_list: dict[tuple[str, str], list[Contact]] = {}
    for contact in contacts:
        if contact.status is ContactStatus.SUBSCRIBED:
            by_list.setdefault((contact.project_id, contact.list_id), []).append(contact)
    entered = 0
    for (project_id, list_id), members in by_list.items():
        for journey in await deps.storage.journeys.triggered(project_id, f"list:{list_id}"):
            entered += len(await enter(deps, journey, [(c, f"contact:{c.id}") for c in members]))
    return entered


async def confirmed(deps: Deps, project_id: str, address: str) -> None:
    """A double opt-in confirmed the address: its contacts joined their lists now."""
    await joined(deps, await deps.storage.contacts.of_person(project_id, email_key(address)))


async def enter_by_call(deps: Deps, caller: Caller, journey_id: str, email: Any, contact_id: Any) -> JourneyRun:
    """POST /journeys/:id/enter: the contact (by id, or the person by address) enters now, as the
    entry rule allows (Conflict when it does not)."""
    journey = found(await deps.storage.journeys.get(caller.project_id, journey_id), f"journey {journey_id}")
    if journey.status is not JourneyStatus.ACTIVE:
        raise Conflict(f"Only an active journey takes contacts in; this one is {journey.status.value}")
    if (email is None) == (contact_id is None):
        raise Invalid("give the contact's email or its contactId (one of them)", field="email")
    if contact_id is not None:
        if not isinstance(contact_id, str) or not contact_id:
            raise Invalid("contactId must be a contact's id", field="contactId")
        contact = found(await deps.storage.contacts.get(caller.project_id, contact_id), f"contact {contact_id}")
    else:
        key = email_key(check_address(email, "email"))
        person = person_contact(await deps.storage.contacts.of_person(caller.project_id, key))
        if person is None:
            raise NotFound(f"no contact of this project has the address {key}")
        contact = person
    added = await enter(deps, journey, [(contact, f"api:{deps.ids.new('ent')}")])
    if not added:
        raise Conflict("The contact may not enter again yet: the journey's entry rule holds them out")
    return added[0]


async def scan_triggers(deps: Deps) -> int:
    """The triggers nothing announces: people now in a segment, and date properties that came
    round today (with the trigger's offset). Run by the reconciler; safe to run anywhere and
    often: an entry key per occurrence and the entry rule keep anyone from entering twice."""
    entered = 0
    for journey in await deps.storage.journeys.active():
        flow = flow_of(journey.id, journey.version, journey.definition)
        try:
            if flow.trigger.type == "segment":
                entered += await _scan_segment(deps, journey, flow)
            elif flow.trigger.type == "date":
                entered += await _scan_date(deps, journey, flow)
        except (Invalid, NotFound) as error:  # the segment or property went since: nobody enters
            log.warning("journey %s: its trigger cannot be read: %s", journey.id, error)
    return entered


async def _scan_segment(deps: Deps, journey: Journey, flow: Flow) -> int:
    segment = found(await deps.storage.segments.get(journey.project_id, flow.trigger.segment_id or ""), "segment")
    node = await read_filter(deps, journey.project_id, segment.filter)
    now = deps.clock.now()
    return await _enter_new(deps, journey, flow, node, f"segment:{now.date().isoformat()}", now)


async def _scan_date(deps: Deps, journey: Journey, flow: Flow) -> int:
    now = deps.clock.now()
    # Today is `offsetDays` after the date: those whose date is today minus the offset.
    wanted = (now.date() - timedelta(days=flow.trigger.offset_days)).isoformat()
    node = await read_filter(
        deps, journey.project_id, {"property": flow.trigger.date_property, "op": "eq", "value": wanted}
    )
    return await _enter_new(deps, journey, flow, node, f"date:{wanted}", now)


async def _enter_new(deps: Deps, journey: Journey, flow: Flow, node: Any, key: str, now: datetime) -> int:
    people = await deps.storage.contacts.matching(journey.project_id, node, SCAN_LIMIT, subscribed_only=True)
    if not people:
        return 0
    # Most of a segment entered at an earlier scan: leave them out before making runs for them.
    since = flow.entry.not_since(now)
    keys = [c.email_key for c in people]
    inside = await deps.storage.journeys.entered_since(journey.id, keys, since) if since is not None else set()
    fresh = [(c, key) for c in people if c.email_key not in inside]
    return len(await enter(deps, journey, fresh)) if fresh else 0
