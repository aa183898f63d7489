"""Class 6: faults degrade cleanly. A database that is locked or gone answers 503 with
Retry-After without freezing the event loop, and /readyz says which backend is down."""

from __future__ import annotations

import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from tests import backends
from tests.e2e.server import Server, autorelay, backend_settings, free_port

SEND = {"to": "a@example.com", "from": "a@acme.test", "subject": "s", "html": "<p>x</p>"}


def health_times(base: str, seconds: float) -> list[float]:
    """How long each /healthz probe took over `seconds`, slowest first."""
    times, deadline = [], time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=5) as client:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append(time.perf_counter() - started)
            time.sleep(0.02)
    return sorted(times, reverse=True)


def slowest_health(base: str, seconds: float) -> float:
    return health_times(base, seconds)[0]


@pytest.mark.skipif(backends.PROFILE == "postgres", reason="the SQLite file's locks")
def test_a_locked_sqlite_database_answers_503_and_the_loop_keeps_going(server, live):
    fresh = autorelay(server.data_dir, "keys", "create").strip().splitlines()[-1]  # never used yet
    holder = sqlite3.connect(server.data_dir / "autorelay.db", isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock (a shell, a backup)
    try:
        times: list[list[float]] = []
        watcher = threading.Thread(target=lambda: times.append(health_times(server.base, 3)))
        watcher.start()
        started = time.monotonic()
        answer = live.post("/emails", json=SEND)
        took = time.monotonic() - started
        watcher.join()
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"] == "1" and "locked" in answer.json()["error"]
        assert took < 5, f"answered after {took:.1f} s"
        # The send waits out its 2 s budget off the loop. A loop held by lock waits would stall
        # probe after probe; one slow probe alone is the machine (a loaded CI host), so the
        # slowest may reach a second but the next slowest keeps to 100 ms.
        probes = times[0]
        assert probes[0] < 1 and probes[1] < 0.1, f"/healthz took {[round(t * 1000) for t in probes[:3]]} ms"
        # Reads go on (WAL): the readiness probe's read still answers, and so does a key's first
        # read, whose last-use note cannot be written now (bookkeeping never refuses a request).
        assert httpx.get(f"{server.base}/readyz").json() == {"ok": True, "database": "ok", "queue": "ok"}
        with server.client(fresh) as reader:
            assert reader.get("/emails").status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert live.post("/emails", json=SEND).status_code == 200, "back to normal once the lock is gone"


def test_a_queue_that_is_down_is_named_by_readyz_and_sends_get_503(tmp_path):
    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    server = Server(tmp_path / "no-redis", {"AUTORELAY_REDIS_URL": dead}).start(lift=False)
    try:
        ready = httpx.get(f"{server.base}/readyz", timeout=10)
        assert ready.status_code == 503 and ready.headers["Retry-After"]
        assert ready.json()["ok"] is False and ready.json()["queue"].startswith("down: ")
        assert ready.json()["database"] == "ok" or backends.PROFILE == "postgres"
        with server.client(server.keys["test"]) as client:
            answer = client.post("/emails", json=SEND)
            assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
            assert "unavailable" in answer.json()["error"]
        assert slowest_health(server.base, 1) < 0.1
    finally:
        server.stop()


class Cuttable:
    """A TCP relay on loopback between the server and PostgreSQL that a test can cut and restore."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target, self.port = target, free_port()
        self.open = threading.Event()
        self.open.set()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.2)
        self._running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self._running:
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.open.is_set():
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.close()
                except OSError:
                    pass

    @contextmanager
    def cut(self):
        self.open.clear()
        for s in self._sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._sockets.clear()
        try:
            yield
        finally:
            self.open.set()

    def close(self) -> None:
        self._running = False
        self._listener.close()


@pytest.mark.skipif(backends.PROFILE != "postgres", reason="PostgreSQL going away (the postgres profile)")
def test_postgres_going_away_answers_503_and_readyz_names_the_database(tmp_path):
    data_dir = tmp_path / "pg-cut"
    url = backend_settings(data_dir)["AUTORELAY_DATABASE_URL"]
    parts = urlsplit(url)
    relay = Cuttable((parts.hostname or "127.0.0.1", parts.port or 5432))
    relayed = urlunsplit(parts._replace(netloc=f"{parts.username}@127.0.0.1:{relay.port}"))
    server = Server(data_dir, {"AUTORELAY_DATABASE_URL": relayed}).start()
    try:
        with server.client(server.keys["live"]) as live:
            assert live.post("/emails", json=SEND).status_code == 200
            with relay.cut():
                started = time.monotonic()
                answer = live.post("/emails", json=SEND)
                assert answer.status_code == 503 and answer.headers["Retry-After"], answer.text
                assert "database is unavailable" in answer.json()["error"]
                assert time.monotonic() - started < 10
                ready = httpx.get(f"{server.base}/readyz", timeout=10)
                assert ready.status_code == 503 and ready.json()["database"].startswith("down: ")
                assert ready.json()["queue"] == "ok"
                assert slowest_health(server.base, 1) < 0.1
            recovered = None
            for _ in range(50):
                recovered = live.post("/emails", json=SEND)
                if recovered.status_code == 200:
                    break
                time.sleep(0.2)
            assert recovered is not None and recovered.status_code == 200, "back once the database is"
            assert httpx.get(f"{server.base}/readyz").status_code == 200
    finally:
        server.stop()
        relay.close()
