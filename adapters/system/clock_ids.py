"""The real clock and the real id generator."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime

# Ids start with the milliseconds since this moment (2020-01-01 UTC), 10 hex digits (until 2054).
_EPOCH_MS = 1_577_836_800_000


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """`<prefix>_` + 10 hex digits of the time in milliseconds + 30 hex digits: 120 random bits
    from the OS CSPRNG. Time first, so that rows made together (a campaign's emails, their events)
    sit together in every index on their id: a write touches the pages it shares with its
    neighbours instead of a random page each (a page each is a WAL frame each, 4 KB).

    The bytes come from os.urandom in 4 KiB reads rather than one system call per id: every system
    call releases the GIL, and on a busy server getting it back costs more than the call itself.
    """

    _CHUNK = 4096
    _SIZE = 15

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._offset = 0

    def _take(self) -> bytes:
        with self._lock:
            if self._offset + self._SIZE > len(self._pool):
                self._pool, self._offset = os.urandom(self._CHUNK), 0
            start, self._offset = self._offset, self._offset + self._SIZE
            return self._pool[start : self._offset]

    def new(self, prefix: str) -> str:
        return f"{prefix}_{time.time_ns() // 1_000_000 - _EPOCH_MS:010x}{self._take().hex()}"
