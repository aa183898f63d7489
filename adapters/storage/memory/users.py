"""Dashboard users, memberships and sessions in memory."""

from __future__ import annotations

import builtins
from datetime import datetime

from attrs import evolve

from autorelay_core.domain.users import Membership, Role, Session, User
from autorelay_core.errors import Conflict


class MemoryUsers:
    def __init__(self) -> None:
        self._users: dict[str, User] = {}
        self._roles: dict[tuple[str, str], Role] = {}
        self._sessions: dict[str, Session] = {}

    async def add(self, user: User) -> None:
        if await self.get_by_email(user.email) is not None:
            raise Conflict(f"a user with the email {user.email} already exists")
        self._users[user.id] = evolve(user)

    async def get(self, user_id: str) -> User | None:
        user = self._users.get(user_id)
        return evolve(user) if user else None

    async def get_by_email(self, email: str) -> User | None:
        return next((evolve(u) for u in self._users.values() if u.email.lower() == email.lower()), None)

    async def list(self) -> list[User]:
        return [evolve(u) for u in sorted(self._users.values(), key=lambda u: (u.created_at, u.id))]

    async def new_link(self, user_id: str) -> int | None:
        user = self._users.get(user_id)
        if user is None:
            return None
        user.link_version += 1
        return user.link_version

    async def redeem_link(self, user_id: str, version: int, password_hash: str, email: str | None = None) -> bool:
        user = self._users.get(user_id)
        if user is None or user.link_version != version:
            return False
        if email is not None:
            taken = await self.get_by_email(email)
            if taken is not None and taken.id != user_id:
                raise Conflict(f"a user with the email {email} already exists")
            user.email = email
        user.password_hash, user.link_version = password_hash, version + 1
        await self.end_sessions(user_id)
        return True

    async def delete(self, user_id: str) -> bool:
        if self._users.pop(user_id, None) is None:
            return False
        self._roles = {k: v for k, v in self._roles.items() if k[0] != user_id}
        await self.end_sessions(user_id)
        return True

    async def set_role(self, membership: Membership) -> None:
        self._roles[(membership.user_id, membership.project_id)] = membership.role

    async def memberships(self, user_id: str) -> builtins.list[Membership]:
        return sorted(
            (Membership(u, p, role) for (u, p), role in self._roles.items() if u == user_id), key=lambda m: m.project_id
        )

    async def members(self, project_id: str) -> builtins.list[tuple[User, Role]]:
        found = [(evolve(self._users[u]), role) for (u, p), role in self._roles.items() if p == project_id]
        return sorted(found, key=lambda pair: pair[0].email.lower())

    async def remove_member(self, user_id: str, project_id: str) -> bool:
        return self._roles.pop((user_id, project_id), None) is not None

    async def add_session(self, session: Session) -> None:
        self._sessions[session.id] = evolve(session)

    async def session(self, session_id: str) -> Session | None:
        session = self._sessions.get(session_id)
        return evolve(session) if session else None

    async def touch_session(self, session_id: str, at: datetime, project_id: str | None = None) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            session.seen_at = at
            session.project_id = project_id if project_id is not None else session.project_id

    async def end_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)

    async def end_sessions(self, user_id: str) -> None:
        self._sessions = {k: s for k, s in self._sessions.items() if s.user_id != user_id}
