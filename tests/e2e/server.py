"""Drive the real `autorelay` command: a uvicorn server process on a free port, and the CLI."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests import backends

FAST_OUTBOX = {
    "AUTORELAY_OUTBOX_LEASE_SECONDS": "3",
    "AUTORELAY_RECONCILE_INTERVAL_SECONDS": "0.5",
    "AUTORELAY_RECONCILE_GRACE_SECONDS": "1",
    "AUTORELAY_LOG_LEVEL": "WARNING",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# Per data dir, the backend settings every process of that deployment shares (under the postgres
# profile: one database schema and one queue name; see tests/backends.py).
_BACKENDS: dict[Path, dict[str, str]] = {}


def backend_settings(data_dir: Path) -> dict[str, str]:
    if data_dir not in _BACKENDS:
        _BACKENDS[data_dir] = backends.server_settings()
    return _BACKENDS[data_dir]


def share_backend(data_dir: Path, settings: dict[str, str]) -> None:
    """Every process and CLI command on `data_dir` uses these settings (a deployment's shared ones)."""
    _BACKENDS[data_dir] = settings


def cli_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTORELAY_")}
    env.update(FAST_OUTBOX)
    env["AUTORELAY_DATA_DIR"] = str(data_dir)
    env.update(backend_settings(data_dir))
    env.update(extra or {})
    return env


def _python(arguments: list[str], data_dir: Path, extra: dict[str, str] | None, what: str) -> str:
    done = subprocess.run(
        [sys.executable, *arguments], env=cli_env(data_dir, extra), capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise AssertionError(f"{what} failed: {done.stderr}")
    return done.stdout


def autorelay(data_dir: Path, *args: str, extra: dict[str, str] | None = None) -> str:
    """Run one CLI command to completion and return its stdout."""
    return _python(["-m", "composition.cli", *args], data_dir, extra, f"autorelay {' '.join(args)}")


# Several CLI commands in one process, each through the CLI's own `main(argv)` as `autorelay` runs
# it: a server's setup (verify domains, lift limits) then pays Python's start-up once, not thrice.
_STEPS = """
import contextlib, io, json, sys
from composition.cli import main
outputs = []
for argv in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    if code:
        sys.exit(f"autorelay {' '.join(argv)} exited with {code}")
    outputs.append(out.getvalue())
print(json.dumps(outputs))
"""


def autorelay_steps(data_dir: Path, *commands: list[str], extra: dict[str, str] | None = None) -> list[str]:
    """Run CLI commands one after the other in one process; returns the stdout of each."""
    out = _python(["-c", _STEPS, json.dumps(commands)], data_dir, extra, f"autorelay steps {commands}")
    return json.loads(out.splitlines()[-1])


class _Process:
    """A child `autorelay` process: stopped with `stop_signal`, killed (SIGKILL) when it will not stop."""

    stop_signal = signal.SIGTERM
    process: subprocess.Popen | None = None

    def spawn(self, data_dir: Path, args: list[str], extra: dict[str, str], log: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "composition.cli", *args],
            env=cli_env(data_dir, extra),
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(self.stop_signal)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


class Server(_Process):
    def __init__(self, data_dir: Path, extra: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.extra = extra or {}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.keys: dict[str, str] = {}
        self.log = data_dir / f"server-{self.port}.log"

    def start(self, *, lift: bool = True) -> Server:
        self.spawn(self.data_dir, ["serve", "--port", str(self.port)], self.extra, self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError(f"server did not start: {self.log.read_text()}")
        for mode, key in re.findall(r"(live|test) key: (ak_\w+)", self.log.read_text()):
            self.keys.setdefault(mode, key)
        if self.keys:
            autorelay_steps(self.data_dir, *setup_steps("default", lift=lift))
        return self

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=f"{self.base}/api/v1", headers=headers, timeout=30)


class Worker(_Process):
    """An `autorelay worker` process (queue consumers, no HTTP); SIGINT stops it cleanly."""

    stop_signal = signal.SIGINT

    def __init__(self, data_dir: Path, extra: dict[str, str] | None = None) -> None:
        self.data_dir, self.extra = data_dir, extra or {}

    def start(self) -> Worker:
        self.spawn(self.data_dir, ["worker"], self.extra, self.data_dir / f"worker-{id(self)}.log")
        return self


# Suites that are not about rate limits lift the ones they would hit, as an operator would.
HIGH_LIMITS = {"POST /api/v1/emails": "100000/min", "POST /api/v1/emails/batch": "10000/min"}


# The sender domains the suites use, verified as an operator would (live keys need it).
TEST_DOMAINS = (
    "acme.test",
    "crash.test",
    "idem.test",
    "flag.test",
    "work.test",
    "limits.test",
    "walk.test",
    "fleet.test",
)


def setup_steps(project: str, *, lift: bool = True) -> list[list[str]]:
    """The CLI commands that verify the test domains and (`lift`) raise the send limits of a project."""
    steps = [["domains", "verify", *TEST_DOMAINS, "--project", project]]
    if lift:
        steps += [["limits", "set", endpoint, limit, "--project", project] for endpoint, limit in HIGH_LIMITS.items()]
    return steps


def lift_limits(data_dir: Path, project: str) -> None:
    autorelay_steps(data_dir, *setup_steps(project)[1:])


def verify_domains(data_dir: Path, project: str) -> None:
    autorelay_steps(data_dir, *setup_steps(project, lift=False))


def new_project(data_dir: Path, name: str, *, lift: bool = True) -> dict[str, str]:
    """Create a project with the CLI; returns its live and test keys."""
    created, *_ = autorelay_steps(data_dir, ["projects", "create", name, "--with-keys"], *setup_steps(name, lift=lift))
    return dict(re.findall(r"(live|test) key: (ak_\w+)", created))


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def peak_memory_mb(pid: int) -> dict[int, float]:
    """Peak resident memory (VmHWM, MB) of a process and of each process it started (`serve`'s
    delivery worker), by pid: work moved to the worker must not escape a memory check."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peaks = {}
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except FileNotFoundError:
            continue  # ended meanwhile
        peaks[each] = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024
    return peaks


def grown_mb(before: dict[int, float], after: dict[int, float]) -> float:
    """How much the most grown process of `peak_memory_mb`'s family grew (those seen both times)."""
    return max(after[pid] - before[pid] for pid in before.keys() & after.keys())


def journal(data_dir: Path) -> list[tuple[str, int]]:
    """(email id, pid of the writing process) for every message the log mailer wrote."""
    path = data_dir / "mail" / "journal.log"
    if not path.exists():
        return []
    # A line another process is appending right now can be seen half written (a write that
    # crosses a page boundary lands in two steps), so only lines already ended are counted.
    complete = path.read_text().split("\n")[:-1]
    return [(line.split()[0], int(line.split()[1])) for line in complete]
