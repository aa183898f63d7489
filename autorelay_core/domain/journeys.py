"""Journeys: what happens to a contact after a trigger, one step at a time (automations).

A journey's definition is JSON the user gives, checked by `parse` into the typed `Flow` below:

    {"trigger": {"type": "event", "event": "signed_up"}     an event of POST /events, by name
              | {"type": "list", "listId": ID}              a contact joining the list (subscribed)
              | {"type": "segment", "segmentId": ID}        a person coming to match the segment
              | {"type": "date", "property": KEY, "offsetDays": N}
                                                            N days after (before: N < 0) a date property
              | {"type": "api"},                            POST /api/v1/journeys/:id/enter
     "entry": {"rule": "once" | "every_time" | "once_per", "days": N},
     "goal": {"event": NAME} | null,                        the event that ends the journey early
     "steps": [STEP, ...]}

A step is one of (each may carry an "id"; one is given to those without):

    {"type": "wait", "days": D, "hours": H, "minutes": M, "seconds": S}
    {"type": "wait_until", "time": "HH:MM", "timezoneProperty": KEY, "timezone": "Europe/Paris"}
    {"type": "wait_for_event", "event": NAME, "days": D, "hours": H, "minutes": M, "seconds": S,
     "received": [STEP, ...], "timedOut": [STEP, ...]}
    {"type": "condition", "filter": SEGMENT FILTER, "yes": [STEP, ...], "no": [STEP, ...]}
    {"type": "send", "templateId": ID, "from": "Name <a@b.c>"}
    {"type": "set_property", "property": KEY, "value": V}
    {"type": "add_to_list" | "remove_from_list", "listId": ID}
    {"type": "set_topic", "topicId": ID, "subscribed": true | false}
    {"type": "webhook", "webhookId": ID}
    {"type": "exit"}

Branches are blocks: when a branch's steps run out the contact goes on after the step that
branched, so a journey reads top to bottom. There are no loops, so a run passes each step at most
once, and the store enforces it with a unique (run, step) record.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from attrs import define, field, frozen

from autorelay_core.domain.activity import check_name
from autorelay_core.errors import Invalid

MAX_STEPS = 100
MAX_DEPTH = 6
MAX_WAIT = timedelta(days=366)
MAX_ENTRY_DAYS = 3650
MAX_OFFSET_DAYS = 365
_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
_TIME = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
TRIGGERS = ("event", "list", "segment", "date", "api")
RULES = ("once", "every_time", "once_per")
# Step types, and the branches each has.
BRANCHES: dict[str, tuple[str, ...]] = {
    "wait": (),
    "wait_until": (),
    "wait_for_event": ("received", "timedOut"),
    "condition": ("yes", "no"),
    "send": (),
    "set_property": (),
    "add_to_list": (),
    "remove_from_list": (),
    "set_topic": (),
    "webhook": (),
    "exit": (),
}
_UNITS = ("days", "hours", "minutes", "seconds")
_PARAMS: dict[str, tuple[str, ...]] = {
    "wait": ("days", "hours", "minutes", "seconds"),
    "wait_until": ("time", "timezoneProperty", "timezone"),
    "wait_for_event": ("event", "days", "hours", "minutes", "seconds"),
    "condition": ("filter",),
    "send": ("templateId", "from"),
    "set_property": ("property", "value"),
    "add_to_list": ("listId",),
    "remove_from_list": ("listId",),
    "set_topic": ("topicId", "subscribed"),
    "webhook": ("webhookId",),
    "exit": (),
}


class JourneyStatus(StrEnum):
    DRAFT = "draft"  # never enabled: edits change it in place
    ACTIVE = "active"  # contacts enter and move
    PAUSED = "paused"  # nobody enters or moves; everyone stays where they are


@frozen
class Trigger:
    type: str
    event: str | None = None
    list_id: str | None = None
    segment_id: str | None = None
    date_property: str | None = None
    offset_days: int = 0

    @property
    def key(self) -> str | None:
        """What an entry is looked up by: "event:signed_up", "list:lst_1"; None for the kinds a
        scan or a call starts."""
        if self.type == "event":
            return f"event:{self.event}"
        if self.type == "list":
            return f"list:{self.list_id}"
        return None


@frozen
class Entry:
    rule: str = "once"
    days: int | None = None  # once_per: at most one entry in this many days

    def not_since(self, now: datetime) -> datetime | None:
        """A person who entered at or after this time may not enter again (None: any may)."""
        if self.rule == "once":
            return datetime.min.replace(tzinfo=UTC)
        if self.rule == "once_per":
            return now - timedelta(days=self.days or 0)
        return None


@frozen
class Step:
    id: str
    type: str
    params: dict[str, Any] = field(factory=dict, eq=False, hash=False)
    branches: dict[str, tuple[Step, ...]] = field(factory=dict, eq=False, hash=False)

    @property
    def duration(self) -> timedelta:
        p = self.params
        return timedelta(
            days=p.get("days", 0), hours=p.get("hours", 0), minutes=p.get("minutes", 0), seconds=p.get("seconds", 0)
        )


@frozen
class Flow:
    """A checked definition, and where each step leads."""

    trigger: Trigger
    entry: Entry
    goal: str | None
    steps: tuple[Step, ...]
    _index: dict[str, Step] = field(factory=dict, eq=False, hash=False, repr=False)
    _next: dict[str, str | None] = field(factory=dict, eq=False, hash=False, repr=False)
    _first: dict[tuple[str, str], str | None] = field(factory=dict, eq=False, hash=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._walk(self.steps, None)

    def _walk(self, steps: tuple[Step, ...], after: str | None) -> None:
        for position, step in enumerate(steps):
            following = steps[position + 1].id if position + 1 < len(steps) else after
            self._index[step.id] = step
            self._next[step.id] = following
            for name in BRANCHES[step.type]:
                branch = step.branches.get(name, ())
                self._first[(step.id, name)] = branch[0].id if branch else following
                self._walk(branch, following)

    @property
    def first(self) -> str | None:
        return self.steps[0].id if self.steps else None

    def step(self, step_id: str | None) -> Step | None:
        return self._index.get(step_id) if step_id else None

    def after(self, step_id: str, branch: str | None = None) -> str | None:
        """The step a run goes to from `step_id` (into `branch` of it, for a branching step);
        None: the journey is done."""
        if branch is not None:
            return self._first[(step_id, branch)]
        return self._next[step_id]

    def all_steps(self) -> list[Step]:
        """Every step, top to bottom, each branch after its step."""
        return list(self._index.values())


@define
class Journey:
    id: str
    project_id: str
    name: str
    definition: dict[str, Any]  # as given (ids filled in), checked by `parse` when saved
    status: JourneyStatus
    version: int
    created_at: datetime
    updated_at: datetime
    test: bool = False  # made by a test key: its emails go to the test log
    enabled_at: datetime | None = None  # first enabled (a draft until then)


@frozen
class JourneyVersion:
    journey_id: str
    version: int
    definition: dict[str, Any]
    created_at: datetime


class RunState(StrEnum):
    ACTIVE = "active"  # at `step_id`, due at `due_at` (a wait's end, or now)
    DONE = "done"  # went past the last step
    EXITED = "exited"  # an exit step, the goal, or its contact gone


@define
class JourneyRun:
    """One contact's way through one version of a journey."""

    id: str
    project_id: str
    journey_id: str
    version: int
    contact_id: str
    email_key: str
    entry_key: str  # what made it enter ("evt_...", "contact:ct_..", "date:2027-01-01"), unique per person
    entered_at: datetime
    step_id: str | None
    due_at: datetime
    state: RunState = RunState.ACTIVE
    goal: str | None = None  # the version's goal event, kept so an event finds its runs in one query
    step_since: datetime | None = None  # when the current waiting step began (None: not yet)
    waiting_event: str | None = None  # what a wait_for_event step waits for
    signal: str | None = None  # "event": its awaited event came; "goal": its goal event came
    ended_at: datetime | None = None
    exit_reason: str | None = None


