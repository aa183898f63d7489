"""Segments: saved filters over a project's contacts (domain/segments.py), their live count and a
sample of who matches, and the recipients a segment campaign freezes at launch."""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.segments import Node, Segment, parse
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_contacts import text_field
from autorelay_core.usecases.manage_properties import as_read, declared

SAMPLE = 10
MAX_SEGMENTS = 200


@frozen
class SegmentInput:
    name: Any = None
    filter: Any = None


@frozen
class Matches:
    count: int  # people (addresses)
    sample: list[Contact]  # the oldest few, with their properties as read


async def compile_filter(deps: Deps, caller: Caller, tree: Any) -> Node:
    """The filter checked against the project's properties, as of now (`days` count back from now)."""
    if tree is None:
        raise Invalid("filter is required", field="filter")
    return parse(tree, await declared(deps, caller.project_id), deps.clock.now())


def _name(value: Any) -> str:
    name = text_field(value, "name")
    if name is None:
        raise Invalid("name is required", field="name")
    return name


async def create_segment(deps: Deps, caller: Caller, fields: SegmentInput) -> Segment:
    name = _name(fields.name)
    await compile_filter(deps, caller, fields.filter)
    if len(await deps.storage.segments.all(caller.project_id)) >= MAX_SEGMENTS:
        raise Invalid(f"a project may keep at most {MAX_SEGMENTS} segments", field="name")
    now = deps.clock.now()
    segment = Segment(deps.ids.new("seg"), caller.project_id, name, fields.filter, now, now)
    await deps.storage.segments.add(segment)
    return segment


async def get_segment(deps: Deps, caller: Caller, segment_id: str) -> Segment:
    return found(await deps.storage.segments.get(caller.project_id, segment_id), f"segment {segment_id}")


async def list_segments(deps: Deps, caller: Caller) -> list[Segment]:
    return await deps.storage.segments.all(caller.project_id)


async def update_segment(deps: Deps, caller: Caller, segment_id: str, fields: SegmentInput) -> Segment:
    segment = await get_segment(deps, caller, segment_id)
    changes: dict[str, Any] = {}
    if fields.name is not None:
        changes["name"] = _name(fields.name)
    if fields.filter is not None:
        await compile_filter(deps, caller, fields.filter)
        changes["filter"] = fields.filter
    if not changes:
        return segment
    updated = evolve(segment, **changes, updated_at=deps.clock.now())
    await deps.storage.segments.update(updated)
    return updated


async def delete_segment(deps: Deps, caller: Caller, segment_id: str) -> None:
    if not await deps.storage.segments.delete(caller.project_id, segment_id):
        raise NotFound(f"segment {segment_id} not found")


async def preview(deps: Deps, caller: Caller, tree: Any, sample: int = SAMPLE) -> Matches:
    """Who a filter matches now: how many people, and the first few."""
    node = await compile_filter(deps, caller, tree)
    count = await deps.storage.contacts.count_matching(caller.project_id, node)
    first = await deps.storage.contacts.matching(caller.project_id, node, sample) if sample else []
    return Matches(count, await as_read(deps, caller.project_id, first))


async def segment_matches(deps: Deps, caller: Caller, segment_id: str, sample: int = SAMPLE) -> Matches:
    return await preview(deps, caller, (await get_segment(deps, caller, segment_id)).filter, sample)


async def recipients(deps: Deps, caller: Caller, segment_id: str) -> list[Contact]:
    """A launch's recipients: one subscribed contact per person the segment matches now."""
    segment = await get_segment(deps, caller, segment_id)
    node = await compile_filter(deps, caller, segment.filter)
    return await deps.storage.contacts.matching(caller.project_id, node, 10**9, subscribed_only=True)
