"""Offload: CPU-bound work on a small thread pool, so the event loop keeps answering.

Two threads: rendering and HTML conversion are bounded per call (time, output), and two at a time
bounds their memory too; more threads would not add throughput under the GIL anyway.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class ThreadOffload:
    def __init__(self, workers: int = 2) -> None:
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="autorelay-cpu")

    async def run(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(function, *args))