@frozen
class RunClaim:
    """A leased run: its holder may move it until `lease_until`; `attempt` is the lease token."""

    run: JourneyRun
    attempt: int
    lease_until: datetime


@frozen
class StepRecord:
    """A run passed a step: when, how (done, sent, yes, no, received, timedOut, skipped, failed,
    exited) and, for a send step, the email."""

    run_id: str
    journey_id: str
    version: int
    step_id: str
    at: datetime
    outcome: str
    detail: str | None = None
    email_id: str | None = None


@frozen
class StepStats:
    step_id: str
    passed: int = 0  # runs that passed it
    waiting: int = 0  # runs at it now
    exited: int = 0  # runs that ended at it (exit step, goal while waiting there)
    sent: int = 0
    opened: int = 0
    clicked: int = 0
    outcomes: dict[str, int] = field(factory=dict, eq=False, hash=False)


@frozen
class VersionStats:
    version: int
    entered: int
    active: int
    done: int
    exited: int
    steps: tuple[StepStats, ...]


# -- parsing ---------------------------------------------------------------------------------------


def parse(definition: Any) -> tuple[Flow, dict[str, Any]]:
    """The checked flow, and the definition as stored (every step with an id). Invalid names the
    path of the problem (`steps[2].yes[0].days`). References (templates, lists, segment filters)
    are the use case's to check against the project."""
    if not isinstance(definition, dict):
        raise Invalid("a journey is a JSON object with trigger, entry and steps")
    _only(definition, {"trigger", "entry", "goal", "steps"}, "journey")
    trigger = _trigger(definition.get("trigger"))
    entry = _entry(definition.get("entry"))
    if trigger.type == "segment" and entry.rule == "every_time":
        raise Invalid("entry.rule every_time does not apply to a segment trigger: once or once_per", field="entry.rule")
    goal = _goal(definition.get("goal"))
    raw = definition.get("steps")
    if not isinstance(raw, list) or not raw:
        raise Invalid("steps must be a non-empty list", field="steps")
    taken = _given_ids(raw, set(), "steps")
    counter = [0, 0]
    steps, stored = _steps(raw, "steps", 1, taken, counter)
    stored_definition = {
        "trigger": _trigger_json(trigger),
        "entry": {"rule": entry.rule, **({"days": entry.days} if entry.days is not None else {})},
        "goal": {"event": goal} if goal else None,
        "steps": stored,
    }
    return Flow(trigger, entry, goal, steps), stored_definition


