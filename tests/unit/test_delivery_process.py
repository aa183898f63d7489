"""The supervisor of serve's delivery worker (composition/delivery_process.py), with small stand-in
programs for the worker: it is started again when it ends, its output reaches the log whatever
its length, and stopping ends it even when it ignores SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys
import time

from composition.delivery_process import DeliveryProcess


async def _until(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.02)
    return False


async def test_a_worker_that_ends_is_started_again_and_a_runaway_line_does_not_end_the_watch():
    # 3 MB on one line (more than the reader's limit), then a line of its own, then an exit.
    script = "import os, sys; print('x' * 3_000_000); print('hello from', os.getpid(), flush=True); sys.exit(3)"
    lines: list[str] = []
    worker = DeliveryProcess([sys.executable, "-c", script], dict(os.environ), out=lines.append, delays=(0.05,))
    first = await worker.start()
    assert await _until(lambda: worker.starts >= 3), lines[-3:]
    await worker.stop(grace=5)
    hellos = [line for line in lines if line.startswith("hello from")]
    assert len(hellos) >= 2 and hellos[0] == f"hello from {first}"
    assert len({line.split()[-1] for line in hellos}) == len(hellos), "each start is a new process"
    assert any(line.startswith("xxx") for line in lines), "what could be kept of the long line was logged"
    assert worker.pid is None


async def test_stopping_kills_a_worker_that_ignores_sigterm_after_the_grace():
    script = (
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('up', flush=True); time.sleep(60)"
    )
    lines: list[str] = []
    worker = DeliveryProcess([sys.executable, "-c", script], dict(os.environ), out=lines.append)
    await worker.start()
    assert await _until(lambda: lines == ["up"])
    started = time.monotonic()
    await worker.stop(grace=0.5)
    assert worker.pid is None and time.monotonic() - started < 5
    assert worker.starts == 1, "a stop is not a death: nothing is started again"
