"""Rate-limit logs in this process's memory: right for one process, wrong for several."""

from __future__ import annotations

from collections import deque

from autorelay_core.policies.rate_limit import Admission, Limit


class MemoryRateLimits:
    """`policies.rate_limit.admit` on a deque per bucket: expired entries leave from the left, each
    once, so a check costs O(1) however high the limit."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        log = self._logs.setdefault(bucket, deque())
        horizon = now - limit.window
        while log and log[0] <= horizon:
            log.popleft()
        allowed = len(log) < limit.count
        if allowed:
            log.append(now)
        return Admission(allowed, len(log), log[0] if log else None)

    async def forget(self, bucket: str) -> None:
        self._logs.pop(bucket, None)

    async def close(self) -> None:
        return None  # nothing of its own to let go of
