"""Dashboard users, memberships and sessions in PostgreSQL."""

from __future__ import annotations

import builtins
from datetime import datetime

from psycopg import errors

from autorelay_core.domain.users import Membership, Role, Session, User
from autorelay_core.errors import Conflict

_USER = "id, email, created_at, password_hash, link_version"


class PostgresUsers:
    def __init__(self, db) -> None:
        self.db = db

    async def add(self, user: User) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO users ({_USER}, email_key) VALUES (%s, %s, %s, %s, %s, %s)",
                (user.id, user.email, user.created_at, user.password_hash, user.link_version, user.email.lower()),
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"a user with the email {user.email} already exists") from error

    async def get(self, user_id: str) -> User | None:
        row = await self.db.fetchone(f"SELECT {_USER} FROM users WHERE id = %s", (user_id,))
        return User(*row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self.db.fetchone(f"SELECT {_USER} FROM users WHERE email_key = %s", (email.lower(),))
        return User(*row) if row else None

    async def list(self) -> list[User]:
        return [User(*row) for row in await self.db.fetchall(f"SELECT {_USER} FROM users ORDER BY created_at, id")]

    async def new_link(self, user_id: str) -> int | None:
        row = await self.db.fetchone(
            "UPDATE users SET link_version = link_version + 1 WHERE id = %s RETURNING link_version", (user_id,)
        )
        return row[0] if row else None

    async def redeem_link(self, user_id: str, version: int, password_hash: str, email: str | None = None) -> bool:
        try:
            async with self.db.transaction() as conn:
                # The version check and the write are one statement: a racing redemption waits for
                # the row lock, then finds the version moved on and matches nothing.
                cursor = await conn.execute(
                    "UPDATE users SET password_hash = %s, link_version = link_version + 1,"
                    " email = coalesce(%s, email), email_key = coalesce(%s, email_key)"
                    " WHERE id = %s AND link_version = %s",
                    (password_hash, email, email.lower() if email else None, user_id, version),
                )
                if cursor.rowcount != 1:
                    return False
                await conn.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
        except errors.UniqueViolation as error:
            raise Conflict(f"a user with the email {email} already exists") from error
        return True

    async def delete(self, user_id: str) -> bool:
        async with self.db.transaction() as conn:
            await conn.execute("DELETE FROM memberships WHERE user_id = %s", (user_id,))
            await conn.execute("DELETE FROM sessions WHERE user_id = %s", (user_id,))
            cursor = await conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
            return cursor.rowcount == 1

    async def set_role(self, membership: Membership) -> None:
        await self.db.rowcount(
            "INSERT INTO memberships (user_id, project_id, role) VALUES (%s, %s, %s)"
            " ON CONFLICT (user_id, project_id) DO UPDATE SET role = excluded.role",
            (membership.user_id, membership.project_id, membership.role.value),
        )

    async def memberships(self, user_id: str) -> builtins.list[Membership]:
        rows = await self.db.fetchall(
            "SELECT project_id, role FROM memberships WHERE user_id = %s ORDER BY project_id", (user_id,)
        )
        return [Membership(user_id, project_id, Role(role)) for project_id, role in rows]

    async def members(self, project_id: str) -> builtins.list[tuple[User, Role]]:
        rows = await self.db.fetchall(
            "SELECT u.id, u.email, u.created_at, u.password_hash, u.link_version, m.role FROM memberships m"
            " JOIN users u ON u.id = m.user_id WHERE m.project_id = %s ORDER BY u.email_key",
            (project_id,),
        )
        return [(User(*row[:5]), Role(row[5])) for row in rows]

    async def remove_member(self, user_id: str, project_id: str) -> bool:
        return (
            await self.db.rowcount(
                "DELETE FROM memberships WHERE user_id = %s AND project_id = %s", (user_id, project_id)
            )
            == 1
        )

    async def add_session(self, session: Session) -> None:
        await self.db.rowcount(
            "INSERT INTO sessions (id, user_id, created_at, seen_at, project_id) VALUES (%s, %s, %s, %s, %s)",
            (session.id, session.user_id, session.created_at, session.seen_at, session.project_id),
        )

    async def session(self, session_id: str) -> Session | None:
        row = await self.db.fetchone(
            "SELECT id, user_id, created_at, seen_at, project_id FROM sessions WHERE id = %s", (session_id,)
        )
        return Session(*row) if row else None

    async def touch_session(self, session_id: str, at: datetime, project_id: str | None = None) -> None:
        await self.db.rowcount(
            "UPDATE sessions SET seen_at = %s, project_id = coalesce(%s, project_id) WHERE id = %s",
            (at, project_id, session_id),
        )

    async def end_session(self, session_id: str) -> None:
        await self.db.rowcount("DELETE FROM sessions WHERE id = %s", (session_id,))

    async def end_sessions(self, user_id: str) -> None:
        await self.db.rowcount("DELETE FROM sessions WHERE user_id = %s", (user_id,))
