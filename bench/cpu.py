"""CPU time of processes, read from /proc, for the benchmarks' figures per request or message."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int | str) -> tuple[str, list[str]]:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (all its threads)."""
    _, fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICK


def children(pid: int) -> list[int]:
    """The processes `pid` started and still runs (serve's delivery worker)."""
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL process on this machine (backends, WAL writer):
    the database's share of a benchmark when it runs on the same machine."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            name, fields = _stat(pid)
        except (OSError, ValueError):
            continue  # gone meanwhile
        if name.startswith("postgres"):
            total += int(fields[11]) + int(fields[12])
    return total / TICK
