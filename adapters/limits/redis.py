"""Rate-limit logs in Redis sorted sets, shared by every process that uses the same Redis.

One Lua script per batch of hits (one or more, taken in order) makes the read-decide-write atomic
on the server; it is `policies.rate_limit.admit` written in Lua.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from adapters.batching import Batcher
from autorelay_core.errors import Unavailable
from autorelay_core.policies.rate_limit import Admission, Limit

# Hits in order (one, or a batch of them): KEYS the buckets, ARGV four values per hit (now, window,
# count, member).
_HITS = """
local answers = {}
for i, key in ipairs(KEYS) do
  local at = (i - 1) * 4
  local now, window, count = tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2]), tonumber(ARGV[at + 3])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local used = redis.call('ZCARD', key)
  local allowed = 0
  if used < count then
    redis.call('ZADD', key, now, ARGV[at + 4])
    used = used + 1
    allowed = 1
  end
  redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  answers[i] = {allowed, used, oldest[2] or ''}
end
return answers
"""


# Connections one process keeps to Redis for rate limits, and how long a hit waits for a free one.
CONNECTIONS = 32
CONNECTION_WAIT = 5.0


def _args(now: float, limit: Limit) -> list[str | int]:
    return [repr(now), repr(limit.window), limit.count, f"{now:.6f}:{secrets.token_hex(4)}"]


def _admission(answer: list) -> Admission:
    allowed, used, oldest = answer
    return Admission(bool(allowed), int(used), float(oldest) if oldest not in (b"", "") else None)


@asynccontextmanager
async def _reachable() -> AsyncIterator[None]:
    from redis.exceptions import ConnectionError, TimeoutError

    try:
        yield
    except (ConnectionError, TimeoutError) as error:
        raise Unavailable(f"the rate-limit store (Redis) is unavailable ({type(error).__name__})") from error


class RedisRateLimits:
    def __init__(self, url: str, prefix: str = "autorelay:rl:") -> None:
        import redis.asyncio as redis

        # A Redis that is down is told quickly (503 with Retry-After), not waited for. Hits beyond
        # the pool's connections wait for one (up to CONNECTION_WAIT): redis-py's default pool
        # refuses the 101st at once (MaxConnectionsError), which stopped a worker's delivery passes
        # whenever more than 100 of its deliveries checked their pace at the same moment.
        pool = redis.BlockingConnectionPool.from_url(
            url, max_connections=CONNECTIONS, timeout=CONNECTION_WAIT, socket_connect_timeout=2, socket_timeout=2
        )
        self._client = redis.Redis(connection_pool=pool)
        self._script = self._client.register_script(_HITS)
        self._prefix = prefix
        # Hits that arrive together go in one script call, in order (adapters/batching.py): a
        # request's round trip to Redis was a third of the API's CPU for a send.
        self._hits: Batcher[tuple[str, float, Limit], Admission] = Batcher(self._hit_one, self._hit_many)

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        return await self._hits.run((bucket, now, limit))

    async def _hit_one(self, hit: tuple[str, float, Limit]) -> Admission:
        return (await self._hit_many([hit]))[0]

    async def _hit_many(self, hits: list[tuple[str, float, Limit]]) -> list[Admission]:
        async with _reachable():
            answers = await self._script(
                keys=[self._prefix + bucket for bucket, _, _ in hits],
                args=[value for _, now, limit in hits for value in _args(now, limit)],
            )
        return [_admission(answer) for answer in answers]

    async def forget(self, bucket: str) -> None:
        async with _reachable():
            await self._client.delete(self._prefix + bucket)

    async def close(self) -> None:
        await self._client.aclose()
