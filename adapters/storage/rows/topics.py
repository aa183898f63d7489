"""Topic <-> row helpers shared by the SQL adapters."""

from __future__ import annotations

from datetime import datetime

from autorelay_core.domain.topics import Subscription, Topic
from autorelay_core.errors import Conflict

COLUMNS = "id, project_id, name, description, default_subscription, created_at, updated_at"
# One statement per chunk of people: well under SQLite's 32,766 bound parameters.
CHUNK = 500


def topic_row(row: tuple) -> Topic:
    tid, project_id, name, description, default, created, updated = row
    return Topic(tid, project_id, name, Subscription(default), _time(created), _time(updated), description)


def _time(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def clash(topic: Topic) -> Conflict:
    return Conflict(f"the project already has a topic named {topic.name!r}")