def _trigger(value: Any) -> Trigger:
    if not isinstance(value, dict):
        raise Invalid(f"trigger must be an object whose type is one of {', '.join(TRIGGERS)}", field="trigger")
    kind = value.get("type")
    allowed = {
        "event": {"event"},
        "list": {"listId"},
        "segment": {"segmentId"},
        "date": {"property", "offsetDays"},
        "api": set(),
    }
    if kind not in allowed:
        raise Invalid(f"trigger.type must be one of {', '.join(TRIGGERS)}", field="trigger.type")
    _only(value, {"type", *allowed[kind]}, "trigger")
    if kind == "event":
        return Trigger(kind, event=_event(value.get("event"), "trigger.event"))
    if kind == "list":
        return Trigger(kind, list_id=_ref(value.get("listId"), "trigger.listId"))
    if kind == "segment":
        return Trigger(kind, segment_id=_ref(value.get("segmentId"), "trigger.segmentId"))
    if kind == "date":
        offset = value.get("offsetDays", 0)
        return Trigger(
            kind,
            date_property=_ref(value.get("property"), "trigger.property"),
            offset_days=_whole(offset, "trigger.offsetDays", -MAX_OFFSET_DAYS, MAX_OFFSET_DAYS),
        )
    return Trigger(kind)


def _trigger_json(trigger: Trigger) -> dict[str, Any]:
    shapes: dict[str, dict[str, Any]] = {
        "event": {"event": trigger.event},
        "list": {"listId": trigger.list_id},
        "segment": {"segmentId": trigger.segment_id},
        "date": {"property": trigger.date_property, "offsetDays": trigger.offset_days},
        "api": {},
    }
    return {"type": trigger.type, **shapes[trigger.type]}


