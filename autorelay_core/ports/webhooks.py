"""Webhook endpoints, their delivery outbox, the poster and the payloads' wire format."""

from __future__ import annotations

import builtins
from datetime import datetime
from typing import Protocol

from attrs import frozen

from autorelay_core.domain.emails import Email, Event
from autorelay_core.domain.webhooks import Attempt, PostOutcome, Webhook, WebhookDelivery
from autorelay_core.policies.ssrf import Target


@frozen
class DeliveryClaim:
    """A leased webhook delivery with what posting it needs."""

    delivery: WebhookDelivery
    url: str
    secret: str  # sealed
    lease_until: datetime
    format: str = "autorelay"  # the endpoint's (domain.webhooks.FORMATS)


class WebhookRepository(Protocol):
    async def add(self, webhook: Webhook) -> None: ...

    async def get(self, project_id: str, webhook_id: str) -> Webhook | None: ...

    async def list(self, project_id: str) -> list[Webhook]:
        """Oldest first."""

    async def update(self, webhook: Webhook) -> None:
        """Store url, events and active. An endpoint that is not active keeps nothing queued: its
        pending deliveries become failed ("endpoint paused")."""

    async def delete(self, project_id: str, webhook_id: str) -> bool:
        """Delete the endpoint and its deliveries (a delivery being posted cannot finish)."""

    async def failures(
        self, project_id: str, webhook_id: str, limit: int
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        """Deliveries that failed at least once (resolved or not), newest first, and whether there
        are more than `limit`."""

    async def replay(self, project_id: str, webhook_id: str, delivery_id: str, now: datetime) -> WebhookDelivery | None:
        """Make the delivery pending and due `now` (finished, or waiting for a retry), with one more
        replay and a fresh retry schedule. None if there is no such delivery; unchanged (leased)
        while it is being posted."""

    async def claim_due(self, now: datetime, lease_until: datetime, limit: int) -> builtins.list[DeliveryClaim]:
        """Atomically lease up to `limit` pending deliveries due by `now` (and leased ones whose
        lease ended), oldest due first; racing callers get disjoint sets."""

    async def settle(self, claim: DeliveryClaim, delivery: WebhookDelivery) -> bool:
        """Store the outcome of an attempt (state, counters, error, times) while `claim` still holds
        the lease, and keep the attempt itself (`attempt_of`) for the deliveries log; False if the
        lease was lost (or the endpoint deleted)."""

    async def backlog(self, now: datetime) -> int:
        """How many deliveries are due and waiting to be posted."""

    async def add_delivery(self, delivery: WebhookDelivery) -> None:
        """Queue one pending delivery for one endpoint (a test event), due at once."""

    async def recent(
        self, project_id: str, webhook_id: str, limit: int, before: str | None = None
    ) -> tuple[builtins.list[WebhookDelivery], bool]:
        """The endpoint's deliveries in any state, newest first, older than the delivery `before`
        when given, and whether there are more."""

    async def attempts(self, project_id: str, delivery_id: str) -> builtins.list[Attempt]:
        """The delivery's attempts, oldest first; [] for another project's delivery."""

    async def next_due(self) -> datetime | None:
        """When the earliest pending delivery is due, or a leased one's lease ends (the reconciler
        wakes a pass when that is overdue)."""


class WebhookPoster(Protocol):
    async def post(
        self,
        target: Target,
        address: str,
        secret: str,
        delivery: WebhookDelivery,
        sent_at: datetime,
        shape: str = "autorelay",
    ) -> PostOutcome:
        """POST the delivery's body to `target`, connecting to `address` (never resolving the host
        again) while presenting the host name (Host header, TLS SNI and certificate check), signed
        with `secret` (opened): X-Webhook-Signature/-Id/-Event and the Standard Webhooks headers;
        with `shape` "resend", the body in Resend's shape and Svix's header names too.
        Returns what the answer means (redirects are not followed: a 3xx is not delivered); raises
        WebhookError when there is no answer (refused, timed out after 15 s, TLS failure)."""

    async def close(self) -> None:
        """Let go of kept connections; the poster is not used again."""


class NoticeFormat(Protocol):
    """The wire format of webhook payloads (names, casing, timestamps), kept at the edge."""

    def body(self, event_id: str, event_type: str, email: Email, event: Event) -> str:
        """The payload an endpoint receives for `event` of `email`."""

    def test_body(self, event_id: str, event_type: str, at: datetime) -> str:
        """The payload of a test event (POST /webhooks/:id/test), shaped like a real one."""
