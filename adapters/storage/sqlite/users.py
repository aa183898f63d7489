"""Dashboard users, memberships and sessions in SQLite."""

from __future__ import annotations

import builtins
import sqlite3
from datetime import datetime

from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.users import Membership, Role, Session, User
from autorelay_core.errors import Conflict

_USER = "id, email, created_at, password_hash, link_version"


def _user(row: tuple) -> User:
    uid, email, created, password_hash, version = row
    return User(uid, email, datetime.fromisoformat(created), password_hash, version)


def _session(row: tuple) -> Session:
    sid, user_id, created, seen, project_id = row
    return Session(sid, user_id, datetime.fromisoformat(created), datetime.fromisoformat(seen), project_id)


class SqliteUsers:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, user: User) -> None:
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    f"INSERT INTO users ({_USER}, email_key) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        user.id,
                        user.email,
                        user.created_at.isoformat(),
                        user.password_hash,
                        user.link_version,
                        user.email.lower(),
                    ),
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"a user with the email {user.email} already exists") from error

    async def get(self, user_id: str) -> User | None:
        row = self._t.conn.execute(f"SELECT {_USER} FROM users WHERE id = ?", (user_id,)).fetchone()
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = self._t.conn.execute(f"SELECT {_USER} FROM users WHERE email_key = ?", (email.lower(),)).fetchone()
        return _user(row) if row else None

    async def list(self) -> list[User]:
        return [_user(r) for r in self._t.conn.execute(f"SELECT {_USER} FROM users ORDER BY created_at, id")]

    async def new_link(self, user_id: str) -> int | None:
        async with self._t.tx() as conn:
            row = conn.execute(
                "UPDATE users SET link_version = link_version + 1 WHERE id = ? RETURNING link_version", (user_id,)
            ).fetchone()
        return row[0] if row else None

    async def redeem_link(self, user_id: str, version: int, password_hash: str, email: str | None = None) -> bool:
        try:
            async with self._t.tx() as conn:
                # The version check and the write are one statement: of racing redemptions one matches.
                changed = conn.execute(
                    "UPDATE users SET password_hash = ?, link_version = link_version + 1,"
                    " email = coalesce(?, email), email_key = coalesce(?, email_key)"
                    " WHERE id = ? AND link_version = ?",
                    (password_hash, email, email.lower() if email else None, user_id, version),
                ).rowcount
                if changed:
                    conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        except sqlite3.IntegrityError as error:
            raise Conflict(f"a user with the email {email} already exists") from error
        return changed == 1

    async def delete(self, user_id: str) -> bool:
        async with self._t.tx() as conn:
            conn.execute("DELETE FROM memberships WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            return conn.execute("DELETE FROM users WHERE id = ?", (user_id,)).rowcount == 1

    async def set_role(self, membership: Membership) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "INSERT INTO memberships (user_id, project_id, role) VALUES (?, ?, ?)"
                " ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role",
                (membership.user_id, membership.project_id, membership.role.value),
            )

    async def memberships(self, user_id: str) -> builtins.list[Membership]:
        rows = self._t.conn.execute(
            "SELECT project_id, role FROM memberships WHERE user_id = ? ORDER BY project_id", (user_id,)
        )
        return [Membership(user_id, project_id, Role(role)) for project_id, role in rows]

    async def members(self, project_id: str) -> builtins.list[tuple[User, Role]]:
        rows = self._t.conn.execute(
            f"SELECT {', '.join('u.' + c.strip() for c in _USER.split(','))}, m.role FROM memberships m"
            " JOIN users u ON u.id = m.user_id WHERE m.project_id = ? ORDER BY u.email_key",
            (project_id,),
        )
        return [(_user(row[:5]), Role(row[5])) for row in rows]

    async def remove_member(self, user_id: str, project_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute("DELETE FROM memberships WHERE user_id = ? AND project_id = ?", (user_id, project_id))
        return cursor.rowcount == 1

    async def add_session(self, session: Session) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "INSERT INTO sessions (id, user_id, created_at, seen_at, project_id) VALUES (?, ?, ?, ?, ?)",
                (
                    session.id,
                    session.user_id,
                    session.created_at.isoformat(),
                    session.seen_at.isoformat(),
                    session.project_id,
                ),
            )

    async def session(self, session_id: str) -> Session | None:
        row = self._t.conn.execute(
            "SELECT id, user_id, created_at, seen_at, project_id FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        return _session(row) if row else None

    async def touch_session(self, session_id: str, at: datetime, project_id: str | None = None) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "UPDATE sessions SET seen_at = ?, project_id = coalesce(?, project_id) WHERE id = ?",
                (at.isoformat(), project_id, session_id),
            )

    async def end_session(self, session_id: str) -> None:
        async with self._t.tx() as conn:
            conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    async def end_sessions(self, user_id: str) -> None:
        async with self._t.tx() as conn:
            conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
