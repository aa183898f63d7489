"""`serve`'s deliveries in a process of their own: an `autorelay worker` that `serve` starts, watches,
restarts when it dies and stops with itself, its output in `serve`'s log.

Why a process: one Python process runs on one core at a time. Requests and deliveries in the same
process take turns on that core (deliveries get a share of it, `embedded_delivery_share`), so on a
machine with two or more cores the README's one command left the others idle. The worker is the
same `autorelay worker` a fleet runs, on the same database and queue; nothing new is shared.

Nothing is lost when it dies: an email it held is leased under its holder name, and a holder that
stops beating loses its leases within 2.5 beats (outbox.py), so the next worker takes them back.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping

log = logging.getLogger("autorelay.delivery")

# Waits before starting again after the worker died; back to the first after a run this long.
RESTART_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
STEADY_SECONDS = 60.0
PARENT_PID = "AUTORELAY_PARENT_PID"  # the worker follows this process out (follow_parent)
_LONGEST_LINE = 1 << 20


def worker_command(data_dir: str, host: str, port: int, environ: Mapping[str, str]) -> tuple[list[str], dict[str, str]]:
    """The `autorelay worker` to run and its environment: serve's own settings, and the data dir,
    host and port serve was given as flags (links in mail name them)."""
    env = dict(environ)
    env.update(
        {
            "AUTORELAY_DATA_DIR": data_dir,
            "AUTORELAY_HOST": host,
            "AUTORELAY_PORT": str(port),
            PARENT_PID: str(os.getpid()),
            "PYTHONUNBUFFERED": "1",  # its lines reach serve's log as they are written
        }
    )
    return [sys.executable, "-m", "composition.cli", "worker"], env


def follow_parent() -> None:
    """In the worker: stop (SIGTERM, as `serve` stops it) when the `serve` that started it dies, even
    by SIGKILL, so no worker outlives its server. Linux only (prctl); elsewhere serve's stop is the
    only stop."""
    expected = os.environ.get(PARENT_PID)
    if not expected or not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(expected):  # serve died before the prctl: nobody will signal us
        os.kill(os.getpid(), signal.SIGTERM)


class DeliveryProcess:
    """Runs the worker until `stop`; each line it prints goes to `out` (serve's log)."""

    def __init__(
        self,
        command: list[str],
        env: dict[str, str],
        out: Callable[[str], None] = lambda line: print(line, flush=True),
        delays: tuple[float, ...] = RESTART_DELAYS,
    ) -> None:
        self._command, self._env, self._out, self._delays = command, env, out, delays
        self._process: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None and self._process.returncode is None else None

    async def start(self) -> int:
        """Start the worker; its pid."""
        await self._spawn()
        self._task = asyncio.create_task(self._watch(), name="autorelay-delivery-process")
        assert self._process is not None
        return self._process.pid

    async def _spawn(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *self._command,
            env=self._env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            limit=_LONGEST_LINE,
        )
        self.starts += 1

    async def _watch(self) -> None:
        failures = 0
        while True:
            process = self._process
            assert process is not None and process.stdout is not None
            began = time.monotonic()
            await self._pump(process.stdout)
            code = await process.wait()
            if self._stopping:
                return
            failures = 0 if time.monotonic() - began > STEADY_SECONDS else failures + 1
            delay = self._delays[min(failures, len(self._delays)) - 1] if failures else self._delays[0]
            log.warning(
                "the delivery process (pid %s) ended %s; starting another in %g s (what it held is taken back)",
                process.pid,
                _how(code),
                delay,
            )
            await asyncio.sleep(delay)
            if self._stopping:
                return
            try:
                await self._spawn()
            except OSError as error:  # cannot start at all: say so, keep trying
                log.error("cannot start the delivery process: %s", error)
                continue
            log.warning("delivery process started again (pid %s)", self.pid)

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        """The worker's lines into serve's log until it closes its output. Of a line longer than
        _LONGEST_LINE (a runaway traceback) what the reader kept goes out, and the watch goes on:
        ending it would leave a dead worker unnoticed."""
        while True:
            try:
                line = await stream.readline()
            except ValueError:  # longer than the limit: what is buffered, as it is
                line = await stream.read(_LONGEST_LINE)
            if not line:
                return
            self._out(line.decode("utf-8", "replace").rstrip("\n"))

    async def stop(self, grace: float = 30.0) -> None:
        """Stop the worker as a fleet's workers are stopped (SIGTERM: it stops taking work, then closes
        its connections; what it held is taken back by the next one), killing it after `grace` seconds."""
        self._stopping = True
        process = self._process
        if process is not None and process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), grace)
            except TimeoutError:
                process.kill()
                await process.wait()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, 5)
            except TimeoutError:
                self._task.cancel()


def _how(code: int) -> str:
    if code < 0:
        try:
            return f"by {signal.Signals(-code).name}"
        except ValueError:
            return f"by signal {-code}"
    return f"with exit code {code}"
