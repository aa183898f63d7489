"""Segments: saved filters over a project's contacts, in a JSON tree (never SQL from the user).

    {"and": [F, ...]}   {"or": [F, ...]}   {"not": F}
    {"field": "email" | "name" | "company" | "status" | "created_at", "op": OP, "value": V}
    {"property": KEY, "op": OP, "value": V}          a declared contact property (its default counts)
    {"list": LIST_ID}                                the person is in that list
    {"topic": TOPIC_ID}                              the person gets that topic (by choice or default)
    {"event": NAME, "atLeast": N, "days": D}         did NAME at least N times in the last D days
    {"campaign": CAMPAIGN_ID, "did": "sent" | "delivered" | "opened" | "clicked" | "bounced"
                                     | "complained" | "unsubscribed"}

OP is one of eq, ne, gt, gte, lt, lte, contains, starts_with, exists, missing (exists and missing
take no value). Text compares exactly (case and all, in code point order); numbers as numbers;
dates (YYYY-MM-DD) in time order, created_at as the date (UTC) the contact was added. A condition
on a value the contact does not have (no value and no default) is false, and `not` of it is true:
two-valued, whatever the store.

`parse` turns the JSON into the typed tree below, refusing anything else with a message naming the
path of the problem (`and[1].op`); stores compile the tree (never the JSON) to their queries, and
`matches` is the plain Python reading every store must agree with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from attrs import define, frozen

from autorelay_core.domain.activity import ENGAGEMENT_NAMES
from autorelay_core.domain.properties import ContactProperty, PropertyType, Value, coerce
from autorelay_core.errors import Invalid

MAX_DEPTH = 8
MAX_NODES = 100
MAX_DAYS = 3650
FIELDS = {"email": "text", "name": "text", "company": "text", "status": "text", "created_at": "date"}
OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "contains", "starts_with", "exists", "missing")
_TEXT_OPS = ("contains", "starts_with")
_ORDER_OPS = ("gt", "gte", "lt", "lte")
DID = {name.split(".", 1)[1]: name for name in ENGAGEMENT_NAMES}  # "opened" -> "email.opened"


@frozen
class And:
    parts: tuple[Node, ...]


@frozen
class Or:
    parts: tuple[Node, ...]


@frozen
class Not:
    part: Node


@frozen
class Compare:
    """A contact's field or property against a value. `kind`: text, number, boolean or date;
    `default` stands in for a missing property."""

    field: str | None  # a contact field, or
    key: str | None  # a property
    op: str
    value: Value | None
    kind: str
    default: Value | None = None


@frozen
class InList:
    list_id: str


@frozen
class InTopic:
    """The person gets the topic's mail: their choice, or the topic's default without one (a topic
    that is not the project's: nobody)."""

    topic_id: str


@frozen
class DidEvent:
    name: str
    at_least: int
    since: datetime  # the last D days, as of when the segment was evaluated


@frozen
class Engaged:
    campaign_id: str
    event: str  # "email.opened", "contact.unsubscribed", ...


Node = And | Or | Not | Compare | InList | InTopic | DidEvent | Engaged


@define
class Segment:
    id: str
    project_id: str
    name: str
    filter: dict[str, Any]  # as given, checked by `parse` when saved and parsed again when used
    created_at: datetime
    updated_at: datetime


def parse(tree: Any, properties: dict[str, ContactProperty], now: datetime) -> Node:
    """The filter as a typed tree, checked against the project's properties; Invalid naming where."""
    counter = [0]
    return _parse(tree, properties, now, "filter", 0, counter)


def _parse(tree: Any, props: dict[str, ContactProperty], now: datetime, at: str, depth: int, count: list[int]) -> Node:
    count[0] += 1
    if count[0] > MAX_NODES:
        raise Invalid(f"a filter may have at most {MAX_NODES} conditions", field="filter")
    if depth > MAX_DEPTH:
        raise Invalid(f"a filter may nest at most {MAX_DEPTH} levels", field=at)
    if not isinstance(tree, dict) or not tree:
        raise Invalid(f'{at} must be an object such as {{"and": [...]}} or {{"field": ...}}', field=at)
    if "and" in tree or "or" in tree:
        (name,) = _only(tree, {"and", "or"} & tree.keys(), at)
        parts = tree[name]
        if not isinstance(parts, list) or not parts:
            raise Invalid(f"{at}.{name} must be a non-empty list of conditions", field=f"{at}.{name}")
        nodes = tuple(_parse(p, props, now, f"{at}.{name}[{i}]", depth + 1, count) for i, p in enumerate(parts))
        return And(nodes) if name == "and" else Or(nodes)
    if "not" in tree:
        _only(tree, {"not"}, at)
        return Not(_parse(tree["not"], props, now, f"{at}.not", depth + 1, count))
    if "list" in tree:
        _only(tree, {"list"}, at)
        return InList(_text(tree["list"], f"{at}.list"))
    if "topic" in tree:
        _only(tree, {"topic"}, at)
        return InTopic(_text(tree["topic"], f"{at}.topic"))
    if "event" in tree:
        _only(tree, {"event", "atLeast", "days"}, at)
        times = _whole(tree.get("atLeast", 1), f"{at}.atLeast", 1, 1_000_000)
        days = _whole(tree.get("days", MAX_DAYS), f"{at}.days", 1, MAX_DAYS)
        return DidEvent(_text(tree["event"], f"{at}.event"), times, now - timedelta(days=days))
    if "campaign" in tree:
        _only(tree, {"campaign", "did"}, at)
        did = tree.get("did")
        if did not in DID:
            raise Invalid(f"{at}.did must be one of {', '.join(DID)}", field=f"{at}.did")
        return Engaged(_text(tree["campaign"], f"{at}.campaign"), DID[did])
    if "field" in tree or "property" in tree:
        return _compare(tree, props, at)
    raise Invalid(f"{at} has no condition: use and, or, not, field, property, list, topic, event or campaign", field=at)


def _only(tree: dict[str, Any], allowed: set[str], at: str) -> list[str]:
    extra = set(tree) - allowed
    if extra:
        raise Invalid(f"{at} has unknown or clashing keys: {', '.join(sorted(extra))}", field=at)
    return sorted(set(tree) & allowed)


def _text(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise Invalid(f"{at} must be a non-empty string", field=at)
    return value


def _whole(value: Any, at: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{at} must be a whole number from {low} to {high}", field=at)
    return value


def _compare(tree: dict[str, Any], props: dict[str, ContactProperty], at: str) -> Compare:
    _only(tree, {"field", "property", "op", "value"}, at)
    op = tree.get("op")
    if op not in OPS:
        raise Invalid(f"{at}.op must be one of {', '.join(OPS)}", field=f"{at}.op")
    if "field" in tree:
        field, key, default = tree["field"], None, None
        if field not in FIELDS:
            raise Invalid(f"{at}.field must be one of {', '.join(FIELDS)}", field=f"{at}.field")
        kind = FIELDS[field]
    else:
        field, key = None, tree["property"]
        found = props.get(key) if isinstance(key, str) else None
        if found is None:
            raise Invalid(f"{at}.property: no contact property {key!r} is declared", field=f"{at}.property")
        kind, default = found.type.value, found.default
    if op in ("exists", "missing"):
        if "value" in tree:
            raise Invalid(f"{at}.value: {op} takes no value", field=f"{at}.value")
        return Compare(field, key, op, None, kind, default)
    if op in _TEXT_OPS and kind != "text":
        raise Invalid(f"{at}.op {op} applies to text only", field=f"{at}.op")
    if op in _ORDER_OPS and kind == "boolean":
        raise Invalid(f"{at}.op {op} does not apply to a boolean", field=f"{at}.op")
    value = _value(kind, tree.get("value"), f"{at}.value")
    return Compare(field, key, op, value, kind, default)


def _value(kind: str, value: Any, at: str) -> Value:
    return coerce(PropertyType(kind), value, at)


# -- the plain Python reading ---------------------------------------------------------------------


@frozen
class Person:
    """What `matches` reads of one contact: its fields, its properties as read (with defaults), the
    lists its address is in, its address's events as (name, when, campaign), and the topics its
    address gets."""

    fields: dict[str, Any]
    properties: dict[str, Value | None]
    lists: frozenset[str]
    events: tuple[tuple[str, datetime, str | None], ...]
    topics: frozenset[str] = frozenset()


def matches(node: Node, person: Person) -> bool:
    if isinstance(node, And):
        return all(matches(part, person) for part in node.parts)
    if isinstance(node, Or):
        return any(matches(part, person) for part in node.parts)
    if isinstance(node, Not):
        return not matches(node.part, person)
    if isinstance(node, InList):
        return node.list_id in person.lists
    if isinstance(node, InTopic):
        return node.topic_id in person.topics
    if isinstance(node, DidEvent):
        return sum(1 for name, at, _ in person.events if name == node.name and at >= node.since) >= node.at_least
    if isinstance(node, Engaged):
        return any(name == node.event and campaign == node.campaign_id for name, _, campaign in person.events)
    return _holds(node, person)


def _holds(node: Compare, person: Person) -> bool:
    if node.field is not None:
        have = person.fields.get(node.field)
        if node.field == "created_at" and isinstance(have, datetime):
            have = have.astimezone(UTC).date().isoformat()
    else:
        have = person.properties.get(node.key or "")
        if have is None:
            have = node.default
    if have == "" and node.field is not None:  # an empty name or company is no name
        have = None
    if node.op == "exists":
        return have is not None
    if node.op == "missing":
        return have is None
    if have is None:
        return False
    want = node.value
    if node.kind == "boolean":
        return bool(have == want) == (node.op == "eq")
    if node.op == "contains":
        return isinstance(have, str) and isinstance(want, str) and want in have
    if node.op == "starts_with":
        return isinstance(have, str) and isinstance(want, str) and have.startswith(want)
    comparisons = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "gt": lambda a, b: a > b,
        "gte": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "lte": lambda a, b: a <= b,
    }
    try:
        return bool(comparisons[node.op](have, want))
    except TypeError:  # a value stored under another type: no match
        return False
