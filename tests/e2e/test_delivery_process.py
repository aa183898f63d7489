"""#37: `serve` delivers in an `autorelay worker` process of its own (AUTORELAY_DELIVERY_PROCESS;
auto on a machine with more than one core). Killing that process is noticed and it is started
again with nothing lost, its lines are in serve's log, and it never outlives serve."""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.server import Server, journal, wait_for
from tests.e2e.test_crash_recovery import send_many

pytestmark = pytest.mark.e2e


def _workers(server: Server) -> list[int]:
    """The delivery processes serve said it started, in order."""
    said = re.findall(
        r"(?:in a process of its own|delivery process started again) \(pid (\d+)\)", server.log.read_text()
    )
    return [int(pid) for pid in said]


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()  # a zombie has ended; only its parent's wait is due
    except FileNotFoundError:
        return False


def test_killing_the_delivery_process_loses_nothing_and_it_is_started_again(tmp_path):
    server = Server(tmp_path / "own", {"AUTORELAY_DELIVERY_PROCESS": "on"}).start()
    try:
        assert wait_for(lambda: _workers(server), 10), server.log.read_text()
        (first,) = _workers(server)
        assert first != server.pid and _alive(first)
        key = server.keys["live"]
        before = asyncio.run(send_many(server.base, key, 150))
        os.kill(first, signal.SIGKILL)
        # Accepted while no worker runs: they wait for the next one.
        after = asyncio.run(send_many(server.base, key, 150))
        assert wait_for(lambda: len(_workers(server)) == 2, 15), server.log.read_text()
        second = _workers(server)[1]
        assert second != first and _alive(second)
        assert f"the delivery process (pid {first}) ended by SIGKILL" in server.log.read_text()

        ids = before + after
        with server.client(key) as client:
            assert wait_for(lambda: client.get("/emails", params={"status": "sent"}).json()["total"] == 300, 60)
        writes = journal(server.data_dir)
        assert sorted(p.stem for p in (server.data_dir / "mail").glob("*.eml")) == sorted(ids), "a message is missing"
        assert [i for i, n in Counter(i for i, _ in writes).items() if n > 1] == [], "a message was written twice"
        writers = {pid for _, pid in writes}
        assert server.pid not in writers and writers <= {first, second}, "serve itself delivered"
        assert second in writers
        assert "AutoRelay worker:" in server.log.read_text(), "the worker's own lines are in serve's log"
    finally:
        server.stop()
    assert wait_for(lambda: not any(_alive(pid) for pid in _workers(server)), 10), "a worker outlived serve"


def test_a_killed_serve_takes_its_delivery_process_with_it(tmp_path):
    server = Server(tmp_path / "gone", {"AUTORELAY_DELIVERY_PROCESS": "on"}).start()
    assert wait_for(lambda: _workers(server), 10)
    (worker,) = _workers(server)
    server.kill()  # SIGKILL: serve cannot stop anything itself
    assert wait_for(lambda: not _alive(worker), 10), "the worker outlived a killed serve"


def test_off_keeps_delivery_in_serve(tmp_path):
    server = Server(tmp_path / "one", {"AUTORELAY_DELIVERY_PROCESS": "off"}).start()
    try:
        assert "delivery: in this process" in server.log.read_text()
        assert _workers(server) == []
        ids = asyncio.run(send_many(server.base, server.keys["live"], 3))
        with server.client(server.keys["live"]) as client:
            assert wait_for(lambda: client.get("/emails", params={"status": "sent"}).json()["total"] == 3, 15)
        assert {pid for i, pid in journal(server.data_dir) if i in ids} == {server.pid}
    finally:
        server.stop()
