"""The send path's two PostgreSQL statements through psycopg 3 (the adapter as it is) and asyncpg.

A POST /emails on PostgreSQL makes two round trips: the rate-limit hit (`autorelay_rate_hit`) and
the add (`autorelay_add_email`: the email, its content, its event and its usage charge in one
statement). This runs both, back to back, from 32 concurrent tasks for a few seconds through:
- `psycopg`: the real adapter (`PostgresStorage`: psycopg 3 async, its pool, prepared statements);
- `asyncpg`: an asyncpg pool of the same size, the same SQL and the same parameters.

Prints JSON: sends/s, and CPU per send in this process (the driver's share of a server's request)
and in PostgreSQL's processes, for each. Needs `pip install asyncpg` (not a dependency).
Usage: python bench/pg_driver.py --postgres postgresql://postgres@127.0.0.1/bench [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

from cpu import postgres_cpu  # noqa: E402

from adapters.storage.postgres.store import PostgresStorage  # noqa: E402
from autorelay_core.domain.emails import Email, Event, EventType  # noqa: E402
from autorelay_core.domain.projects import Project  # noqa: E402
from autorelay_core.policies.rate_limit import Limit  # noqa: E402
from tests.backends import with_search_path  # noqa: E402

TASKS, POOL = 32, 10
LIMIT = Limit(10**9, 60)


def new_email(n: int) -> Email:
    return Email(
        id=f"em_{uuid.uuid4().hex}",
        project_id="prj_bench",
        message_id=f"<{n}@bench.test>",
        sender="AutoRelay <hello@bench.test>",
        to=("you@example.com",),
        subject="Hello from AutoRelay",
        html="<p>Hi there, this is a benchmark email.</p>",
        text="Hi there, this is a benchmark email.",
        created_at=datetime.now(UTC),
    )


async def measure(send, seconds: float) -> dict:
    count, stop = 0, time.monotonic() + seconds

    async def loop() -> None:
        nonlocal count
        while time.monotonic() < stop:
            await send(count)
            count += 1

    cpu, pg = time.process_time(), postgres_cpu()
    started = time.monotonic()
    await asyncio.gather(*(loop() for _ in range(TASKS)))
    took = time.monotonic() - started
    cpu, pg = time.process_time() - cpu, postgres_cpu() - pg
    return {
        "sends_per_s": round(count / took),
        "process_cpu_us_per_send": round(cpu / count * 1e6),
        "postgres_cpu_us_per_send": round(pg / count * 1e6),
    }


def dollar_params(query: str) -> str:
    parts = query.split("%s")
    return "".join(part + (f"${i + 1}" if i < len(parts) - 1 else "") for i, part in enumerate(parts))


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", required=True)
    parser.add_argument("--seconds", type=float, default=5)
    args = parser.parse_args()
    import asyncpg
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.postgres, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    url = with_search_path(args.postgres, schema)
    storage = PostgresStorage(url, POOL)
    try:
        await storage.projects.add(Project("prj_bench", "bench", datetime.now(UTC)))

        async def adapter_send(n: int) -> None:
            await storage.rate_limits.hit("bench", time.time(), LIMIT)
            email = new_email(n)
            await storage.emails.add(email, [Event(EventType.QUEUED, email.created_at)])

        await measure(adapter_send, 1)  # warm: statements prepared on every pooled connection
        results = {"psycopg": await measure(adapter_send, args.seconds)}

        # The adapter's own SQL and parameters, captured from one call, for asyncpg.
        captured: list[tuple[str, tuple]] = []
        real = storage.db.fetchone

        async def capture(query: str, params: tuple = ()) -> tuple | None:
            captured.append((query, params))
            return await real(query, params)

        storage.db.fetchone = capture  # type: ignore[method-assign]
        await adapter_send(0)
        storage.db.fetchone = real  # type: ignore[method-assign]
        (hit_sql, _), (add_sql, add_params) = captured
        hit_sql, add_sql = dollar_params(hit_sql), dollar_params(add_sql)

        pool = await asyncpg.create_pool(
            args.postgres, min_size=POOL, max_size=POOL, server_settings={"search_path": schema, "TimeZone": "UTC"}
        )

        async def asyncpg_send(n: int) -> None:
            async with pool.acquire() as conn:
                await conn.fetchrow(hit_sql, "bench", time.time(), LIMIT.count, float(LIMIT.window))
            params = list(add_params)
            params[0] = f"em_{uuid.uuid4().hex}"  # autorelay_add_email takes the id first
            async with pool.acquire() as conn:
                await conn.fetchval(add_sql, *params)

        await measure(asyncpg_send, 1)
        results["asyncpg"] = await measure(asyncpg_send, args.seconds)
        await pool.close()
    finally:
        await storage.close()
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
    print(json.dumps({"tasks": TASKS, "pool": POOL, "seconds": args.seconds, **results}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
