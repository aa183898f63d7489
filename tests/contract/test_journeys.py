"""Journeys on every storage backend, with a fake clock over days: a three-step welcome series
with a wait-for-event branch and a goal, followed person by person; entry rules; versions; a
claim lost to a second claimant moves nothing; and the per-step figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from attrs import evolve

from autorelay_core.domain.journeys import RunState
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.usecases import manage_journeys as uc
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.journey_entry import enter_by_call, flow_of
from autorelay_core.usecases.journey_steps import advance, advance_due
from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, create_list
from autorelay_core.usecases.manage_templates import TemplateInput, create_template
from autorelay_core.usecases.record_activity import EventInput, record_contact_event
from tests.support import FakeClock, ManualQueue, RecordingMailer, make_deps
from tests.unit.test_send_email import live_key


@pytest.fixture
async def world(store):
    clock, mailer = FakeClock(), RecordingMailer()
    deps = make_deps(store, clock=clock, mailer=mailer, queue=ManualQueue())  # passes run when the test says
    await store.migrate()
    key = await live_key(deps)
    people = await create_list(deps, key, "People")
    templates = {}
    for name in ("welcome", "tips", "nudge", "last"):
        made = await create_template(
            deps, key, TemplateInput(name=name, subject=f"{name} {{{{ name }}}}", html=f"<p>{name}</p>")
        )
        templates[name] = made.id
    return deps, clock, mailer, key, people, templates


def welcome_series(t: dict[str, str]) -> dict:
    sender = "Acme <hello@acme.test>"
    return {
        "trigger": {"type": "event", "event": "signed_up"},
        "entry": {"rule": "once"},
        "goal": {"event": "upgraded"},
        "steps": [
            {"id": "welcome", "type": "send", "templateId": t["welcome"], "from": sender},
            {
                "id": "activation",
                "type": "wait_for_event",
                "event": "activated",
                "days": 3,
                "received": [{"id": "tips", "type": "send", "templateId": t["tips"], "from": sender}],
                "timedOut": [{"id": "nudge", "type": "send", "templateId": t["nudge"], "from": sender}],
            },
            {"id": "pause", "type": "wait", "days": 2},
            {"id": "last", "type": "send", "templateId": t["last"], "from": sender},
        ],
    }


def subjects(mailer, address: str) -> list[str]:
    return [m.subject.split()[0] for m in mailer.sent if m.to == (address,)]


async def event(deps, key, email: str, name: str):
    await record_contact_event(deps, key, EventInput(name=name, email=email))
    await drain(deps)


async def test_a_welcome_series_over_days_takes_each_person_their_own_way(world):
    deps, clock, mailer, key, people, t = world
    for name in ("ann", "bob", "cat"):
        await create_contact(deps, key, ContactInput(f"{name}@example.com", people.id, name.title()))
    journey = await uc.create_journey(deps, key, uc.JourneyInput("Welcome", welcome_series(t)))
    await uc.enable_journey(deps, key, journey.id)

    for name in ("ann", "bob", "cat"):
        await event(deps, key, f"{name}@example.com", "signed_up")
    assert {subjects(mailer, f"{n}@example.com")[0] for n in ("ann", "bob", "cat")} == {"welcome"}

    clock.advance(days=1)
    await event(deps, key, "ann@example.com", "activated")  # ann's branch goes on at once
    await event(deps, key, "cat@example.com", "upgraded")  # cat reached the goal: out
    assert subjects(mailer, "ann@example.com") == ["welcome", "tips"]

    clock.advance(days=2, hours=1)  # bob's three days are up; ann's two-day pause too
    await drain(deps)
    assert subjects(mailer, "bob@example.com") == ["welcome", "nudge"]
    assert subjects(mailer, "ann@example.com") == ["welcome", "tips", "last"]
    clock.advance(days=2)
    await drain(deps)
    assert subjects(mailer, "bob@example.com") == ["welcome", "nudge", "last"]
    assert subjects(mailer, "cat@example.com") == ["welcome"]

    # Each contact's path, step by step.
    ann = (await deps.storage.contacts.of_person(key.project_id, "ann@example.com"))[0]
    (path,) = await uc.contact_paths(deps, key, ann.id)
    assert path.run.state is RunState.DONE
    assert [(r.step_id, r.outcome) for r in path.records] == [
        ("welcome", "sent"),
        ("activation", "received"),
        ("tips", "sent"),
        ("pause", "done"),
        ("last", "sent"),
    ]
    cat = (await deps.storage.contacts.of_person(key.project_id, "cat@example.com"))[0]
    (path,) = await uc.contact_paths(deps, key, cat.id)
    assert path.run.state is RunState.EXITED and path.run.exit_reason == "goal" and path.run.step_id == "activation"

    (stats,) = await uc.journey_stats(deps, key, journey.id)
    by_step = {s.step_id: s for s in stats.steps}
    assert (stats.entered, stats.done, stats.exited, stats.active) == (3, 2, 1, 0)
    assert by_step["welcome"].sent == 3 and by_step["activation"].outcomes == {"received": 1, "timedOut": 1}
    assert by_step["activation"].exited == 1 and by_step["last"].passed == 2


async def test_the_entry_rule_decides_who_enters_again(world):
    deps, clock, mailer, key, people, t = world
    await create_contact(deps, key, ContactInput("dan@example.com", people.id))
    definition = {
        "trigger": {"type": "event", "event": "ordered"},
        "entry": {"rule": "once_per", "days": 7},
        "steps": [{"type": "send", "templateId": t["tips"], "from": "Acme <hello@acme.test>"}],
    }
    journey = await uc.create_journey(deps, key, uc.JourneyInput("Thanks", definition))
    await uc.enable_journey(deps, key, journey.id)
    await event(deps, key, "dan@example.com", "ordered")
    clock.advance(days=3)
    await event(deps, key, "dan@example.com", "ordered")  # within the week: not again
    assert subjects(mailer, "dan@example.com") == ["tips"]
    clock.advance(days=5)
    await event(deps, key, "dan@example.com", "ordered")
    assert subjects(mailer, "dan@example.com") == ["tips", "tips"]
    with pytest.raises(Conflict, match="entry rule"):
        await enter_by_call(deps, key, journey.id, "dan@example.com", None)


async def test_an_edit_makes_a_version_and_those_inside_finish_on_theirs(world):
    deps, clock, mailer, key, people, t = world
    await create_contact(deps, key, ContactInput("eve@example.com", people.id))
    await create_contact(deps, key, ContactInput("fay@example.com", people.id))
    sender = "Acme <hello@acme.test>"
    first = {
        "trigger": {"type": "api"},
        "steps": [
            {"id": "w", "type": "wait", "hours": 1},
            {"id": "s", "type": "send", "templateId": t["tips"], "from": sender},
        ],
    }
    journey = await uc.create_journey(deps, key, uc.JourneyInput("Drip", first))
    await uc.enable_journey(deps, key, journey.id)
    await enter_by_call(deps, key, journey.id, "eve@example.com", None)
    await drain(deps)
    second = {
        **first,
        "steps": [
            {"id": "w", "type": "wait", "hours": 1},
            {"id": "s", "type": "send", "templateId": t["nudge"], "from": sender},
        ],
    }
    edited = await uc.update_journey(deps, key, journey.id, uc.JourneyInput(definition=second))
    assert edited.version == 2
    await enter_by_call(deps, key, journey.id, "fay@example.com", None)
    await drain(deps)  # her wait starts
    clock.advance(hours=2)
    await drain(deps)
    assert subjects(mailer, "eve@example.com") == ["tips"]  # entered on version 1
    assert subjects(mailer, "fay@example.com") == ["nudge"]
    assert [s.version for s in await uc.journey_stats(deps, key, journey.id)] == [2, 1]


async def test_a_paused_journey_holds_everyone_where_they_are(world):
    deps, clock, mailer, key, people, t = world
    await create_contact(deps, key, ContactInput("gus@example.com", people.id))
    definition = {
        "trigger": {"type": "api"},
        "steps": [
            {"type": "wait", "hours": 1},
            {"type": "send", "templateId": t["tips"], "from": "Acme <hello@acme.test>"},
        ],
    }
    journey = await uc.create_journey(deps, key, uc.JourneyInput("Held", definition))
    await uc.enable_journey(deps, key, journey.id)
    await enter_by_call(deps, key, journey.id, "gus@example.com", None)
    await drain(deps)
    await uc.pause_journey(deps, key, journey.id)
    clock.advance(hours=3)
    await drain(deps)
    assert subjects(mailer, "gus@example.com") == []
    with pytest.raises(Conflict):
        await enter_by_call(deps, key, journey.id, "gus@example.com", None)
    await uc.enable_journey(deps, key, journey.id)
    await drain(deps)
    assert subjects(mailer, "gus@example.com") == ["tips"]


async def test_a_step_is_passed_once_even_when_a_second_claim_races_the_first(world):
    deps, clock, _mailer, key, people, t = world
    await create_contact(deps, key, ContactInput("hal@example.com", people.id))
    definition = {
        "trigger": {"type": "api"},
        "steps": [{"type": "send", "templateId": t["tips"], "from": "Acme <hello@acme.test>"}],
    }
    journey = await uc.create_journey(deps, key, uc.JourneyInput("Once", definition))
    journey = await uc.enable_journey(deps, key, journey.id)
    await enter_by_call(deps, key, journey.id, "hal@example.com", None)
    now = clock.now()
    (first,) = await deps.storage.journeys.claim_due(now, now + timedelta(seconds=1), 10)
    clock.advance(seconds=5)  # the first claimant stalls past its lease
    later = clock.now()
    (second,) = await deps.storage.journeys.claim_due(later, later + timedelta(seconds=60), 10)
    flow = flow_of(journey.id, journey.version, journey.definition)
    await advance(deps, journey, flow, second)
    await advance(deps, journey, flow, first)  # wakes up late: its moves are refused
    assert await advance_due(deps) == 0
    emails = [e for e in (await deps.storage.emails.page(key.project_id, _cursor())).items]
    assert len(emails) == 1


async def test_a_pass_moves_many_runs_together_and_one_over_the_quota_fails_alone(world):
    deps, _clock, _mailer, key, people, t = world
    deps = evolve(deps, config=evolve(deps.config, monthly_quota=3))  # three sends left this month
    made = [await create_contact(deps, key, ContactInput(f"q{n}@example.com", people.id)) for n in range(5)]
    definition = {
        "trigger": {"type": "api"},
        "steps": [
            {"id": "mail", "type": "send", "templateId": t["tips"], "from": "Acme <hello@acme.test>"},
            {"id": "end", "type": "exit"},
        ],
    }
    journey = await uc.create_journey(deps, key, uc.JourneyInput("Many", definition))
    await uc.enable_journey(deps, key, journey.id)
    for contact in made:
        await enter_by_call(deps, key, journey.id, None, contact.id)
    assert await advance_due(deps) == 5  # one pass, its moves together
    (stats,) = await uc.journey_stats(deps, key, journey.id)
    by_step = {s.step_id: s for s in stats.steps}
    assert by_step["mail"].outcomes == {"sent": 3, "failed": 2}
    assert by_step["end"].passed == 5 and stats.exited == 5


async def test_a_definition_with_a_problem_is_refused_with_its_path(world):
    deps, _clock, _mailer, key, _people, _t = world
    bad = {
        "trigger": {"type": "api"},
        "steps": [
            {
                "type": "condition",
                "filter": {"field": "email", "op": "eq", "value": "x"},
                "yes": [{"type": "wait", "days": 0}],
            }
        ],
    }
    with pytest.raises(Invalid, match=r"steps\[0\]\.yes\[0\]"):
        await uc.create_journey(deps, key, uc.JourneyInput("Bad", bad))
    missing = {"trigger": {"type": "api"}, "steps": [{"type": "send", "templateId": "tpl_nope", "from": "a@acme.test"}]}
    with pytest.raises(Exception, match="tpl_nope"):
        await uc.create_journey(deps, key, uc.JourneyInput("Missing", missing))


def _cursor():
    from autorelay_core.policies.pagination import CursorRequest

    return CursorRequest(limit=100)
