"""Segments: every store's evaluation of a filter equals the plain Python reading of it
(domain.segments.matches) on the same contacts, properties, lists, events and topic choices (a
Hypothesis property),
plus the rules around it: defaults count, a missing value compares false and `not` of it is true,
one contact per person, and the JSON is refused before it reaches a store."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autorelay_core.domain.activity import ContactEvent
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.properties import ContactProperty, PropertyType, merged
from autorelay_core.domain.segments import Person, matches, parse
from autorelay_core.domain.topics import Subscription, Topic, subscribed
from autorelay_core.errors import Invalid
from tests.contract.test_contact_storage import NOW

_projects = itertools.count()
PROPS = {
    "plan": ContactProperty("p1", "", "plan", PropertyType.TEXT, NOW, "free"),
    "seats": ContactProperty("p2", "", "seats", PropertyType.NUMBER, NOW),
    "vip": ContactProperty("p3", "", "vip", PropertyType.BOOLEAN, NOW, False),
    "renews": ContactProperty("p4", "", "renews", PropertyType.DATE, NOW),
}
LISTS = ("lst_a", "lst_b")
PEOPLE = ("ann@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com")
TEXTS = ("free", "pro", "Pro", "team", "", "é", "zz")
DATES = ("2026-01-01", "2026-06-30", "2027-02-28")
NAMES = ("signed_up", "upgraded")
TOPICS = {"top_in": Subscription.OPT_IN, "top_out": Subscription.OPT_OUT}  # "top_gone": not the project's

values = {
    "plan": st.sampled_from(TEXTS),
    "seats": st.one_of(st.integers(-3, 30), st.sampled_from([2.5, 0.1])),
    "vip": st.booleans(),
    "renews": st.sampled_from(DATES),
}
contact_data = st.fixed_dictionaries(
    {
        "person": st.sampled_from(PEOPLE),
        "list": st.sampled_from(LISTS),
        "name": st.sampled_from([None, "Ann", "Bob", "ann"]),
        "status": st.sampled_from([ContactStatus.SUBSCRIBED, ContactStatus.UNSUBSCRIBED]),
        "days_old": st.integers(0, 400),
        "properties": st.fixed_dictionaries({}, optional=values),
    }
)
event_data = st.tuples(
    st.sampled_from(PEOPLE),
    st.sampled_from([*NAMES, "email.opened"]),
    st.integers(0, 60),
    st.sampled_from([None, "cmp_1", "cmp_2"]),
)


# (field or property, name, the ops tried on it, the values tried)
COMPARISONS = [
    ("field", "email", ["eq", "ne", "gt", "lt", "contains", "starts_with"], ["ann@example.com", "a", "b"]),
    ("field", "name", ["eq", "ne", "lt", "contains", "starts_with", "exists", "missing"], ["Ann", "a", ""]),
    ("field", "status", ["eq", "ne"], ["subscribed", "unsubscribed"]),
    ("field", "created_at", ["gte", "lt", "eq"], ["2025-12-01", "2026-11-01"]),
    ("property", "plan", ["eq", "ne", "gte", "lt", "contains", "starts_with", "exists", "missing"], list(TEXTS)),
    ("property", "seats", ["eq", "ne", "gt", "gte", "lt", "lte", "exists", "missing"], [0, 2, 2.5, 10]),
    ("property", "vip", ["eq", "ne", "exists", "missing"], [True, False]),
    ("property", "renews", ["eq", "gt", "lte", "missing"], list(DATES)),
]


def compare():
    def one(spec):
        kind, name, ops, tried = spec
        return st.tuples(st.just(kind), st.just(name), st.sampled_from(ops), st.sampled_from(tried))

    def build(parts):
        kind, name, op, value = parts
        node = {kind: name, "op": op}
        if op not in ("exists", "missing"):
            node["value"] = value
        return node

    return st.one_of([one(spec) for spec in COMPARISONS]).map(build)


leaves = st.one_of(
    compare(),
    st.sampled_from(LISTS).map(lambda list_id: {"list": list_id}),
    st.tuples(st.sampled_from(NAMES), st.integers(1, 3), st.sampled_from([7, 30, 365])).map(
        lambda t: {"event": t[0], "atLeast": t[1], "days": t[2]}
    ),
    st.tuples(st.sampled_from(["cmp_1", "cmp_2"]), st.just("opened")).map(lambda t: {"campaign": t[0], "did": t[1]}),
    st.sampled_from([*TOPICS, "top_gone"]).map(lambda topic: {"topic": topic}),
)
choice_data = st.tuples(st.sampled_from(PEOPLE), st.sampled_from(list(TOPICS)), st.booleans())
filters = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"and": parts}),
        st.lists(inner, min_size=1, max_size=3).map(lambda parts: {"or": parts}),
        inner.map(lambda part: {"not": part}),
    ),
    max_leaves=6,
)


def _topics(project: str) -> list[Topic]:
    return [Topic(f"{project}_{name}", project, name, default, NOW, NOW) for name, default in TOPICS.items()]


async def seed(store, project: str, contacts: list[dict], events: list[tuple], choices=()) -> list[Contact]:
    for list_id in LISTS:
        await store.lists.add(ContactList(f"{project}_{list_id}", project, list_id, NOW))
    for topic in _topics(project):
        await store.topics.add(topic)
    for person, topic, joined in choices:  # later choices replace earlier ones, as in the store
        await store.topics.choose(project, person, {f"{project}_{topic}": joined}, NOW)
    for prop in PROPS.values():
        await store.properties.add(
            ContactProperty(f"{project}_{prop.key}", project, prop.key, prop.type, NOW, prop.default)
        )
    stored = []
    for n, data in enumerate(contacts):
        contact = Contact(
            f"con_{project}_{n}", project, f"{project}_{data['list']}", data["person"],
            NOW - timedelta(days=data["days_old"]), data["name"], None, data["status"], dict(data["properties"]),
        )  # fmt: skip
        if any(c.list_id == contact.list_id and c.email_key == contact.email_key for c in stored):
            continue  # one address per list, as the store insists
        await store.contacts.add(contact)
        stored.append(contact)
    for n, (person, name, days_ago, campaign) in enumerate(events):
        at = NOW - timedelta(days=days_ago, minutes=1)
        await store.contact_events.add(
            ContactEvent(f"cev_{project}_{n}", project, person, name, at, campaign_id=campaign)
        )
    return stored


def python_reading(tree, project: str, stored: list[Contact], events: list[tuple], choices=()) -> list[str]:
    """Who the filter picks, read by domain.segments.matches: the oldest matching contact per person."""
    node = parse(_localised(tree, project), PROPS, NOW)
    made = {(person, f"{project}_{topic}"): joined for person, topic, joined in choices}
    chosen: dict[str, str] = {}
    for contact in stored:
        gets = frozenset(t.id for t in _topics(project) if subscribed(t, made.get((contact.email_key, t.id))))
        person = Person(
            fields={
                "email": contact.email, "name": contact.name, "company": contact.company,
                "status": contact.status.value, "created_at": contact.created_at,
            },
            properties=merged(PROPS, contact.properties),
            lists=frozenset(c.list_id for c in stored if c.email_key == contact.email_key),
            events=tuple(
                (name, NOW - timedelta(days=ago, minutes=1), campaign)
                for who, name, ago, campaign in events if who == contact.email_key
            ),
            topics=gets,
        )  # fmt: skip
        if contact.email_key not in chosen and matches(node, person):
            chosen[contact.email_key] = contact.id
    return list(chosen.values())


def _localised(tree, project: str):
    """List ids in the filter as the seeded project names them."""
    if isinstance(tree, dict):
        return {k: (f"{project}_{v}" if k in ("list", "topic") else _localised(v, project)) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_localised(v, project) for v in tree]
    return tree


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    contacts=st.lists(contact_data, min_size=1, max_size=8),
    events=st.lists(event_data, max_size=10),
    choices=st.lists(choice_data, max_size=6),
    tree=filters,
)
def test_the_stores_evaluation_equals_the_python_reading(make_storage, contacts, events, choices, tree):
    project = f"prj_seg_{next(_projects)}"

    async def run() -> tuple[list[str], int, list[str]]:
        store = make_storage()
        try:
            stored = await seed(store, project, contacts, events, choices)
            declared = {p.key: p for p in await store.properties.all(project)}
            node = parse(_localised(tree, project), declared, NOW)
            found = await store.contacts.matching(project, node, 1000)
            count = await store.contacts.count_matching(project, node)
            return [c.id for c in found], count, python_reading(tree, project, stored, events, choices)
        finally:
            await store.close()

    found, count, expected = asyncio.run(run())
    assert found == expected, tree
    assert count == len(expected)


def test_filters_are_refused_with_the_place_named():
    deep: dict = {"list": "x"}
    for _ in range(9):
        deep = {"not": deep}
    cases = [
        ({"and": []}, "filter.and must be a non-empty list"),
        ({"or": [{"field": "email", "op": "eq", "value": "a"}, {"nope": 1}]}, "filter.or[1] has no condition"),
        ({"field": "phone", "op": "eq", "value": "1"}, "filter.field must be one of"),
        ({"property": "plan", "op": "gt", "value": 3}, "filter.value must be text"),
        ({"property": "colour", "op": "eq", "value": "x"}, "no contact property 'colour'"),
        ({"property": "seats", "op": "contains", "value": 1}, "applies to text only"),
        ({"property": "vip", "op": "gt", "value": True}, "does not apply to a boolean"),
        ({"property": "seats", "op": "exists", "value": 1}, "exists takes no value"),
        ({"event": "x", "atLeast": 0}, "filter.atLeast must be a whole number from 1"),
        ({"event": "x", "days": 99999}, "filter.days must be a whole number"),
        ({"campaign": "cmp_1", "did": "liked"}, "filter.did must be one of"),
        ({"list": "lst_a", "field": "email"}, "unknown or clashing keys: field"),
        (
            {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"not": {"list": "x"}}}}}}}}}},
            "nest at most",
        ),
        ("SELECT 1", "filter must be an object"),
    ]
    for tree, problem in cases:
        with pytest.raises(Invalid) as refused:
            parse(tree, PROPS, NOW)
        assert problem in refused.value.message, (tree, refused.value.message)
    with pytest.raises(Invalid, match="at most 100 conditions"):
        parse({"or": [{"list": "a"}] * 101}, PROPS, NOW)


async def test_a_segment_campaigns_recipients_are_one_subscribed_contact_per_person(store):
    project = "prj_rcpt"

    def row(person: str, list_id: str, status: ContactStatus, days_old: int, **properties) -> dict:
        return {"person": person, "list": list_id, "name": None, "status": status, "days_old": days_old,
                "properties": properties}  # fmt: skip

    rows = [
        row("ann@example.com", "lst_a", ContactStatus.UNSUBSCRIBED, 3, plan="pro"),
        row("ann@example.com", "lst_b", ContactStatus.SUBSCRIBED, 1, plan="pro"),
        row("bob@example.com", "lst_a", ContactStatus.SUBSCRIBED, 2),
    ]
    stored = await seed(store, project, rows, [])
    node = parse({"property": "plan", "op": "eq", "value": "pro"}, PROPS, NOW)
    assert [c.id for c in await store.contacts.matching(project, node, 10)] == [stored[0].id]
    chosen = await store.contacts.matching(project, node, 10, subscribed_only=True)
    assert [c.id for c in chosen] == [stored[1].id]  # ann's subscribed contact, once
    defaulted = parse({"property": "plan", "op": "eq", "value": "free"}, PROPS, NOW)  # bob has the default
    assert [c.email for c in await store.contacts.matching(project, defaulted, 10)] == ["bob@example.com"]
    assert await store.contacts.count_matching(project, parse({"not": {"list": f"{project}_lst_b"}}, PROPS, NOW)) == 1
