"""The PostgreSQL connection pool every repository shares: opened on first use on the loop that uses it,
the schema migrated, connections in autocommit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from psycopg import AsyncConnection, errors
from psycopg.types.json import set_json_loads
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from adapters.storage.postgres.schema import migrate
from autorelay_core.errors import Invalid, Unavailable

# How long a query waits for a free pooled connection before the request gets a 503.
CONNECTION_WAIT = 5.0


class Database:
    """A pool opened on first use, on the event loop that uses it, with the schema migrated.

    A pool belongs to one event loop; using it from another is a bug (each process runs one loop),
    reported as such rather than hanging.
    """

    def __init__(self, url: str, max_size: int = 10) -> None:
        self.url, self._max_size = url, max_size
        self._pool: AsyncConnectionPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()
        self.version = 0

    @staticmethod
    async def _configure(conn: AsyncConnection) -> None:
        set_json_loads(orjson.loads, conn)
        await conn.execute("SET TIME ZONE 'UTC'")

    async def pool(self) -> AsyncConnectionPool:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._loop is not None and self._loop is not loop:
            raise RuntimeError("a PostgresStorage is bound to the event loop that first used it")
        async with self._opening:
            if self._pool is None:
                try:
                    async with await AsyncConnection.connect(self.url, autocommit=True) as conn:
                        self.version = await migrate(conn)
                except errors.OperationalError as error:
                    raise Unavailable(f"the database is unavailable: {type(error).__name__}") from error
                pool = AsyncConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self._max_size,
                    kwargs={"autocommit": True},
                    configure=self._configure,
                    open=False,
                )
                try:
                    await pool.open(wait=True, timeout=30)
                except PoolTimeout as error:
                    await pool.close()
                    raise Unavailable("the database is unavailable (no connection could be opened)") from error
                self._pool, self._loop = pool, loop
        return self._pool

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection]:
        try:
            # A short wait for a free connection: a database that is down or saturated gets a quick
            # 503 with Retry-After instead of requests piling up for the pool's default 30 s.
            async with (await self.pool()).connection(timeout=CONNECTION_WAIT) as conn:
                yield conn
        except (PoolTimeout, errors.OperationalError) as error:
            # Server gone, connection lost, deadlock or serialization failure: all worth a retry.
            raise Unavailable(f"the database is unavailable ({type(error).__name__}); retry shortly") from error
        except errors.DataError as error:
            # The HTTP edge refuses NUL already; an embedder calling the core gets the same answer.
            if "NUL" in str(error) or isinstance(error, errors.UntranslatableCharacter):
                raise Invalid("text must not contain the NUL character (\\u0000)") from None
            raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.connection() as conn, conn.transaction():
            yield conn

    async def fetchone(self, query: str, params: tuple = ()) -> tuple | None:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchone()

    async def fetchall(self, query: str, params: tuple = ()) -> list[tuple]:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params)
            return await cursor.fetchall()

    async def rowcount(self, query: str, params: tuple = ()) -> int:
        async with self.connection() as conn:
            cursor = await conn.execute(query, params)
            return cursor.rowcount

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
