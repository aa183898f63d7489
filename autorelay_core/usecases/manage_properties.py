"""Contact properties: declare, change the default, remove; and contacts as they read, with every
declared property's value or default."""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.properties import (
    MAX_PROPERTIES,
    ContactProperty,
    check_key,
    check_type,
    coerce,
    merged,
)
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found

_UNSET = object()


@frozen
class PropertyInput:
    key: Any = None
    type: Any = None
    default: Any = _UNSET  # absent, unlike null (which clears a default)


async def declared(deps: Deps, project_id: str) -> dict[str, ContactProperty]:
    return {p.key: p for p in await deps.storage.properties.all(project_id)}


async def create_property(deps: Deps, caller: Caller, fields: PropertyInput) -> ContactProperty:
    key = check_key(fields.key)
    kind = check_type(fields.type)
    default = None if fields.default in (_UNSET, None) else coerce(kind, fields.default, "default")
    if len(await deps.storage.properties.all(caller.project_id)) >= MAX_PROPERTIES:
        raise Invalid(f"a project may declare at most {MAX_PROPERTIES} contact properties", field="key")
    prop = ContactProperty(
        id=deps.ids.new("prop"),
        project_id=caller.project_id,
        key=key,
        type=kind,
        created_at=deps.clock.now(),
        default=default,
    )
    await deps.storage.properties.add(prop)
    return prop


async def list_properties(deps: Deps, caller: Caller) -> list[ContactProperty]:
    return await deps.storage.properties.all(caller.project_id)


async def get_property(deps: Deps, caller: Caller, property_id: str) -> ContactProperty:
    return found(await deps.storage.properties.get(caller.project_id, property_id), f"property {property_id}")


async def update_property(deps: Deps, caller: Caller, property_id: str, fields: PropertyInput) -> ContactProperty:
    """Only the default changes: a key or a type other than the stored one is refused, since the
    contacts' values and the segments that read them were made for these."""
    prop = await get_property(deps, caller, property_id)
    if fields.key is not None and fields.key != prop.key:
        raise Invalid("a property's key cannot change; declare a new property instead", field="key")
    if fields.type is not None and fields.type != prop.type.value:
        raise Invalid("a property's type cannot change; declare a new property instead", field="type")
    if fields.default is _UNSET:
        return prop
    updated = evolve(prop, default=None if fields.default is None else coerce(prop.type, fields.default, "default"))
    await deps.storage.properties.set_default(updated)
    return updated


async def delete_property(deps: Deps, caller: Caller, property_id: str) -> None:
    if not await deps.storage.properties.delete(caller.project_id, property_id):
        raise NotFound(f"property {property_id} not found")


async def as_read(deps: Deps, project_id: str, contacts: list[Contact]) -> list[Contact]:
    """The contacts with every declared property: the value set on it, else the default (None
    when neither). One read of the declarations for the lot."""
    if not contacts:
        return contacts
    known = await declared(deps, project_id)
    return [evolve(c, properties=merged(known, c.properties)) for c in contacts]
