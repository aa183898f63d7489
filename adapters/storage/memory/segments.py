"""Saved segments in memory, and a segment's contacts read by domain.segments.matches itself."""

from __future__ import annotations

from attrs import evolve

from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.properties import merged
from autorelay_core.domain.segments import Node, Person, Segment, matches
from autorelay_core.domain.topics import subscribed
from autorelay_core.errors import Conflict


class MemorySegments:
    def __init__(self) -> None:
        self.rows: dict[str, Segment] = {}

    def _taken(self, segment: Segment) -> bool:
        return any(
            s.project_id == segment.project_id and s.name == segment.name and s.id != segment.id
            for s in self.rows.values()
        )

    async def add(self, segment: Segment) -> None:
        if self._taken(segment):
            raise Conflict(f"the project already has a segment named {segment.name!r}")
        self.rows[segment.id] = evolve(segment, filter=dict(segment.filter))

    async def get(self, project_id: str, segment_id: str) -> Segment | None:
        found = self.rows.get(segment_id)
        return evolve(found, filter=dict(found.filter)) if found and found.project_id == project_id else None

    async def all(self, project_id: str) -> list[Segment]:
        return [evolve(s, filter=dict(s.filter)) for s in self.rows.values() if s.project_id == project_id]

    async def update(self, segment: Segment) -> None:
        if self._taken(segment):
            raise Conflict(f"the project already has a segment named {segment.name!r}")
        self.rows[segment.id] = evolve(segment, filter=dict(segment.filter))

    async def delete(self, project_id: str, segment_id: str) -> bool:
        found = self.rows.get(segment_id)
        if found is None or found.project_id != project_id:
            return False
        del self.rows[segment_id]
        return True


class MemorySegmentQueries:
    """ContactRepository.count_matching and .matching in memory: every contact of the project read
    as a Person (its properties with their defaults, its address's lists, events and topics)."""

    rows: dict[str, Contact]
    audience: tuple  # (MemoryProperties, MemoryContactEvents, MemoryTopics), bound by the store

    def _people(self, project_id: str) -> list[tuple[Contact, Person]]:
        properties, events, topics = self.audience
        declared = {p.key: p for p in properties.rows.values() if p.project_id == project_id}
        ours = [c for c in self.rows.values() if c.project_id == project_id]
        lists: dict[str, set[str]] = {}
        for contact in ours:
            lists.setdefault(contact.email_key, set()).add(contact.list_id)
        done: dict[str, list[tuple[str, object, str | None]]] = {}
        for event in events.rows:
            if event.project_id == project_id:
                done.setdefault(event.email_key, []).append((event.name, event.occurred_at, event.campaign_id))
        offered = [t for t in topics.rows.values() if t.project_id == project_id]

        def gets(email_key: str) -> frozenset[str]:
            return frozenset(t.id for t in offered if subscribed(t, topics.chosen.get((project_id, email_key, t.id))))

        fields = ("email", "name", "company", "status", "created_at")
        return [
            (
                c,
                Person(
                    fields={f: getattr(c, f).value if f == "status" else getattr(c, f) for f in fields},
                    properties=merged(declared, c.properties),
                    lists=frozenset(lists[c.email_key]),
                    events=tuple(done.get(c.email_key, ())),  # type: ignore[arg-type]
                    topics=gets(c.email_key),
                ),
            )
            for c in ours
        ]

    async def count_matching(self, project_id: str, segment: Node) -> int:
        return len({c.email_key for c, person in self._people(project_id) if matches(segment, person)})

    async def matching(
        self, project_id: str, segment: Node, limit: int, *, subscribed_only: bool = False
    ) -> list[Contact]:
        chosen: dict[str, Contact] = {}
        for contact, person in self._people(project_id):  # insertion order is the oldest first
            if subscribed_only and contact.status.value != "subscribed":
                continue
            if contact.email_key not in chosen and matches(segment, person):
                chosen[contact.email_key] = contact
        return [evolve(c, properties=dict(c.properties)) for c in list(chosen.values())[:limit]]
