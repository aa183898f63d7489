"""Contacts, lists and OTP codes on PostgreSQL (see store.py for the pool)."""

from __future__ import annotations

from datetime import datetime

from psycopg import errors

from adapters.storage.postgres.database import Database
from adapters.storage.postgres.segments import SegmentQueries
from adapters.storage.rows.contacts import (
    COLUMNS,
    FIELDS,
    LIKE_ESCAPE,
    UPDATE,
    contact_row,
    like_pattern,
    update_args,
    values,
)
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.otp import OtpCode
from autorelay_core.domain.suppressions import Suppression, SuppressionReason
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.ports import ContactQuery

_MARKS = ", ".join(["%s"] * 11)


class PostgresContacts(SegmentQueries):
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, contact: Contact) -> None:
        try:
            await self.db.rowcount(
                f"INSERT INTO contacts ({FIELDS}) VALUES ({', '.join(['%s'] * 11)})", values(contact)
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"the list already has a contact with the email {contact.email}") from error

    async def add_many(self, contacts: list[Contact]) -> list[Contact]:
        if not contacts:
            return []
        columns = list(zip(*(values(c) for c in contacts), strict=True))
        # One statement: rows whose address the list already has (or that repeat one) are skipped.
        rows = await self.db.fetchall(
            f"INSERT INTO contacts ({FIELDS}) SELECT * FROM unnest(%s::text[], %s::text[], %s::text[],"
            " %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::timestamptz[],"
            " %s::jsonb[])"
            " ON CONFLICT (list_id, email_key) DO NOTHING RETURNING id",
            tuple(list(column) for column in columns),
        )
        inserted = {r[0] for r in rows}
        return [c for c in contacts if c.id in inserted]

    async def get(self, project_id: str, contact_id: str) -> Contact | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM contacts WHERE id = %s AND project_id = %s", (contact_id, project_id)
        )
        return contact_row(row) if row else None

    async def get_many(self, project_id: str, contact_ids: list[str]) -> list[Contact]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM contacts WHERE project_id = %s AND id = ANY(%s::text[])", (project_id, contact_ids)
        )
        found = {c.id: c for c in map(contact_row, rows)}
        return [found[i] for i in contact_ids if i in found]

    async def of_person(self, project_id: str, email_key: str) -> list[Contact]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM contacts WHERE project_id = %s AND email_key = %s ORDER BY seq",
            (project_id, email_key),
        )
        return [contact_row(r) for r in rows]

    async def people(self, project_id: str, limit: int, after: str | None = None) -> list[Contact]:
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM contacts WHERE seq IN (SELECT min(seq) FROM contacts WHERE project_id = %s"
            " GROUP BY email_key) AND seq > coalesce((SELECT seq FROM contacts WHERE id = %s AND project_id = %s), 0)"
            " ORDER BY seq LIMIT %s",
            (project_id, after, project_id, limit),
        )
        return [contact_row(r) for r in rows]

    async def update(self, contact: Contact) -> None:
        try:
            await self.db.rowcount(
                f"UPDATE contacts SET {UPDATE.format(p='%s')} WHERE id = %s AND project_id = %s", update_args(contact)
            )
        except errors.UniqueViolation as error:
            raise Conflict(f"the list already has a contact with the email {contact.email}") from error

    async def delete(self, project_id: str, contact_id: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM contacts WHERE id = %s AND project_id = %s", (contact_id, project_id)
        )
        return deleted == 1

    async def page(self, project_id: str, query: ContactQuery, page: OffsetRequest) -> OffsetPage[Contact]:
        where, args = "project_id = %s AND list_id = %s", [project_id, query.list_id]
        if query.status is not None:
            where += " AND status = %s"
            args.append(query.status.value)
        if query.search:  # a pg_trgm index finds it where there is one (schema 29)
            where += f" AND search_key LIKE %s ESCAPE '{LIKE_ESCAPE}'"
            args.append(like_pattern(query.search))
            counted, wanted = f"SELECT count(*) FROM contacts WHERE {where}", args
        else:  # the counts the triggers keep (schema 29), not a count of the list; the project's list only
            counted = (
                "SELECT coalesce(sum(n), 0) FROM contact_counts"
                " WHERE list_id = (SELECT id FROM contact_lists WHERE id = %s AND project_id = %s)"
            )
            counted += " AND status = %s" if query.status is not None else ""
            wanted = [query.list_id, project_id] + ([query.status.value] if query.status is not None else [])
        async with self.db.connection() as conn:
            total = await (await conn.execute(counted, wanted)).fetchone()
            rows = await (
                await conn.execute(
                    f"SELECT {COLUMNS} FROM contacts WHERE seq IN"
                    f" (SELECT seq FROM contacts WHERE {where} ORDER BY seq LIMIT %s OFFSET %s) ORDER BY seq",
                    [*args, page.page_size, page.offset],
                )
            ).fetchall()
        return OffsetPage(items=[contact_row(r) for r in rows], total=total[0] if total else 0)

    async def count(self, project_id: str) -> int:
        row = await self.db.fetchone(
            "SELECT coalesce(sum(n), 0) FROM contact_counts WHERE list_id IN"
            " (SELECT id FROM contact_lists WHERE project_id = %s)",
            (project_id,),
        )
        return row[0] if row else 0

    async def confirm_pending(self, project_id: str, email_key: str) -> int:
        return await self.db.rowcount(
            "UPDATE contacts SET status = %s WHERE project_id = %s AND email_key = %s AND status = %s",
            (ContactStatus.SUBSCRIBED.value, project_id, email_key, ContactStatus.PENDING.value),
        )

    async def unsubscribe(self, project_id: str, contact_id: str, list_id: str) -> bool:
        changed = await self.db.rowcount(
            "UPDATE contacts SET status = 'unsubscribed' WHERE id = %s AND project_id = %s AND list_id = %s"
            " AND status IN ('subscribed', 'pending')",
            (contact_id, project_id, list_id),
        )
        return changed == 1

    async def mark_undeliverable(self, project_id: str, email_key: str, status: ContactStatus) -> int:
        return await self.db.rowcount(
            "UPDATE contacts SET status = %s WHERE project_id = %s AND email_key = %s"
            " AND status NOT IN ('bounced', 'complained')",
            (status.value, project_id, email_key),
        )


