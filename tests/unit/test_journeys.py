"""Journeys over the memory store: the definition's checks and its reading (Hypothesis), each step
kind as a contact sees it, and each trigger."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from attrs import evolve
from hypothesis import given
from hypothesis import strategies as st

from autorelay_core.domain.journeys import BRANCHES, RunState, next_time_of_day, parse
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_journeys as uc
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.journey_entry import enter_by_call, scan_triggers
from autorelay_core.usecases.journey_preview import dry_run, supposed_events
from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, create_list, delete_contact
from autorelay_core.usecases.manage_properties import PropertyInput, create_property
from autorelay_core.usecases.manage_segments import SegmentInput, create_segment
from autorelay_core.usecases.manage_templates import TemplateInput, create_template
from autorelay_core.usecases.manage_topics import TopicInput, create_topic, person_topics
from autorelay_core.usecases.manage_webhooks import WebhookInput, create_webhook
from tests.support import FakeClock, ManualQueue, RecordingMailer, make_deps
from tests.unit.test_send_email import live_key
from tests.unit.test_webhooks import PublicDns

SENDER = "Acme <hello@acme.test>"


@pytest.fixture
async def world():
    clock, mailer = FakeClock(), RecordingMailer()
    deps = evolve(make_deps(clock=clock, mailer=mailer, queue=ManualQueue()), dns=PublicDns())
    key = await live_key(deps)
    people = await create_list(deps, key, "People")
    template = await create_template(deps, key, TemplateInput(name="hi", subject="Hi {{ name }}", html="<p>Hi</p>"))
    return deps, clock, mailer, key, people, template.id


async def _journey(deps, key, steps, trigger=None, **more):
    definition = {"trigger": trigger or {"type": "api"}, "steps": steps, **more}
    journey = await uc.create_journey(deps, key, uc.JourneyInput("J", definition))
    return await uc.enable_journey(deps, key, journey.id)


async def _path(deps, key, contact_id):
    (path,) = await uc.contact_paths(deps, key, contact_id)
    return path.run, [(r.step_id, r.outcome) for r in path.records]


# -- the definition ------------------------------------------------------------------------------

_LEAF = st.sampled_from(
    [
        {"type": "wait", "minutes": 5},
        {"type": "exit"},
        {"type": "webhook", "webhookId": "w"},
        {"type": "send", "templateId": "t", "from": "a@b.test"},
    ]
)
_STEPS = st.recursive(
    st.lists(_LEAF, min_size=0, max_size=3),
    lambda inner: st.lists(
        st.one_of(
            _LEAF,
            st.builds(lambda y, n: {"type": "condition", "filter": {"list": "l"}, "yes": y, "no": n}, inner, inner),
            st.builds(
                lambda r, t: {"type": "wait_for_event", "event": "e", "hours": 1, "received": r, "timedOut": t},
                inner,
                inner,
            ),
        ),
        min_size=0,
        max_size=3,
    ),
    max_leaves=20,
)


@given(steps=_STEPS.filter(bool), choices=st.lists(st.sampled_from(["yes", "no", "received", "timedOut"]), max_size=60))
def test_every_way_through_a_journey_ends_and_passes_each_step_at_most_once(steps, choices):
    flow, stored = parse({"trigger": {"type": "api"}, "steps": steps})
    ids = [s.id for s in flow.all_steps()]
    assert len(ids) == len(set(ids)), "ids are unique"
    assert parse(stored)[1] == stored, "the stored definition reads back as itself"
    seen, at, picks = [], flow.first, iter(choices)
    while at is not None:
        assert at not in seen
        seen.append(at)
        step = flow.step(at)
        branches = BRANCHES[step.type]
        at = flow.after(at, next((c for c in picks if c in branches), branches[0]) if branches else None)
    assert len(seen) <= len(ids)


@pytest.mark.parametrize(
    ("definition", "named"),
    [
        ({"trigger": {"type": "api"}, "steps": []}, "steps"),
        ({"trigger": {"type": "nope"}, "steps": [{"type": "exit"}]}, "trigger.type"),
        ({"trigger": {"type": "api"}, "steps": [{"type": "wait"}]}, "steps[0]"),
        ({"trigger": {"type": "api"}, "steps": [{"type": "wait", "days": 400}]}, "steps[0]"),
        ({"trigger": {"type": "api"}, "steps": [{"type": "wait_until", "time": "25:00"}]}, "steps[0].time"),
        (
            {"trigger": {"type": "api"}, "steps": [{"type": "wait_until", "time": "09:00", "timezone": "Mars/Base"}]},
            "timezone",
        ),
        (
            {"trigger": {"type": "api"}, "steps": [{"type": "exit", "id": "a"}, {"type": "exit", "id": "a"}]},
            "steps[1].id",
        ),
        ({"trigger": {"type": "api"}, "steps": [{"type": "exit", "sneaky": 1}]}, "'sneaky'"),
        (
            {
                "trigger": {"type": "segment", "segmentId": "s"},
                "entry": {"rule": "every_time"},
                "steps": [{"type": "exit"}],
            },
            "entry.rule",
        ),
        ({"trigger": {"type": "event", "event": "email.opened"}, "steps": [{"type": "exit"}]}, "trigger.event"),
        ({"trigger": {"type": "api"}, "entry": {"rule": "once_per"}, "steps": [{"type": "exit"}]}, "entry.days"),
    ],
)
def test_a_bad_definition_is_refused_naming_where(definition, named):
    with pytest.raises(Invalid) as refused:
        parse(definition)
    assert named in refused.value.message


def test_deep_branches_are_refused_not_a_crash():
    steps: list = [{"type": "exit"}]
    for _ in range(500):
        steps = [{"type": "condition", "filter": {}, "yes": steps}]
    with pytest.raises(Invalid, match="nest at most"):
        parse({"trigger": {"type": "api"}, "steps": steps})


def test_a_time_of_day_is_the_next_one_on_the_contacts_clock_across_a_dst_change():
    paris = ZoneInfo("Europe/Paris")
    before = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)  # the clocks go forward on the night of the 29th
    assert next_time_of_day(before, "09:00", paris) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 09:00 CEST
    assert next_time_of_day(before, "13:30", paris) == datetime(2026, 3, 28, 12, 30, tzinfo=UTC)  # today, CET
    # 02:30 does not exist on the 29th in Paris: the run goes at the jump, not a day late.
    at = next_time_of_day(datetime(2026, 3, 29, 0, 0, tzinfo=UTC), "02:30", paris)
    assert datetime(2026, 3, 29, 0, 0, tzinfo=UTC) <= at <= datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


# -- the steps, as a contact sees them -----------------------------------------------------------


async def test_a_condition_reads_the_contact_and_takes_its_branch(world):
    deps, _clock, mailer, key, people, tpl = world
    await create_property(deps, key, PropertyInput("plan", "text"))
    pro = await create_contact(deps, key, ContactInput("pro@example.com", people.id, properties={"plan": "pro"}))
    free = await create_contact(deps, key, ContactInput("free@example.com", people.id, properties={"plan": "free"}))
    steps = [
        {
            "id": "plan",
            "type": "condition",
            "filter": {"property": "plan", "op": "eq", "value": "pro"},
            "yes": [{"id": "thanks", "type": "send", "templateId": tpl, "from": SENDER}],
            "no": [{"id": "upsell", "type": "set_property", "property": "plan", "value": "trial"}],
        },
        {"id": "end", "type": "exit"},
    ]
    journey = await _journey(deps, key, steps)
    for contact in (pro, free):
        await enter_by_call(deps, key, journey.id, None, contact.id)
    await drain(deps)
    assert (await _path(deps, key, pro.id))[1] == [("plan", "yes"), ("thanks", "sent"), ("end", "exited")]
    assert (await _path(deps, key, free.id))[1] == [("plan", "no"), ("upsell", "done"), ("end", "exited")]
    assert (await deps.storage.contacts.get(key.project_id, free.id)).properties["plan"] == "trial"
    assert [m.to for m in mailer.sent] == [("pro@example.com",)]


async def test_list_topic_and_webhook_steps_change_the_person_and_queue_a_signed_post(world):
    deps, _clock, _mailer, key, people, _tpl = world
    vip = await create_list(deps, key, "VIP")
    topic = await create_topic(deps, key, TopicInput("News", "", "opt_out"))
    hook, _ = await create_webhook(deps, key, WebhookInput("https://hooks.example.com/j", ["email.sent"]))
    ann = await create_contact(deps, key, ContactInput("ann@example.com", people.id, "Ann"))
    steps = [
        {"type": "add_to_list", "listId": vip.id},
        {"type": "set_topic", "topicId": topic.id, "subscribed": True},
        {"type": "remove_from_list", "listId": people.id},
        {"type": "webhook", "webhookId": hook.id},
    ]
    journey = await _journey(deps, key, steps)
    await enter_by_call(deps, key, journey.id, "ann@example.com", None)
    await drain(deps)
    theirs = await deps.storage.contacts.of_person(key.project_id, "ann@example.com")
    assert [c.list_id for c in theirs] == [vip.id]  # joined VIP, left People
    assert [t.subscribed for t in await person_topics(deps, key.project_id, "ann@example.com")] == [True]
    run, passed = await _path(deps, key, theirs[0].id)
    assert run.state is RunState.DONE and [o for _, o in passed] == ["done"] * 4
    posted = deps.webhook_poster.posted
    assert [url for url, _, _ in posted] == ["https://hooks.example.com/j"]
    body = json.loads(posted[0][2])
    assert body["type"] == "journey.step" and body["data"]["contact"]["email"] == "ann@example.com"
    assert body["data"]["journey_id"] == journey.id and ann.id != theirs[0].id


async def test_a_send_to_someone_who_left_is_skipped_and_a_deleted_contact_ends_the_run(world):
    deps, clock, mailer, key, people, tpl = world
    gone = await create_contact(deps, key, ContactInput("gone@example.com", people.id))
    left = await create_contact(deps, key, ContactInput("left@example.com", people.id))
    steps = [{"type": "wait", "hours": 1}, {"id": "mail", "type": "send", "templateId": tpl, "from": SENDER}]
    journey = await _journey(deps, key, steps)
    for contact in (gone, left):
        await enter_by_call(deps, key, journey.id, None, contact.id)
    await drain(deps)
    await deps.storage.contacts.unsubscribe(key.project_id, left.id, people.id)
    await delete_contact(deps, key, gone.id)
    clock.advance(hours=2)
    await drain(deps)
    assert mailer.sent == []
    run, passed = await _path(deps, key, left.id)
    assert passed[-1] == ("mail", "skipped") and run.state is RunState.DONE
    runs = await deps.storage.journeys.runs_of(key.project_id, "gone@example.com", 5)
    assert runs[0].state is RunState.EXITED and runs[0].exit_reason == "the contact was deleted"


async def test_a_send_over_the_quota_fails_that_step_and_the_journey_goes_on(world):
    deps, _clock, _mailer, key, people, tpl = world
    deps = evolve(deps, config=evolve(deps.config, monthly_quota=0))
    ann = await create_contact(deps, key, ContactInput("ann@example.com", people.id))
    steps = [{"id": "mail", "type": "send", "templateId": tpl, "from": SENDER}, {"id": "after", "type": "exit"}]
    journey = await _journey(deps, key, steps)
    await enter_by_call(deps, key, journey.id, None, ann.id)
    await drain(deps)
    _run, passed = await _path(deps, key, ann.id)
    assert passed == [("mail", "failed"), ("after", "exited")]
    assert "quota" in (await uc.contact_paths(deps, key, ann.id))[0].records[0].detail


async def test_wait_until_goes_at_the_time_on_the_contacts_own_clock(world):
    deps, clock, mailer, key, people, tpl = world
    await create_property(deps, key, PropertyInput("tz", "text"))
    clock.moment = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    tokyo = await create_contact(deps, key, ContactInput("t@example.com", people.id, properties={"tz": "Asia/Tokyo"}))
    nowhere = await create_contact(deps, key, ContactInput("n@example.com", people.id, properties={"tz": "Mars/Base"}))
    steps = [
        {"type": "wait_until", "time": "09:00", "timezoneProperty": "tz", "timezone": "America/New_York"},
        {"type": "send", "templateId": tpl, "from": SENDER},
    ]
    journey = await _journey(deps, key, steps)
    for contact in (tokyo, nowhere):
        await enter_by_call(deps, key, journey.id, None, contact.id)
    await drain(deps)
    runs = {r.email_key: r for r in await deps.storage.journeys.runs_of(key.project_id, "t@example.com", 1)}
    runs |= {r.email_key: r for r in await deps.storage.journeys.runs_of(key.project_id, "n@example.com", 1)}
    assert runs["t@example.com"].due_at == datetime(2026, 6, 2, 0, 0, tzinfo=UTC)  # 09:00 in Tokyo
    assert runs["n@example.com"].due_at == datetime(2026, 6, 1, 13, 0, tzinfo=UTC)  # 09:00 in New York, the fallback
    clock.moment = datetime(2026, 6, 1, 13, 0, tzinfo=UTC)
    await drain(deps)
    assert [m.to for m in mailer.sent] == [("n@example.com",)]


# -- the triggers --------------------------------------------------------------------------------


async def test_joining_a_list_enters_its_journey_once_per_contact(world):
    deps, _clock, mailer, key, people, tpl = world
    journey = await _journey(
        deps, key, [{"type": "send", "templateId": tpl, "from": SENDER}], trigger={"type": "list", "listId": people.id}
    )
    await create_contact(deps, key, ContactInput("a@example.com", people.id))
    await uc.pause_journey(deps, key, journey.id)
    await create_contact(deps, key, ContactInput("b@example.com", people.id))  # paused: nobody enters
    await uc.enable_journey(deps, key, journey.id)
    await drain(deps)
    assert [m.to for m in mailer.sent] == [("a@example.com",)]


async def test_segment_and_date_triggers_enter_whoever_comes_due_when_scanned(world):
    deps, clock, mailer, key, people, tpl = world
    await create_property(deps, key, PropertyInput("renews", "date"))
    await create_property(deps, key, PropertyInput("score", "number"))
    segment = await create_segment(deps, key, SegmentInput("Hot", {"property": "score", "op": "gte", "value": 50}))
    send = [{"type": "send", "templateId": tpl, "from": SENDER}]
    await _journey(deps, key, send, trigger={"type": "segment", "segmentId": segment.id})
    today = clock.now().date()
    await _journey(deps, key, send, trigger={"type": "date", "property": "renews", "offsetDays": -7})
    await create_contact(deps, key, ContactInput("hot@example.com", people.id, properties={"score": 80}))
    await create_contact(deps, key, ContactInput("cold@example.com", people.id, properties={"score": 10}))
    renews = today.replace(day=today.day) + (datetime(2026, 1, 8) - datetime(2026, 1, 1))
    await create_contact(
        deps, key, ContactInput("renew@example.com", people.id, properties={"renews": renews.isoformat()})
    )
    assert await scan_triggers(deps) == 2
    assert await scan_triggers(deps) == 0  # each once: the segment's rule is once
    await drain(deps)
    assert sorted(m.to[0] for m in mailer.sent) == ["hot@example.com", "renew@example.com"]


async def test_a_test_run_follows_the_contact_on_a_fast_clock_and_changes_nothing(world):
    deps, clock, mailer, key, people, tpl = world
    await create_property(deps, key, PropertyInput("plan", "text"))
    ann = await create_contact(deps, key, ContactInput("ann@example.com", people.id, properties={"plan": "pro"}))
    definition = {
        "trigger": {"type": "api"},
        "goal": {"event": "upgraded"},
        "steps": [
            {"id": "hello", "type": "send", "templateId": tpl, "from": SENDER},
            {"id": "check", "type": "condition", "filter": {"property": "plan", "op": "eq", "value": "pro"},
             "yes": [{"id": "wait", "type": "wait_for_event", "event": "activated", "days": 2}]},
            {"id": "later", "type": "wait", "days": 3},
            {"id": "again", "type": "send", "templateId": tpl, "from": SENDER},
        ],
    }  # fmt: skip
    start = clock.now()
    quiet = await dry_run(deps, key, definition, ann.id, [], start)
    assert [(h.step_id, h.outcome) for h in quiet] == [
        ("hello", "sent"), ("check", "yes"), ("wait", "timedOut"), ("later", "done"), ("again", "sent")
    ]  # fmt: skip
    assert quiet[-1].at - start == timedelta(days=5)
    supposed = supposed_events([{"name": "activated", "hours": 5}, {"name": "upgraded", "hours": 30}])
    busy = await dry_run(deps, key, definition, ann.id, supposed, start)
    assert [(h.step_id, h.outcome) for h in busy] == [
        ("hello", "sent"), ("check", "yes"), ("wait", "received"), ("later", "exited")
    ]  # fmt: skip
    assert busy[-1].at - start == timedelta(hours=30)
    assert mailer.sent == [] and await deps.storage.journeys.runs_of(key.project_id, "ann@example.com", 5) == []
