"""Contact properties in memory (see store.py: each method is atomic)."""

from __future__ import annotations

from attrs import evolve

from adapters.storage.memory.contacts import MemoryContacts
from autorelay_core.domain.properties import ContactProperty
from autorelay_core.errors import Conflict


class MemoryProperties:
    def __init__(self, contacts: MemoryContacts) -> None:
        self.rows: dict[str, ContactProperty] = {}
        self._contacts = contacts

    async def add(self, prop: ContactProperty) -> None:
        if any(p.project_id == prop.project_id and p.key == prop.key for p in self.rows.values()):
            raise Conflict(f"the project already has a property '{prop.key}'")
        self.rows[prop.id] = evolve(prop)

    async def all(self, project_id: str) -> list[ContactProperty]:
        return sorted((evolve(p) for p in self.rows.values() if p.project_id == project_id), key=lambda p: p.key)

    async def get(self, project_id: str, property_id: str) -> ContactProperty | None:
        prop = self.rows.get(property_id)
        return evolve(prop) if prop and prop.project_id == project_id else None

    async def set_default(self, prop: ContactProperty) -> None:
        stored = self.rows.get(prop.id)
        if stored is not None and stored.project_id == prop.project_id:
            stored.default = prop.default

    async def delete(self, project_id: str, property_id: str) -> bool:
        prop = self.rows.get(property_id)
        if prop is None or prop.project_id != project_id:
            return False
        del self.rows[property_id]
        for contact in self._contacts.rows.values():
            if contact.project_id == project_id:
                contact.properties.pop(prop.key, None)
        return True