def _entry(value: Any) -> Entry:
    if value is None:
        return Entry()
    if not isinstance(value, dict):
        raise Invalid('entry must be an object: {"rule": "once"}', field="entry")
    _only(value, {"rule", "days"}, "entry")
    rule = value.get("rule", "once")
    if rule not in RULES:
        raise Invalid(f"entry.rule must be one of {', '.join(RULES)}", field="entry.rule")
    if rule == "once_per":
        return Entry(rule, _whole(value.get("days"), "entry.days", 1, MAX_ENTRY_DAYS))
    if "days" in value:
        raise Invalid("entry.days applies to the once_per rule only", field="entry.days")
    return Entry(rule)


def _goal(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid('goal must be an object: {"event": "upgraded"}, or null', field="goal")
    _only(value, {"event"}, "goal")
    return _event(value.get("event"), "goal.event")


def _given_ids(raw: list[Any], taken: set[str], at: str, depth: int = 1) -> set[str]:
    """The ids the user gave, checked unique, so the ids given to the others avoid them."""
    if depth > MAX_DEPTH:
        raise Invalid(f"{at}: branches nest at most {MAX_DEPTH} deep", field=at)
    for position, step in enumerate(raw):
        where = f"{at}[{position}]"
        if not isinstance(step, dict):
            raise Invalid(f"{where} must be an object with a type", field=where)
        given = step.get("id")
        if given is not None:
            if not isinstance(given, str) or not _ID.fullmatch(given):
                raise Invalid(f"{where}.id must be 1 to 40 letters, digits, '_' or '-'", field=f"{where}.id")
            if given in taken:
                raise Invalid(f"{where}.id {given!r} is used twice", field=f"{where}.id")
            taken.add(given)
        for name in BRANCHES.get(step.get("type"), ()):  # type: ignore[arg-type]
            branch = step.get(name, [])
            if isinstance(branch, list):
                _given_ids(branch, taken, f"{where}.{name}", depth + 1)
    return taken


def _steps(
    raw: Any, at: str, depth: int, taken: set[str], counter: list[int]
) -> tuple[tuple[Step, ...], list[dict[str, Any]]]:
    if not isinstance(raw, list):
        raise Invalid(f"{at} must be a list of steps", field=at)
    if depth > MAX_DEPTH:
        raise Invalid(f"{at}: branches nest at most {MAX_DEPTH} deep", field=at)
    steps, stored = [], []
    for position, item in enumerate(raw):
        where = f"{at}[{position}]"
        counter[0] += 1
        if counter[0] > MAX_STEPS:
            raise Invalid(f"a journey has at most {MAX_STEPS} steps", field=where)
        step, as_stored = _step(item, where, depth, taken, counter)
        steps.append(step)
        stored.append(as_stored)
    return tuple(steps), stored


def _step(
    item: dict[str, Any], at: str, depth: int, taken: set[str], counter: list[int]
) -> tuple[Step, dict[str, Any]]:
    kind = item.get("type")
    if kind not in BRANCHES:
        raise Invalid(f"{at}.type must be one of {', '.join(BRANCHES)}", field=f"{at}.type")
    _only(item, {"id", "type", *_PARAMS[kind], *BRANCHES[kind]}, at)
    step_id = item.get("id")
    if step_id is None:
        while True:
            counter[1] += 1
            step_id = f"s{counter[1]}"
            if step_id not in taken:
                taken.add(step_id)
                break
    params = _params(kind, item, at)
    branches: dict[str, tuple[Step, ...]] = {}
    stored: dict[str, Any] = {"id": step_id, "type": kind, **params}
    for name in BRANCHES[kind]:
        branches[name], stored[name] = _steps(item.get(name, []), f"{at}.{name}", depth + 1, taken, counter)
    return Step(step_id, kind, params, branches), stored


def _params(kind: str, item: dict[str, Any], at: str) -> dict[str, Any]:
    if kind in ("wait", "wait_for_event"):
        units = {unit: _whole(item.get(unit, 0), f"{at}.{unit}", 0, 366 * 24 * 3600) for unit in _UNITS}
        span = timedelta(**units)
        if span <= timedelta(0) or span > MAX_WAIT:
            raise Invalid(
                f"{at}: the wait must be more than 0 and at most 366 days (days, hours, minutes, seconds)", field=at
            )
        found: dict[str, Any] = {unit: value for unit, value in units.items() if value}
        if kind == "wait_for_event":
            found["event"] = _event(item.get("event"), f"{at}.event")
        return found
    if kind == "wait_until":
        clock = item.get("time")
        if not isinstance(clock, str) or not _TIME.fullmatch(clock):
            raise Invalid(f"{at}.time must be HH:MM, 00:00 to 23:59", field=f"{at}.time")
        found = {"time": clock, "timezone": _zone(item.get("timezone", "UTC"), f"{at}.timezone")}
        if item.get("timezoneProperty") is not None:
            found["timezoneProperty"] = _ref(item.get("timezoneProperty"), f"{at}.timezoneProperty")
        return found
    if kind == "condition":
        if not isinstance(item.get("filter"), dict):
            raise Invalid(f"{at}.filter must be a segment filter (an object)", field=f"{at}.filter")
        return {"filter": item["filter"]}
    if kind == "send":
        sender = item.get("from")
        if not isinstance(sender, str) or not sender.strip():
            raise Invalid(f"{at}.from is required: the sender, like 'Acme <hello@acme.com>'", field=f"{at}.from")
        return {"templateId": _ref(item.get("templateId"), f"{at}.templateId"), "from": sender}
    if kind == "set_property":
        if "value" not in item:
            raise Invalid(f"{at}.value is required (null clears the property)", field=f"{at}.value")
        return {"property": _ref(item.get("property"), f"{at}.property"), "value": item["value"]}
    if kind in ("add_to_list", "remove_from_list"):
        return {"listId": _ref(item.get("listId"), f"{at}.listId")}
    if kind == "set_topic":
        if not isinstance(item.get("subscribed"), bool):
            raise Invalid(f"{at}.subscribed must be true or false", field=f"{at}.subscribed")
        return {"topicId": _ref(item.get("topicId"), f"{at}.topicId"), "subscribed": item["subscribed"]}
    if kind == "webhook":
        return {"webhookId": _ref(item.get("webhookId"), f"{at}.webhookId")}
    return {}


def _only(value: dict[str, Any], allowed: set[str], at: str) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise Invalid(f"{at}: unknown field {unknown[0]!r}", field=f"{at}.{unknown[0]}")


def _ref(value: Any, at: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise Invalid(f"{at} is required (an id or key)", field=at)
    return value


def _whole(value: Any, at: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise Invalid(f"{at} must be a whole number from {low} to {high}", field=at)
    return value


def _event(value: Any, at: str) -> str:
    try:
        return check_name(value)
    except Invalid as error:
        raise Invalid(f"{at}: {error.message}", field=at) from None


def _zone(value: Any, at: str) -> str:
    if zone(value) is None:
        raise Invalid(f"{at} must be a time zone name, like Europe/Paris", field=at)
    return str(value)


def zone(name: Any) -> ZoneInfo | None:
    """The IANA time zone, or None for anything that is not one."""
    if not isinstance(name, str) or not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder of the database, say
        return None


# -- time ------------------------------------------------------------------------------------------


def step_zone(step: Step, properties: dict[str, Any]) -> ZoneInfo:
    """Where a wait_until step reads the clock for a contact: the zone named in its time zone
    property, else the step's fallback, else UTC."""
    found = zone(properties.get(step.params.get("timezoneProperty", ""))) or zone(step.params.get("timezone"))
    return found or ZoneInfo("UTC")


def next_time_of_day(now: datetime, clock: str, where: ZoneInfo) -> datetime:
    """The first moment at or after `now` when the wall clock in `where` reads `clock` (HH:MM).
    A time skipped by a DST change falls on the moment the clock jumps past it."""
    hour, minute = int(clock[:2]), int(clock[3:])
    local = now.astimezone(where)
    for days in range(0, 3):
        day = (local + timedelta(days=days)).date()
        candidate = datetime.combine(day, time(hour, minute), tzinfo=where)
        # Round-trip through UTC normalises a wall time that does not exist (a DST gap).
        at = candidate.astimezone(UTC)
        if at >= now:
            return at
    return now  # unreachable: one of three days holds the time
