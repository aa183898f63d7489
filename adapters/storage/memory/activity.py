"""Contact events in memory (see store.py: each method is atomic)."""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from attrs import evolve

from autorelay_core.domain.activity import ContactEvent, engagement
from autorelay_core.domain.emails import Email, Event


class MemoryContactEvents:
    def __init__(self) -> None:
        self.rows: list[ContactEvent] = []  # in the order recorded

    async def add(self, event: ContactEvent) -> None:
        self.rows.append(evolve(event, properties=dict(event.properties)))

    def add_engagement(self, email: Email, events: list[Event]) -> None:
        self.rows.extend(engagement(email, events, lambda: "cev_" + uuid4().hex))

    async def timeline(
        self, project_id: str, email_key: str, limit: int, before: datetime | None = None
    ) -> list[ContactEvent]:
        mine = [
            (e.occurred_at, n, e)
            for n, e in enumerate(self.rows)
            if e.project_id == project_id and e.email_key == email_key and (before is None or e.occurred_at < before)
        ]
        mine.sort(key=lambda item: (item[0], item[1]), reverse=True)
        return [evolve(e, properties=dict(e.properties)) for _, _, e in mine[:limit]]
