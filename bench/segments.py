"""Counting a segment over 100,000 contacts with 1,000,000 events, on SQLite and PostgreSQL: prints
JSON (milliseconds per count, the median and the slowest of --samples, per filter). The goal
(#38): every count within 500 ms on this machine.

The contacts go in through the storage adapter (add_many); the events, a million of them, are
seeded with one bulk INSERT per database (through the adapter's own connection), since recording
them one request at a time would measure the seeding, not the count.

Usage: python bench/segments.py [--contacts 100000] [--events 1000000] [--samples 5]
                                [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from adapters.storage.postgres.store import PostgresStorage  # noqa: E402
from adapters.storage.rows.activity import when  # noqa: E402
from adapters.storage.sqlite.store import SqliteStorage  # noqa: E402
from autorelay_core.domain.contacts import Contact, ContactList  # noqa: E402
from autorelay_core.domain.properties import ContactProperty, PropertyType  # noqa: E402
from autorelay_core.domain.segments import parse  # noqa: E402
from tests.backends import with_search_path  # noqa: E402

PROJECT = "prj_bench"
NOW = datetime.now(UTC)
NAMES = ["page_viewed", "logged_in", "purchased", "invited", "upgraded"]  # most common first
WEIGHTS = [60, 25, 8, 5, 2]
FILTERS = {
    "property": {"property": "plan", "op": "eq", "value": "pro"},
    "number range": {
        "and": [{"property": "seats", "op": "gte", "value": 10}, {"property": "seats", "op": "lt", "value": 50}]
    },
    "did purchased 3x in 30 days": {"event": "purchased", "atLeast": 3, "days": 30},
    "did not log in for 90 days": {"not": {"event": "logged_in", "days": 90}},
    "opened the campaign": {"campaign": "cmp_bench", "did": "opened"},
    "in a list and pro or buyer": {
        "and": [
            {"list": "lst_b"},
            {
                "or": [
                    {"property": "plan", "op": "eq", "value": "pro"},
                    {"event": "purchased", "atLeast": 2, "days": 60},
                ]
            },
        ]
    },
    "text contains": {"field": "email", "op": "contains", "value": "99"},
}
PROPS = {
    "plan": ContactProperty("prop_plan", PROJECT, "plan", PropertyType.TEXT, NOW, "free"),
    "seats": ContactProperty("prop_seats", PROJECT, "seats", PropertyType.NUMBER, NOW, 1),
}


async def seed(store, contacts: int, events: int) -> None:
    await store.migrate()
    for list_id in ("lst_a", "lst_b"):
        await store.lists.add(ContactList(list_id, PROJECT, list_id, NOW))
    for prop in PROPS.values():
        await store.properties.add(prop)
    chance = random.Random(7)
    batch = []
    for n in range(contacts):
        properties = {"plan": chance.choice(["free", "pro", "team"]), "seats": chance.randrange(100)}
        batch.append(
            Contact(
                f"con_{n}",
                PROJECT,
                "lst_a" if n % 3 else "lst_b",
                f"p{n}@example.com",
                NOW,
                None,
                None,
                properties=properties,
            )
        )
        if len(batch) == 5000:
            await store.contacts.add_many(batch)
            batch = []
    if batch:
        await store.contacts.add_many(batch)
    rows = []
    for n in range(events):
        name = chance.choices(NAMES, WEIGHTS)[0]
        campaign = "cmp_bench" if n % 10 == 0 else None
        name = "email.opened" if campaign else name
        at = NOW - timedelta(seconds=chance.randrange(180 * 86400))
        rows.append((f"cev_{n}", PROJECT, f"p{chance.randrange(contacts)}@example.com", name, at, campaign))
    await bulk_events(store, rows)


async def bulk_events(store, rows: list[tuple]) -> None:
    if isinstance(store, SqliteStorage):
        conn = store.contact_events._t.conn
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO contact_events (id, project_id, email_key, name, occurred_at, campaign_id)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(i, p, k, n, when(at), c) for i, p, k, n, at, c in rows],
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        return
    async with store.contact_events.db.connection() as conn:
        async with conn.cursor() as cursor:
            async with cursor.copy(
                "COPY contact_events (id, project_id, email_key, name, occurred_at, campaign_id) FROM STDIN"
            ) as copy:
                for row in rows:
                    await copy.write_row(row)
        await conn.commit()
        await conn.execute("ANALYZE")
        await conn.commit()


async def measure(store, samples: int) -> dict:
    declared = {p.key: p for p in await store.properties.all(PROJECT)}
    figures = {}
    for name, tree in FILTERS.items():
        node = parse(tree, declared, datetime.now(UTC))
        timings, count = [], 0
        for _ in range(samples):
            started = time.perf_counter()
            count = await store.contacts.count_matching(PROJECT, node)
            timings.append((time.perf_counter() - started) * 1000)
        figures[name] = {
            "people": count,
            "median_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
        }
    return figures


async def run(backend: str, args: argparse.Namespace, directory: Path) -> dict:
    schema = None
    if backend == "sqlite":
        store = SqliteStorage(directory / "segments.db")
    else:
        import psycopg

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        store = PostgresStorage(with_search_path(args.postgres, schema))
    try:
        started = time.perf_counter()
        await seed(store, args.contacts, args.events)
        seeded = round(time.perf_counter() - started, 1)
        return {"seeded_s": seeded, "counts": await measure(store, args.samples)}
    finally:
        await store.close()
        if schema:
            import psycopg

            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=5)
    parser.add_argument("--postgres", default="")
    args = parser.parse_args()
    result = {"benchmark": "segment counts", "contacts": args.contacts, "events": args.events, "goal_ms": 500}
    with tempfile.TemporaryDirectory() as tmp:
        result["sqlite"] = asyncio.run(run("sqlite", args, Path(tmp)))
        if args.postgres:
            result["postgres"] = asyncio.run(run("postgres", args, Path(tmp)))
    slowest = max(
        f["max_ms"] for key in ("sqlite", "postgres") if key in result for f in result[key]["counts"].values()
    )
    result["slowest_ms"] = slowest
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
