"""Rate-limit logs in Redis sorted sets, shared by every process that uses the same Redis.

One Lua script per hit makes the read-decide-write atomic on the server; it is
`policies.rate_limit.admit` written in Lua.
"""

from __future__ import annotations

import secrets

from autorelay_core.errors import Unavailable
from autorelay_core.policies.rate_limit import Admission, Limit

# KEYS[1] bucket; ARGV: now, window, count, member
_HIT = """
local now, window, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local used = redis.call('ZCARD', KEYS[1])
local allowed = 0
if used < count then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  used = used + 1
  allowed = 1
end
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {allowed, used, oldest[2] or ''}
"""


# Connections one process keeps to Redis for rate limits, and how long a hit waits for a free one.
CONNECTIONS = 32
CONNECTION_WAIT = 5.0


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
        self._script = self._client.register_script(_HIT)
        self._prefix = prefix

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        from redis.exceptions import ConnectionError, TimeoutError

        member = f"{now:.6f}:{secrets.token_hex(4)}"
        try:
            allowed, used, oldest = await self._script(
                keys=[self._prefix + bucket], args=[repr(now), repr(limit.window), limit.count, member]
            )
        except (ConnectionError, TimeoutError) as error:
            raise Unavailable(f"the rate-limit store (Redis) is unavailable ({type(error).__name__})") from error
        return Admission(bool(allowed), int(used), float(oldest) if oldest not in (b"", "") else None)

    async def forget(self, bucket: str) -> None:
        from redis.exceptions import ConnectionError, TimeoutError

        try:
            await self._client.delete(self._prefix + bucket)
        except (ConnectionError, TimeoutError) as error:
            raise Unavailable(f"the rate-limit store (Redis) is unavailable ({type(error).__name__})") from error

    async def close(self) -> None:
        await self._client.aclose()
