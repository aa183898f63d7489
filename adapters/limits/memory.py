"""Rate-limit logs in this process's memory: right for one process, wrong for several."""

from __future__ import annotations

from autorelay_core.policies.rate_limit import Admission, Limit, admit


class MemoryRateLimits:
    def __init__(self) -> None:
        self._logs: dict[str, list[float]] = {}

    async def hit(self, bucket: str, now: float, limit: Limit) -> Admission:
        admission, log = admit(self._logs.get(bucket, []), now, limit)
        self._logs[bucket] = log
        return admission
