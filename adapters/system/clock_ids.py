"""The real clock and the real id generator."""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """`<prefix>_` + 30 hex digits: 120 random bits from the OS CSPRNG.

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
        return f"{prefix}_{self._take().hex()}"