def _list(row: tuple) -> ContactList:
    lid, project_id, name, double_opt_in, created, count = row
    return ContactList(lid, project_id, name, created, double_opt_in, count)


# Each list with its count, as the triggers keep it (schema 29).
_LISTS = (
    "SELECT l.id, l.project_id, l.name, l.double_opt_in, l.created_at,"
    " (SELECT coalesce(sum(n), 0)::integer FROM contact_counts WHERE list_id = l.id) FROM contact_lists l"
    " WHERE l.project_id = %s {extra} ORDER BY l.created_at, l.id"
)
_LIST_ONLY = (
    "SELECT id, project_id, name, double_opt_in, created_at, 0 FROM contact_lists WHERE project_id = %s AND id = %s"
)


class PostgresLists:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, contact_list: ContactList) -> None:
        await self.db.rowcount(
            "INSERT INTO contact_lists (id, project_id, name, double_opt_in, created_at) VALUES (%s, %s, %s, %s, %s)",
            (
                contact_list.id,
                contact_list.project_id,
                contact_list.name,
                contact_list.double_opt_in,
                contact_list.created_at,
            ),
        )

    async def get(self, project_id: str, list_id: str, *, counted: bool = True) -> ContactList | None:
        query = _LISTS.format(extra="AND l.id = %s") if counted else _LIST_ONLY
        row = await self.db.fetchone(query, (project_id, list_id))
        return _list(row) if row else None

    async def all(self, project_id: str) -> list[ContactList]:
        return [_list(r) for r in await self.db.fetchall(_LISTS.format(extra=""), (project_id,))]

    async def update(self, contact_list: ContactList) -> None:
        await self.db.rowcount(
            "UPDATE contact_lists SET name = %s, double_opt_in = %s WHERE id = %s AND project_id = %s",
            (contact_list.name, contact_list.double_opt_in, contact_list.id, contact_list.project_id),
        )

    async def delete(self, project_id: str, list_id: str) -> bool:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM contact_lists WHERE id = %s AND project_id = %s", (list_id, project_id)
            )
            if cursor.rowcount != 1:
                return False
            await conn.execute("DELETE FROM contacts WHERE project_id = %s AND list_id = %s", (project_id, list_id))
            return True


