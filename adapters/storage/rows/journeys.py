"""Journey <-> row helpers and statements shared by the SQL adapters ({p}: the placeholder)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from autorelay_core.domain.journeys import (
    Journey,
    JourneyRun,
    JourneyStatus,
    JourneyVersion,
    RunState,
    StepRecord,
    StepStats,
    VersionStats,
    parse,
)

JOURNEY_COLUMNS = "id, project_id, name, definition, status, version, test, created_at, updated_at, enabled_at"
RUN_COLUMNS = (
    "id, project_id, journey_id, version, contact_id, email_key, entry_key, entered_at, step_id, due_at, state,"
    " goal, step_since, waiting_event, signal, ended_at, exit_reason"
)
RECORD_COLUMNS = "run_id, journey_id, version, step_id, at, outcome, detail, email_id"
# What counts as sent, opened and clicked of a step's emails (their status now).
SENT = ("sent", "opened", "clicked", "complained")
OPENED = ("opened", "clicked")
# The run's new place; a goal signal that came since the claim stands (and keeps the run due).
MOVE = (
    "UPDATE journey_runs SET step_id = {p}, state = {p}, step_since = {p}, waiting_event = {p}, ended_at = {p},"
    " exit_reason = {p}, lease_until = {p},"
    " signal = CASE WHEN signal = 'goal' AND {p} = 'active' THEN 'goal' ELSE {p} END,"
    " due_at = CASE WHEN signal = 'goal' AND {p} = 'active' THEN due_at ELSE {p} END"
    " WHERE id = {p} AND attempt = {p}"
)
SIGNAL = (
    "UPDATE journey_runs SET"
    " signal = CASE WHEN goal = {p} THEN 'goal' ELSE 'event' END, due_at = {p}"
    " WHERE project_id = {p} AND email_key = {p} AND state = 'active'"
    " AND (goal = {p} OR (coalesce(signal, '') <> 'goal' AND waiting_event = {p} AND step_since <= {p}))"
)
RUN_COUNTS = "SELECT version, state, step_id, count(*) FROM journey_runs WHERE journey_id = {p} GROUP BY 1, 2, 3"
RECORD_COUNTS = "SELECT version, step_id, outcome, count(*) FROM journey_steps WHERE journey_id = {p} GROUP BY 1, 2, 3"
EMAIL_COUNTS = (
    "SELECT s.version, s.step_id, e.status, count(*) FROM journey_steps s JOIN emails e ON e.id = s.email_id"
    " WHERE s.journey_id = {p} AND s.email_id IS NOT NULL GROUP BY 1, 2, 3"
)


def trigger_key(journey: Journey) -> str | None:
    trigger = journey.definition.get("trigger") or {}
    if trigger.get("type") == "event":
        return f"event:{trigger.get('event')}"
    if trigger.get("type") == "list":
        return f"list:{trigger.get('listId')}"
    return None


def journey_values(journey: Journey, when: Any) -> tuple:
    return (
        journey.id,
        journey.project_id,
        journey.name,
        json.dumps(journey.definition),
        journey.status.value,
        journey.version,
        journey.test,
        when(journey.created_at),
        when(journey.updated_at),
        when(journey.enabled_at) if journey.enabled_at else None,
        trigger_key(journey),
    )


def journey_row(row: tuple) -> Journey:
    jid, project_id, name, definition, status, version, test, created, updated, enabled = row
    return Journey(
        jid,
        project_id,
        name,
        as_json(definition),
        JourneyStatus(status),
        int(version),
        moment(created),
        moment(updated),
        bool(test),
        moment(enabled) if enabled is not None else None,
    )


def version_row(row: tuple) -> JourneyVersion:
    jid, number, definition, created = row
    return JourneyVersion(jid, int(number), as_json(definition), moment(created))


def run_values(run: JourneyRun, when: Any) -> tuple:
    return (
        run.id,
        run.project_id,
        run.journey_id,
        run.version,
        run.contact_id,
        run.email_key,
        run.entry_key,
        when(run.entered_at),
        run.step_id,
        when(run.due_at),
        run.state.value,
        run.goal,
        when(run.step_since) if run.step_since else None,
        run.waiting_event,
        run.signal,
        when(run.ended_at) if run.ended_at else None,
        run.exit_reason,
    )


def run_row(row: tuple) -> JourneyRun:
    (rid, project_id, jid, version, contact_id, key, entry_key, entered, step_id, due, state, goal, since, waiting,
     signal, ended, reason) = row  # fmt: skip
    return JourneyRun(
        rid,
        project_id,
        jid,
        int(version),
        contact_id,
        key,
        entry_key,
        moment(entered),
        step_id,
        moment(due),
        RunState(state),
        goal,
        moment(since) if since is not None else None,
        waiting,
        signal,
        moment(ended) if ended is not None else None,
        reason,
    )


def record_values(record: StepRecord, when: Any) -> tuple:
    return (
        record.run_id,
        record.journey_id,
        record.version,
        record.step_id,
        when(record.at),
        record.outcome,
        record.detail,
        record.email_id,
    )


def record_row(row: tuple) -> StepRecord:
    run_id, jid, version, step_id, at, outcome, detail, email_id = row
    return StepRecord(run_id, jid, int(version), step_id, moment(at), outcome, detail, email_id)


def move_values(move_run: JourneyRun, lease_until: Any, attempt: int, when: Any) -> tuple:
    state = move_run.state.value
    return (
        move_run.step_id,
        state,
        when(move_run.step_since) if move_run.step_since else None,
        move_run.waiting_event,
        when(move_run.ended_at) if move_run.ended_at else None,
        move_run.exit_reason,
        lease_until,
        state,
        move_run.signal,
        state,
        when(move_run.due_at),
        move_run.id,
        attempt,
    )


def counted(runs: list[tuple], records: list[tuple], emails: list[tuple]) -> Counter[tuple]:
    """The three GROUP BY answers as one Counter, keyed as `step_stats` reads it."""
    counts: Counter[tuple] = Counter()
    for version, state, step_id, n in runs:
        counts[("run", int(version), state, step_id)] += int(n)
    for version, step_id, outcome, n in records:
        counts[("record", int(version), step_id, outcome)] += int(n)
    for version, step_id, status, n in emails:
        counts[("email", int(version), step_id, "sent")] += int(n) if status in SENT else 0
        counts[("email", int(version), step_id, "opened")] += int(n) if status in OPENED else 0
        counts[("email", int(version), step_id, "clicked")] += int(n) if status == "clicked" else 0
    return counts


def step_stats(
    versions: list[int], definitions: dict[int, dict[str, Any]], counts: Counter[tuple]
) -> list[VersionStats]:
    """Per version, newest first, and per step in the order the journey reads."""
    found = []
    for version in versions:
        states: Counter[str] = Counter()
        for (kind, v, *rest), n in counts.items():
            if kind == "run" and v == version:
                states[rest[0]] += n
        steps = []
        for step in parse(definitions[version])[0].all_steps():
            outcomes = {
                rest[1]: n
                for (kind, v, *rest), n in counts.items()
                if kind == "record" and v == version and rest[0] == step.id
            }
            steps.append(
                StepStats(
                    step.id,
                    passed=sum(outcomes.values()),
                    waiting=counts[("run", version, "active", step.id)],
                    exited=counts[("run", version, "exited", step.id)],
                    sent=counts[("email", version, step.id, "sent")],
                    opened=counts[("email", version, step.id, "opened")],
                    clicked=counts[("email", version, step.id, "clicked")],
                    outcomes=outcomes,
                )
            )
        found.append(
            VersionStats(
                version,
                entered=sum(states.values()),
                active=states["active"],
                done=states["done"],
                exited=states["exited"],
                steps=tuple(steps),
            )
        )
    return found


def moment(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, tz=UTC)
    return datetime.fromisoformat(str(value))


def as_json(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else json.loads(str(value))
