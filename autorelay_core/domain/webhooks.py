"""Webhook endpoints, the events they subscribe to, and their deliveries (an outbox of their own).

A delivery is one event for one endpoint. It is attempted at once and, while the endpoint does not
answer 2xx, again after each delay of `RETRY_DELAYS` (the Standard Webhooks / Svix schedule: each
period starts when the previous attempt failed); after the last one it stays `failed` until someone
replays it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from attrs import define, field, frozen

from autorelay_core.domain.emails import EventType

EVENT_TYPES: tuple[str, ...] = (
    "email.sent",
    "email.delivered",
    "email.opened",
    "email.clicked",
    "email.bounced",
    "email.complained",
    "email.failed",
    "email.received",  # inbound mail (usecases/receive_mail.py)
)

# How an endpoint's payloads and signature headers are shaped: AutoRelay's own, or Resend's (its
# payload names and the Svix headers its SDKs' `webhooks.verify` checks), for handlers written for it.
FORMATS = ("autorelay", "resend")

# Delays before attempts 2..9; attempt 1 goes out at once.
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
TIMEOUT_SECONDS = 15.0
# The error a queued delivery is left with when its endpoint is paused or disabled.
PAUSED_ERROR = "endpoint paused: nothing stays queued for it"


def event_type(event: EventType) -> str | None:
    """The webhook event name for an email event; None for events no endpoint can subscribe to."""
    name = f"email.{event.value}"
    return name if name in EVENT_TYPES else None


def next_attempt(failed_attempts: int, failed_at: datetime) -> datetime | None:
    """When to try again after the `failed_attempts`-th failure in a row; None once they are used up."""
    if failed_attempts > len(RETRY_DELAYS):
        return None
    return failed_at + RETRY_DELAYS[failed_attempts - 1]


@define
class Webhook:
    id: str
    project_id: str
    url: str
    events: tuple[str, ...]
    secret: str  # sealed with the server secret; opened only to sign a delivery
    created_at: datetime
    active: bool = True
    # Made by a test key: told only of test-mode mail, and seen only by test keys (a test key can
    # read no live email, so no endpoint of its making may hear of one).
    test: bool = False
    format: str = "autorelay"  # one of FORMATS

    def hears(self, notice: Notice) -> bool:
        return self.active and notice.type in self.events and not (self.test and notice.live)


class DeliveryState(StrEnum):
    PENDING = "pending"  # due at `due_at` (the first attempt, a retry or a replay)
    LEASED = "leased"  # a worker is posting it
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # retries used up, or the endpoint was paused, disabled or deleted meanwhile


@frozen
class Notice:
    """An event to tell the project's endpoints about: stored beside the email event, in the same
    transaction, as one delivery per active endpoint subscribed to `type`.

    The payload is built on first use of `body`: most events have no subscriber (a project without
    webhooks), and storage that knows that first never pays for the serialising."""

    event_id: str
    type: str
    render: Callable[[], str] = field(eq=False, repr=False)  # the JSON payload, when asked for
    created_at: datetime
    live: bool = True  # about live mail (test-mode endpoints hear only of test mail)
    _built: list[str] = field(factory=list, init=False, eq=False, repr=False)

    @property
    def body(self) -> str:
        """The JSON payload, exactly the bytes that are signed and posted."""
        if not self._built:
            self._built.append(self.render())
        return self._built[0]


@define
class WebhookDelivery:
    id: str
    webhook_id: str
    project_id: str
    event_id: str
    event_type: str
    body: str
    created_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    attempts: int = 0  # every attempt ever made
    failures: int = 0  # failures in a row since the last success or replay (drives the schedule)
    replay_count: int = 0
    error: str | None = None
    last_attempt_at: datetime | None = None
    resolved_at: datetime | None = None
    due_at: datetime | None = None
    # What the endpoint answered when it took the event, for that attempt's row in the log; not
    # kept on the delivery (a delivery read back has None).
    answer: str | None = field(default=None, eq=False)


@frozen
class PostOutcome:
    """What a receiver's answer means for a delivery: the poster reads the protocol, the core
    reads this."""

    delivered: bool
    gone: bool = False  # the endpoint is gone for good: stop posting to it
    detail: str = ""  # what the endpoint answered, for the deliveries log ("HTTP 500: busy", "HTTP 200")


@frozen
class Attempt:
    """One post of a delivery, as the deliveries log shows it: when, and what came of it."""

    delivery_id: str
    number: int  # 1 for the first attempt; replays go on counting
    at: datetime
    ok: bool
    # Why it failed, or what the endpoint answered when it took the event ("HTTP 200: {...}").
    detail: str | None = None


def attempt_of(delivery: WebhookDelivery, number: int) -> Attempt:
    """The attempt a settled delivery just made (`number`: the claim's attempt count)."""
    ok = delivery.state is DeliveryState.SUCCEEDED
    assert delivery.last_attempt_at is not None
    return Attempt(delivery.id, number, delivery.last_attempt_at, ok, delivery.answer if ok else delivery.error)
