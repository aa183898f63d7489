"""Webhook and delivery <-> row helpers shared by the SQL adapters. `{p}` is the driver's placeholder;
`when` turns a datetime into what the database stores (epoch seconds in SQLite)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import overload

from autorelay_core.domain.webhooks import Attempt, DeliveryState, Webhook, WebhookDelivery, attempt_of

HOOK_COLUMNS = "id, project_id, url, events, secret, active, created_at, test, format"
DELIVERY_COLUMNS = (
    "id, webhook_id, project_id, event_id, event_type, body, created_at, state, attempts, failures,"
    " replay_count, error, last_attempt_at, resolved_at, due_at"
)
# A delivery's outcome, stored only while the claim's lease holds (attempts is the lease token).
SETTLE = (
    "UPDATE webhook_deliveries SET state = {p}, failures = {p}, error = {p}, last_attempt_at = {p},"
    " resolved_at = {p}, due_at = {p}, lease_until = NULL WHERE id = {p} AND state = 'leased' AND attempts = {p}"
)
PAUSE = (
    "UPDATE webhook_deliveries SET state = 'failed', due_at = NULL, error = {p}"
    " WHERE webhook_id = {p} AND state = 'pending'"
)
REPLAY = (
    "UPDATE webhook_deliveries SET state = 'pending', due_at = {p}, failures = 0, replay_count = replay_count + 1"
    " WHERE id = {p} AND webhook_id = {p} AND project_id = {p} AND state <> 'leased'"
)
FAILURES = (
    f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = {{p}} AND project_id = {{p}}"
    " AND error IS NOT NULL ORDER BY seq DESC LIMIT {p}"
)
RECENT = (
    f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = {{p}} AND project_id = {{p}}"
    " AND seq < COALESCE((SELECT seq FROM webhook_deliveries WHERE id = {p} AND webhook_id = {p}), {p})"
    " ORDER BY seq DESC LIMIT {p}"
)
ADD_ATTEMPT = (
    "INSERT INTO webhook_attempts (delivery_id, webhook_id, number, at, ok, error)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p})"
)
ATTEMPTS = (
    "SELECT a.delivery_id, a.number, a.at, a.ok, a.error FROM webhook_attempts a"
    " JOIN webhook_deliveries d ON d.id = a.delivery_id WHERE a.delivery_id = {p} AND d.project_id = {p}"
    " ORDER BY a.number"
)
ADD_DELIVERY = (
    "INSERT INTO webhook_deliveries (id, webhook_id, project_id, event_id, event_type, body, created_at, state, due_at)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, 'pending', {p})"
)
NEXT_DUE = (
    "SELECT min(CASE WHEN state = 'pending' THEN due_at ELSE lease_until END) FROM webhook_deliveries"
    " WHERE state IN ('pending', 'leased')"
)


@overload
def time_of(value: None) -> None: ...
@overload
def time_of(value: datetime | float) -> datetime: ...
def time_of(value: datetime | float | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromtimestamp(value, UTC)


def hook_values(webhook: Webhook, when=lambda moment: moment) -> tuple:
    w = webhook
    events = json.dumps(list(w.events))
    return (w.id, w.project_id, w.url, events, w.secret, w.active, when(w.created_at), w.test, w.format)


def hook_row(row: tuple) -> Webhook:
    hook_id, project_id, url, events, secret, active, created, test, shape = row
    events = json.loads(events) if isinstance(events, str) else events
    return Webhook(hook_id, project_id, url, tuple(events), secret, time_of(created), bool(active), bool(test), shape)


def delivery_row(row: tuple) -> WebhookDelivery:
    (
        d_id,
        hook_id,
        project_id,
        event_id,
        kind,
        body,
        created,
        state,
        attempts,
        failures,
        replays,
        error,
        last,
        resolved,
        due,
    ) = row
    return WebhookDelivery(
        id=d_id,
        webhook_id=hook_id,
        project_id=project_id,
        event_id=event_id,
        event_type=kind,
        body=body,
        created_at=time_of(created),
        state=DeliveryState(state),
        attempts=attempts,
        failures=failures,
        replay_count=replays,
        error=error,
        last_attempt_at=time_of(last),
        resolved_at=time_of(resolved),
        due_at=time_of(due),
    )


def settle_args(claim_attempts: int, d: WebhookDelivery, when=lambda moment: moment) -> tuple:
    def maybe(moment: datetime | None):
        return when(moment) if moment else None

    return (
        d.state.value,
        d.failures,
        d.error,
        maybe(d.last_attempt_at),
        maybe(d.resolved_at),
        maybe(d.due_at),
        d.id,
        claim_attempts,
    )


def attempt_values(delivery: WebhookDelivery, number: int, when=lambda moment: moment) -> tuple:
    attempt = attempt_of(delivery, number)
    return (attempt.delivery_id, delivery.webhook_id, attempt.number, when(attempt.at), attempt.ok, attempt.detail)


def attempt_row(row: tuple) -> Attempt:
    delivery_id, number, at, ok, error = row
    return Attempt(delivery_id, number, time_of(at), bool(ok), error)


def new_delivery_values(d: WebhookDelivery, when=lambda moment: moment) -> tuple:
    return (d.id, d.webhook_id, d.project_id, d.event_id, d.event_type, d.body, when(d.created_at), when(d.created_at))
