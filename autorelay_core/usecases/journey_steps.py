"""Moving runs through their journeys: the due runs are claimed under a lease (like the outbox's
emails), each step is worked out, and what it did is stored in one write with the run's new place
(`JourneyRepository.move`): the step's record, and the email or webhook delivery it queued.

Exactly once: a move is refused unless the claim is still the run's newest and the step was not
passed before, and a refused move stores nothing, so an email or a delivery is queued once whatever
is killed when. The steps that change a contact (a property, a list, a topic) do it before the move
and are idempotent: run again after a kill, they leave the contact as once would."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from attrs import evolve

from autorelay_core.domain.addresses import Mailbox
from autorelay_core.domain.contacts import Contact, ContactStatus
from autorelay_core.domain.emails import Email, Event, EventType
from autorelay_core.domain.journeys import (
    Flow,
    Journey,
    JourneyRun,
    RunClaim,
    RunState,
    Step,
    StepRecord,
    next_time_of_day,
    step_zone,
)
from autorelay_core.domain.properties import coerce, merged
from autorelay_core.domain.webhooks import WebhookDelivery
from autorelay_core.errors import AutoRelayError, Conflict, QuotaExceeded
from autorelay_core.ports.journeys import Move
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.journey_entry import contact_matches, flow_of, joined, person_contact, system_caller
from autorelay_core.usecases.manage_campaigns import contact_data, with_unsubscribe_link
from autorelay_core.usecases.manage_properties import declared
from autorelay_core.usecases.send_email import new_message_id, sender_charges
from autorelay_core.usecases.unsubscribe import links_for, preferences_link

log = logging.getLogger("autorelay.journeys")
BATCH = 64
# A run goes through its instant steps (send, condition, update...) in one claim, up to this many.
STEPS_PER_CLAIM = 25
_KEPT_ERROR = 300


# What a pass reads once for all its runs (a template, a project's declared properties): a pass is
# short, and a change made during it shows at the next.
_PASS: ContextVar[dict[tuple[str, str], Any] | None] = ContextVar("journey_pass", default=None)


async def _remembered(key: tuple[str, str], read: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    kept = _PASS.get()
    if kept is None:
        return await read(*args)
    if key not in kept:
        kept[key] = await read(*args)
    return kept[key]


async def advance_due(deps: Deps, batch: int = BATCH) -> int:
    """One pass: claim up to `batch` due runs and move each as far as it goes now, together (so
    their writes share commits). How many."""
    _PASS.set({})  # this task's pass; the runs' tasks below share it
    now = deps.clock.now()
    claims = await deps.storage.journeys.claim_due(now, now + deps.config.journey_lease, batch)
    flows: dict[tuple[str, int], tuple[Journey, Flow] | None] = {}
    for claim in claims:
        key = (claim.run.journey_id, claim.run.version)
        if key not in flows:
            flows[key] = await _flow(deps, claim.run)
    await asyncio.gather(*(_advance_one(deps, flows[(c.run.journey_id, c.run.version)], c) for c in claims))
    return len(claims)


async def _flow(deps: Deps, run: JourneyRun) -> tuple[Journey, Flow] | None:
    journey = await deps.storage.journeys.get(run.project_id, run.journey_id)
    version = await deps.storage.journeys.version(run.journey_id, run.version) if journey else None
    if journey is None or version is None:
        return None
    return journey, flow_of(journey.id, version.version, version.definition)


async def _advance_one(deps: Deps, found: tuple[Journey, Flow] | None, claim: RunClaim) -> None:
    if found is None:
        return
    try:
        await advance(deps, *found, claim)
    except AutoRelayError as error:  # a backend hiccup: the lease runs out and the run is claimed again
        log.warning("journey run %s did not move: %s", claim.run.id, error)


async def reconcile_journeys(deps: Deps) -> bool:
    """Wake a pass when a run is due and no pass took it (a wake lost with a killed process, or a
    killed worker's lease that ran out). True if it woke one."""
    due = await deps.storage.journeys.next_due()
    if due is None or due > deps.clock.now():
        return False
    deps.queue.wake()
    return True


async def advance(deps: Deps, journey: Journey, flow: Flow, claim: RunClaim) -> None:
    run = claim.run
    for _ in range(STEPS_PER_CLAIM):
        now = deps.clock.now()
        move = await _next_move(deps, journey, flow, run, now)
        try:
            stored = await _store(deps, claim, move, now)
        except QuotaExceeded as error:  # the send is refused, not the journey: the run goes on
            step = flow.step(run.step_id)
            assert step is not None
            move = _pass(flow, run, step, now, "failed", detail=_said(error))
            stored = await _store(deps, claim, move, now)
        if not stored:
            return  # another claim has it, or the step was passed already
        move = evolve(move, held=move.run.state is RunState.ACTIVE and move.run.due_at <= now)
        if move.email is not None or move.delivery is not None:
            deps.queue.wake()
        run = move.run
        if not move.held:
            return
    await deps.storage.journeys.release(claim)


async def _store(deps: Deps, claim: RunClaim, move: Move, now: datetime) -> bool:
    # The lease is kept while the run goes on at once in this claim, and ended when it waits.
    held = move.run.state is RunState.ACTIVE and move.run.due_at <= now
    return await deps.storage.journeys.move(claim, evolve(move, held=held))


async def _next_move(deps: Deps, journey: Journey, flow: Flow, run: JourneyRun, now: datetime) -> Move:
    if run.signal == "goal":
        return Move(_ended(run, RunState.EXITED, now, "goal"))
    step = flow.step(run.step_id)
    if step is None:
        return Move(_ended(run, RunState.DONE, now))
    if step.type in ("wait", "wait_for_event"):  # the contact is not read: a deletion shows at the next step
        return _wait(flow, run, step, None, now)
    contact = await _contact(deps, run)
    if contact is None:
        return Move(_ended(run, RunState.EXITED, now, "the contact was deleted"))
    if step.type == "wait_until":
        return _wait(flow, run, step, contact, now)
    if step.type == "condition":
        yes = await contact_matches(deps, contact, step.params["filter"])
        return _pass(flow, run, step, now, "yes" if yes else "no", branch="yes" if yes else "no")
    if step.type == "exit":
        record = _record(run, step, now, "exited")
        return Move(_ended(run, RunState.EXITED, now, "an exit step"), record)
    if step.type == "send":
        return await _send(deps, journey, flow, run, step, contact, now)
    if step.type == "webhook":
        return await _webhook(deps, journey, flow, run, step, contact, now)
    try:
        await _change(deps, journey, step, contact, now)
    except AutoRelayError as error:
        return _pass(flow, run, step, now, "failed", detail=_said(error))
    return _pass(flow, run, step, now, "done")


async def _contact(deps: Deps, run: JourneyRun) -> Contact | None:
    contact = await deps.storage.contacts.get(run.project_id, run.contact_id)
    if contact is None:  # its row left a list; the person may still be a contact elsewhere
        contact = person_contact(await deps.storage.contacts.of_person(run.project_id, run.email_key))
    return contact


def _wait(flow: Flow, run: JourneyRun, step: Step, contact: Contact | None, now: datetime) -> Move:
    if run.step_since is None:  # the run arrives: it waits from now
        if step.type == "wait":
            until = now + step.duration
        elif step.type == "wait_until":
            where = step_zone(step, contact.properties if contact else {})
            until = next_time_of_day(now, step.params["time"], where)
        else:
            until = now + step.duration
        waiting = step.params.get("event") if step.type == "wait_for_event" else None
        return Move(evolve(run, step_since=now, due_at=until, waiting_event=waiting, signal=None))
    if step.type != "wait_for_event":
        return _pass(flow, run, step, now, "done")
    if run.signal == "event":
        return _pass(flow, run, step, now, "received", branch="received")
    if now >= run.step_since + step.duration:
        return _pass(flow, run, step, now, "timedOut", branch="timedOut")
    return Move(evolve(run, due_at=run.step_since + step.duration))  # woken early: wait on


async def _send(
    deps: Deps, journey: Journey, flow: Flow, run: JourneyRun, step: Step, contact: Contact, now: datetime
) -> Move:
    if contact.status is not ContactStatus.SUBSCRIBED:
        return _pass(flow, run, step, now, "skipped", detail=f"the contact is {contact.status.value}")
    template = await _remembered(
        ("template", step.params["templateId"]), deps.storage.templates.get, run.project_id, step.params["templateId"]
    )
    if template is None:
        return _pass(flow, run, step, now, "failed", detail="the template was deleted")
    caller = system_caller(journey)
    try:
        sender = Mailbox.parse(step.params["from"], "from")
        charges = await sender_charges(deps, caller, sender)
        known = await _remembered(("declared", run.project_id), declared, deps, run.project_id)
        read = evolve(contact, properties=merged(known, contact.properties))
        email = _email(deps, journey, run, step, read, sender, template.subject, template.html, template.text, now)
    except AutoRelayError as error:
        return _pass(flow, run, step, now, "failed", detail=_said(error))
    passed = _pass(flow, run, step, now, "sent", email_id=email.id)
    return evolve(passed, email=email, events=(Event(EventType.QUEUED, now),), charges=charges)


def _email(
    deps: Deps,
    journey: Journey,
    run: JourneyRun,
    step: Step,
    contact: Contact,
    sender: Mailbox,
    subject: str,
    html: str,
    text: str | None,
    now: datetime,
) -> Email:
    links = links_for(deps, contact, "")
    data = contact_data(contact, links.url, preferences_link(deps, contact))
    content = with_unsubscribe_link(deps, html)
    email_id = deps.ids.new("em")
    return Email(
        id=email_id,
        project_id=run.project_id,
        message_id=new_message_id(sender, email_id),
        sender=sender.formatted(),
        to=(contact.email,),
        subject=deps.templates.render(subject, data, strict=False, html=False),
        html=deps.templates.render(content, data, strict=False),
        text=None if text is None else deps.templates.render(text, data, strict=False, html=False),
        headers=links.headers,
        created_at=now,
        tags={"journey": journey.id, "step": step.id},
        test=journey.test,
        contact_id=contact.id,
    )


async def _webhook(
    deps: Deps, journey: Journey, flow: Flow, run: JourneyRun, step: Step, contact: Contact, now: datetime
) -> Move:
    webhook = await deps.storage.webhooks.get(run.project_id, step.params["webhookId"])
    if webhook is None or not webhook.active:
        return _pass(flow, run, step, now, "failed", detail="the webhook endpoint was deleted or paused")
    event_id = deps.ids.new("evt")
    body = {
        "type": "journey.step",
        "created_at": now.isoformat(),
        "data": {
            "journey_id": journey.id,
            "journey": journey.name,
            "version": run.version,
            "step_id": step.id,
            "run_id": run.id,
            "contact": {"id": contact.id, "email": contact.email, "name": contact.name, "list_id": contact.list_id},
        },
    }
    delivery = WebhookDelivery(
        id=deps.ids.new("whd"),
        webhook_id=webhook.id,
        project_id=run.project_id,
        event_id=event_id,
        event_type="journey.step",
        body=json.dumps(body, separators=(",", ":"), default=str),
        created_at=now,
        due_at=now,
    )
    return evolve(_pass(flow, run, step, now, "done"), delivery=delivery)


async def _change(deps: Deps, journey: Journey, step: Step, contact: Contact, now: datetime) -> None:
    """A property, a list or a topic, for the person (every contact of the address). Idempotent."""
    p, project_id = step.params, contact.project_id
    if step.type == "set_topic":
        await deps.storage.topics.choose(project_id, contact.email_key, {p["topicId"]: p["subscribed"]}, now)
        return
    people = await deps.storage.contacts.of_person(project_id, contact.email_key)
    if step.type == "set_property":
        declared = {d.key: d for d in await deps.storage.properties.all(project_id)}
        prop = declared.get(p["property"])
        if prop is None:
            raise Conflict(f"the contact property {p['property']!r} was deleted")
        value = None if p["value"] is None else coerce(prop.type, p["value"], "value")
        for one in people:
            values = {k: v for k, v in one.properties.items() if k != prop.key}
            await deps.storage.contacts.update(
                evolve(one, properties=values if value is None else {**values, prop.key: value})
            )
    elif step.type == "add_to_list":
        if await deps.storage.lists.get(project_id, p["listId"]) is None:
            raise Conflict("the list was deleted")
        if any(c.list_id == p["listId"] for c in people):
            return  # there already (and one who left it stays out: their choice wins)
        added = evolve(
            contact, id=deps.ids.new("ct"), list_id=p["listId"], created_at=now, status=ContactStatus.SUBSCRIBED
        )
        try:
            await deps.storage.contacts.add(added)
        except Conflict:
            return
        await joined(deps, [added])
    elif step.type == "remove_from_list":
        for one in people:
            if one.list_id == p["listId"]:
                await deps.storage.contacts.delete(project_id, one.id)


def _pass(
    flow: Flow,
    run: JourneyRun,
    step: Step,
    now: datetime,
    outcome: str,
    *,
    branch: str | None = None,
    detail: str | None = None,
    email_id: str | None = None,
) -> Move:
    """The run passed `step` (with `outcome`) and goes on to what follows it (into `branch`)."""
    record = _record(run, step, now, outcome, detail, email_id)
    following = flow.after(step.id, branch)
    if following is None:
        return Move(_ended(run, RunState.DONE, now), record)
    moved = evolve(run, step_id=following, due_at=now, step_since=None, waiting_event=None, signal=None)
    return Move(moved, record)


def _record(
    run: JourneyRun, step: Step, now: datetime, outcome: str, detail: str | None = None, email_id: str | None = None
) -> StepRecord:
    return StepRecord(run.id, run.journey_id, run.version, step.id, now, outcome, detail, email_id)


def _ended(run: JourneyRun, state: RunState, now: datetime, reason: str | None = None) -> JourneyRun:
    return evolve(run, state=state, ended_at=now, exit_reason=reason, waiting_event=None, due_at=now)


def _said(error: AutoRelayError) -> str:
    return error.message[:_KEPT_ERROR]
