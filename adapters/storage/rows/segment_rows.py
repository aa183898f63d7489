"""Segment <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

import json
from datetime import datetime

from autorelay_core.domain.segments import Segment

COLUMNS = "id, project_id, name, filter, created_at, updated_at"


def segment_row(row: tuple) -> Segment:
    sid, project_id, name, tree, created, updated = row
    data = json.loads(tree) if isinstance(tree, str) else tree
    return Segment(sid, project_id, name, data, _time(created), _time(updated))


def _time(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def filter_json(segment: Segment) -> str:
    return json.dumps(segment.filter, separators=(",", ":"))
