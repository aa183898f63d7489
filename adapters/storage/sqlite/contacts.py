"""Contacts, lists and OTP codes on SQLite (see tables.py for the connection and transactions)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters.storage.rows.contacts import (
    COLUMNS,
    FIELDS,
    UPDATE,
    contact_row,
    update_args,
    values,
)
from adapters.storage.sqlite.segments import SegmentQueries
from adapters.storage.sqlite.tables import Tables
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.otp import OtpCode
from autorelay_core.domain.suppressions import Suppression, SuppressionReason
from autorelay_core.errors import Conflict
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.ports import ContactQuery

_CHUNK = 500  # bound parameters per IN (...) query


def _row(contact: Contact) -> tuple:
    return values(contact, contact.created_at.isoformat())


_INSERT = f"INSERT INTO contacts ({FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"


class SqliteContacts(SegmentQueries):
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, contact: Contact) -> None:
        try:
            async with self._t.tx() as conn:
                conn.execute(_INSERT, _row(contact))
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the list already has a contact with the email {contact.email}") from error

    async def add_many(self, contacts: list[Contact]) -> list[Contact]:
        async with self._t.tx() as conn:
            taken: set[tuple[str, str]] = set()
            for list_id in {c.list_id for c in contacts}:
                keys = [c.email_key for c in contacts if c.list_id == list_id]
                for start in range(0, len(keys), _CHUNK):
                    chunk = keys[start : start + _CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = conn.execute(
                        f"SELECT email_key FROM contacts WHERE list_id = ? AND email_key IN ({marks})",
                        [list_id, *chunk],
                    )
                    taken.update((list_id, k) for (k,) in rows)
            fresh = []
            for contact in contacts:
                if (contact.list_id, contact.email_key) not in taken:
                    taken.add((contact.list_id, contact.email_key))
                    fresh.append(contact)
            conn.executemany(_INSERT, [_row(c) for c in fresh])
        return fresh

    async def get(self, project_id: str, contact_id: str) -> Contact | None:
        row = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM contacts WHERE id = ? AND project_id = ?", (contact_id, project_id)
        ).fetchone()
        return contact_row(row) if row else None

    async def get_many(self, project_id: str, contact_ids: list[str]) -> list[Contact]:
        found: dict[str, Contact] = {}
        for start in range(0, len(contact_ids), 500):
            chunk = contact_ids[start : start + 500]
            rows = self._t.conn.execute(
                f"SELECT {COLUMNS} FROM contacts WHERE project_id = ? AND id IN ({', '.join('?' * len(chunk))})",
                (project_id, *chunk),
            )
            found.update((c.id, c) for c in map(contact_row, rows))
        return [found[i] for i in contact_ids if i in found]

    async def of_person(self, project_id: str, email_key: str) -> list[Contact]:
        rows = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM contacts WHERE project_id = ? AND email_key = ? ORDER BY seq",
            (project_id, email_key),
        )
        return [contact_row(r) for r in rows]

    async def people(self, project_id: str, limit: int, after: str | None = None) -> list[Contact]:
        rows = self._t.conn.execute(
            f"SELECT {COLUMNS} FROM contacts WHERE seq IN (SELECT min(seq) FROM contacts WHERE project_id = ?"
            " GROUP BY email_key) AND seq > coalesce((SELECT seq FROM contacts WHERE id = ? AND project_id = ?), 0)"
            " ORDER BY seq LIMIT ?",
            (project_id, after, project_id, limit),
        )
        return [contact_row(r) for r in rows]

    async def update(self, contact: Contact) -> None:
        try:
            async with self._t.tx() as conn:
                conn.execute(
                    f"UPDATE contacts SET {UPDATE.format(p='?')} WHERE id = ? AND project_id = ?", update_args(contact)
                )
        except sqlite3.IntegrityError as error:
            raise Conflict(f"the list already has a contact with the email {contact.email}") from error

    async def delete(self, project_id: str, contact_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute("DELETE FROM contacts WHERE id = ? AND project_id = ?", (contact_id, project_id))
        return cursor.rowcount == 1

    async def page(self, project_id: str, query: ContactQuery, page: OffsetRequest) -> OffsetPage[Contact]:
        where, args = "project_id = ? AND list_id = ?", [project_id, query.list_id]
        if query.status is not None:
            where += " AND status = ?"
            args.append(query.status.value)
        conn = self._t.conn
        if query.search:
            needle = query.search.lower()  # search_key is lower-cased already
            if len(needle) >= 3:  # the trigram index finds it (fewer letters make no trigram)
                where += " AND seq IN (SELECT rowid FROM contacts_words WHERE contacts_words MATCH ?)"
                args.append('"' + needle.replace('"', '""') + '"')
            else:
                where += " AND instr(search_key, ?) > 0"
                args.append(needle)
            (total,) = conn.execute(f"SELECT count(*) FROM contacts WHERE {where}", args).fetchone()
        else:  # the counts the triggers keep (schema 29), not a count of the list
            counted = (  # the list must be the project's: another's count is not this project's business
                "SELECT coalesce(sum(n), 0) FROM contact_counts"
                " WHERE list_id = (SELECT id FROM contact_lists WHERE id = ? AND project_id = ?)"
            )
            counted += " AND status = ?" if query.status is not None else ""
            wanted = [query.list_id, project_id] + ([query.status.value] if query.status is not None else [])
            (total,) = conn.execute(counted, wanted).fetchone()
        # The offset is walked in the index alone (seq only); just the page's rows are read.
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM contacts WHERE seq IN"
            f" (SELECT seq FROM contacts WHERE {where} ORDER BY seq LIMIT ? OFFSET ?) ORDER BY seq",
            [*args, page.page_size, page.offset],
        ).fetchall()
        return OffsetPage(items=[contact_row(r) for r in rows], total=total)

    async def count(self, project_id: str) -> int:
        return self._t.conn.execute(
            "SELECT coalesce(sum(n), 0) FROM contact_counts WHERE list_id IN"
            " (SELECT id FROM contact_lists WHERE project_id = ?)",
            (project_id,),
        ).fetchone()[0]

    async def confirm_pending(self, project_id: str, email_key: str) -> int:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                "UPDATE contacts SET status = ? WHERE project_id = ? AND email_key = ? AND status = ?",
                (ContactStatus.SUBSCRIBED.value, project_id, email_key, ContactStatus.PENDING.value),
            )
        return cursor.rowcount

    async def unsubscribe(self, project_id: str, contact_id: str, list_id: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                "UPDATE contacts SET status = 'unsubscribed' WHERE id = ? AND project_id = ? AND list_id = ?"
                " AND status IN ('subscribed', 'pending')",
                (contact_id, project_id, list_id),
            )
        return cursor.rowcount == 1

    async def mark_undeliverable(self, project_id: str, email_key: str, status: ContactStatus) -> int:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                "UPDATE contacts SET status = ? WHERE project_id = ? AND email_key = ?"
                " AND status NOT IN ('bounced', 'complained')",
                (status.value, project_id, email_key),
            )
        return cursor.rowcount


def _list(row: tuple) -> ContactList:
    lid, project_id, name, double_opt_in, created, count = row
    return ContactList(lid, project_id, name, datetime.fromisoformat(created), bool(double_opt_in), count)


# Each list with its count, as the triggers keep it (schema 29).
_LISTS = (
    "SELECT l.id, l.project_id, l.name, l.double_opt_in, l.created_at,"
    " (SELECT coalesce(sum(n), 0) FROM contact_counts WHERE list_id = l.id) FROM contact_lists l"
    " WHERE l.project_id = ? {extra} ORDER BY l.created_at, l.rowid"
)
_LIST_ONLY = (
    "SELECT id, project_id, name, double_opt_in, created_at, 0 FROM contact_lists WHERE project_id = ? AND id = ?"
)


class SqliteLists:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, contact_list: ContactList) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "INSERT INTO contact_lists (id, project_id, name, double_opt_in, created_at) VALUES (?, ?, ?, ?, ?)",
                (
                    contact_list.id,
                    contact_list.project_id,
                    contact_list.name,
                    int(contact_list.double_opt_in),
                    contact_list.created_at.isoformat(),
                ),
            )

    async def get(self, project_id: str, list_id: str, *, counted: bool = True) -> ContactList | None:
        query = _LISTS.format(extra="AND l.id = ?") if counted else _LIST_ONLY
        row = self._t.conn.execute(query, (project_id, list_id)).fetchone()
        return _list(row) if row else None

    async def all(self, project_id: str) -> list[ContactList]:
        return [_list(r) for r in self._t.conn.execute(_LISTS.format(extra=""), (project_id,))]

    async def update(self, contact_list: ContactList) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "UPDATE contact_lists SET name = ?, double_opt_in = ? WHERE id = ? AND project_id = ?",
                (contact_list.name, int(contact_list.double_opt_in), contact_list.id, contact_list.project_id),
            )

    async def delete(self, project_id: str, list_id: str) -> bool:
        async with self._t.tx() as conn:
            deleted = conn.execute(
                "DELETE FROM contact_lists WHERE id = ? AND project_id = ?", (list_id, project_id)
            ).rowcount
            if deleted:
                conn.execute("DELETE FROM contacts WHERE project_id = ? AND list_id = ?", (project_id, list_id))
        return deleted == 1


def _otp(row: tuple) -> OtpCode:
    project_id, key, purpose, oid, code_hash, created, expires, wrong, used = row
    return OtpCode(
        oid,
        project_id,
        key,
        purpose,
        code_hash,
        datetime.fromisoformat(created),
        datetime.fromisoformat(expires),
        wrong,
        datetime.fromisoformat(used) if used else None,
    )


class SqliteOtp:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def put(self, code: OtpCode) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO otp_codes (project_id, email_key, purpose, id, code_hash, created_at,"
                " expires_at, wrong, used_at) VALUES (?, ?, ?, ?, ?, ?, ?, 0, NULL)",
                (
                    code.project_id,
                    code.email_key,
                    code.purpose,
                    code.id,
                    code.code_hash,
                    code.created_at.isoformat(),
                    code.expires_at.isoformat(),
                ),
            )

    async def current(self, project_id: str, email_key: str, purpose: str) -> OtpCode | None:
        row = self._t.conn.execute(
            "SELECT project_id, email_key, purpose, id, code_hash, created_at, expires_at, wrong, used_at"
            " FROM otp_codes WHERE project_id = ? AND email_key = ? AND purpose = ?",
            (project_id, email_key, purpose),
        ).fetchone()
        return _otp(row) if row else None

    async def use(self, code: OtpCode, at: datetime) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                "UPDATE otp_codes SET used_at = ? WHERE project_id = ? AND email_key = ? AND purpose = ? AND id = ?"
                " AND used_at IS NULL AND wrong = ?",
                (at.isoformat(), code.project_id, code.email_key, code.purpose, code.id, code.wrong),
            )
        return cursor.rowcount == 1

    async def wrong_try(self, code: OtpCode) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                "UPDATE otp_codes SET wrong = wrong + 1 WHERE project_id = ? AND email_key = ? AND purpose = ?"
                " AND id = ?",
                (code.project_id, code.email_key, code.purpose, code.id),
            )


def _suppression(row: tuple) -> Suppression:
    project_id, _, email, reason, detail, created = row
    return Suppression(project_id, email, SuppressionReason(reason), datetime.fromisoformat(created), detail)


_SUPPRESSION_COLUMNS = "project_id, email_key, email, reason, detail, created_at"


class SqliteSuppressions:
    def __init__(self, tables: Tables) -> None:
        self._t = tables

    async def add(self, suppression: Suppression) -> None:
        async with self._t.tx() as conn:
            conn.execute(
                f"INSERT INTO suppressions ({_SUPPRESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    suppression.project_id,
                    suppression.email_key,
                    suppression.email,
                    suppression.reason.value,
                    suppression.detail,
                    suppression.created_at.isoformat(),
                ),
            )

    async def matching(self, project_id: str, email_keys: list[str]) -> list[Suppression]:
        keys = list(dict.fromkeys(email_keys))
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = self._t.conn.execute(
            f"SELECT {_SUPPRESSION_COLUMNS} FROM suppressions WHERE project_id = ? AND email_key IN ({marks})",
            [project_id, *keys],
        )
        return [_suppression(r) for r in rows]

    async def page(self, project_id: str, limit: int, after: str | None) -> list[Suppression]:
        rows = self._t.conn.execute(
            f"SELECT {_SUPPRESSION_COLUMNS} FROM suppressions WHERE project_id = ? AND email_key > ?"
            " ORDER BY email_key LIMIT ?",
            (project_id, after or "", limit),
        )
        return [_suppression(r) for r in rows]

    async def remove(self, project_id: str, email_key: str) -> bool:
        async with self._t.tx() as conn:
            cursor = conn.execute(
                "DELETE FROM suppressions WHERE project_id = ? AND email_key = ?", (project_id, email_key)
            )
        return cursor.rowcount == 1