_OTP_COLUMNS = "project_id, email_key, purpose, id, code_hash, created_at, expires_at, wrong, used_at"


class PostgresOtp:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, code: OtpCode) -> None:
        await self.db.rowcount(
            f"INSERT INTO otp_codes ({_OTP_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, 0, NULL)"
            " ON CONFLICT (project_id, email_key, purpose) DO UPDATE SET id = excluded.id,"
            " code_hash = excluded.code_hash, created_at = excluded.created_at, expires_at = excluded.expires_at,"
            " wrong = 0, used_at = NULL",
            (
                code.project_id,
                code.email_key,
                code.purpose,
                code.id,
                code.code_hash,
                code.created_at,
                code.expires_at,
            ),
        )

    async def current(self, project_id: str, email_key: str, purpose: str) -> OtpCode | None:
        row = await self.db.fetchone(
            f"SELECT {_OTP_COLUMNS} FROM otp_codes WHERE project_id = %s AND email_key = %s AND purpose = %s",
            (project_id, email_key, purpose),
        )
        if row is None:
            return None
        project_id, key, purpose, oid, code_hash, created, expires, wrong, used = row
        return OtpCode(oid, project_id, key, purpose, code_hash, created, expires, wrong, used)

    async def use(self, code: OtpCode, at: datetime) -> bool:
        updated = await self.db.rowcount(
            "UPDATE otp_codes SET used_at = %s WHERE project_id = %s AND email_key = %s AND purpose = %s AND id = %s"
            " AND used_at IS NULL AND wrong = %s",
            (at, code.project_id, code.email_key, code.purpose, code.id, code.wrong),
        )
        return updated == 1

    async def wrong_try(self, code: OtpCode) -> None:
        await self.db.rowcount(
            "UPDATE otp_codes SET wrong = wrong + 1 WHERE project_id = %s AND email_key = %s AND purpose = %s"
            " AND id = %s",
            (code.project_id, code.email_key, code.purpose, code.id),
        )


_SUPPRESSION_COLUMNS = "project_id, email_key, email, reason, detail, created_at"


def _suppression(row: tuple) -> Suppression:
    project_id, _, email, reason, detail, created = row
    return Suppression(project_id, email, SuppressionReason(reason), created, detail)


class PostgresSuppressions:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, suppression: Suppression) -> None:
        await self.db.rowcount(
            f"INSERT INTO suppressions ({_SUPPRESSION_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (
                suppression.project_id,
                suppression.email_key,
                suppression.email,
                suppression.reason.value,
                suppression.detail,
                suppression.created_at,
            ),
        )

    async def matching(self, project_id: str, email_keys: list[str]) -> list[Suppression]:
        if not email_keys:
            return []
        rows = await self.db.fetchall(
            f"SELECT {_SUPPRESSION_COLUMNS} FROM suppressions WHERE project_id = %s AND email_key = ANY(%s)",
            (project_id, list(dict.fromkeys(email_keys))),
        )
        return [_suppression(r) for r in rows]

    async def page(self, project_id: str, limit: int, after: str | None) -> list[Suppression]:
        rows = await self.db.fetchall(
            f"SELECT {_SUPPRESSION_COLUMNS} FROM suppressions WHERE project_id = %s AND email_key > %s"
            ' ORDER BY email_key COLLATE "C" LIMIT %s',
            (project_id, after or "", limit),
        )
        return [_suppression(r) for r in rows]

    async def remove(self, project_id: str, email_key: str) -> bool:
        deleted = await self.db.rowcount(
            "DELETE FROM suppressions WHERE project_id = %s AND email_key = %s", (project_id, email_key)
        )
        return deleted == 1
