"""Topics and people's choices about them in memory."""

from __future__ import annotations

from datetime import datetime

from adapters.storage.rows.topics import clash
from autorelay_core.domain.topics import Topic


class MemoryTopics:
    def __init__(self) -> None:
        self.rows: dict[str, Topic] = {}
        self.chosen: dict[tuple[str, str, str], bool] = {}  # (project, email_key, topic) -> joined

    def _taken(self, topic: Topic) -> bool:
        return any(
            t.project_id == topic.project_id and t.name == topic.name and t.id != topic.id for t in self.rows.values()
        )

    async def add(self, topic: Topic) -> None:
        if self._taken(topic):
            raise clash(topic)
        self.rows[topic.id] = topic

    async def get(self, project_id: str, topic_id: str) -> Topic | None:
        found = self.rows.get(topic_id)
        return found if found and found.project_id == project_id else None

    async def all(self, project_id: str) -> list[Topic]:
        return [t for t in self.rows.values() if t.project_id == project_id]

    async def update(self, topic: Topic) -> None:
        if self._taken(topic):
            raise clash(topic)
        if topic.id in self.rows:
            self.rows[topic.id] = topic

    async def delete(self, project_id: str, topic_id: str) -> bool:
        if await self.get(project_id, topic_id) is None:
            return False
        del self.rows[topic_id]
        for key in [k for k in self.chosen if k[0] == project_id and k[2] == topic_id]:
            del self.chosen[key]
        return True

    async def choices(self, project_id: str, email_key: str) -> dict[str, bool]:
        return {t: joined for (p, e, t), joined in self.chosen.items() if p == project_id and e == email_key}

    async def choose(self, project_id: str, email_key: str, choices: dict[str, bool], at: datetime) -> None:
        for topic_id, joined in choices.items():
            self.chosen[(project_id, email_key, topic_id)] = bool(joined)

    async def choices_for(self, project_id: str, topic_id: str, email_keys: list[str]) -> dict[str, bool]:
        return {
            key: self.chosen[(project_id, key, topic_id)]
            for key in email_keys
            if (project_id, key, topic_id) in self.chosen
        }
