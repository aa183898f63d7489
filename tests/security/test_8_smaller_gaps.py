"""Class 8: the SSRF guard refuses site-local IPv6; the data dir and its database files are the
owner's only; slow clients cannot hold a connection."""

from __future__ import annotations

import socket
import stat

import pytest

from tests import backends
from tests.e2e.server import Server
from tests.support import closed_within


def test_webhooks_to_site_local_ipv6_are_refused(live):
    for url in ("https://[fec0::1]/hook", "https://[fec0:0:0:ffff::1]:8443/", "https://[feff::1]/"):
        answer = live.post("/webhooks", json={"url": url, "events": ["email.sent"]})
        assert answer.status_code == 400 and "site-local" in answer.json()["error"], (url, answer.text)


@pytest.mark.skipif(backends.PROFILE == "postgres", reason="the embedded profile's files")
def test_the_data_dir_and_database_files_are_private(server, live):
    live.post("/emails", json={"to": "a@example.com", "from": "a@acme.test", "subject": "s", "html": "<p>x</p>"})
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(server.data_dir) == 0o700
    for name in ("autorelay.db", "autorelay.db-wal", "autorelay.db-shm", "queue.db", "secret.key"):
        assert mode(server.data_dir / name) == 0o600, name


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    settings = {"AUTORELAY_HEADER_TIMEOUT_SECONDS": "1", "AUTORELAY_BODY_TIMEOUT_SECONDS": "1"}
    srv = Server(tmp_path_factory.mktemp("slow"), settings).start()
    yield srv
    srv.stop()


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"POST /api/v1/unsubscribe HTTP/1.1\r\nHost: x\r\nX-Slow: a",  # headers trickling in
        b"POST /api/v1/unsubscribe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{",  # a body trickling in
    ],
    ids=["silent", "slow headers", "slow body"],
)
def test_slow_clients_are_cut_off(strict, sent):
    with socket.create_connection(("127.0.0.1", strict.port)) as sock:
        sock.sendall(sent)
        took = closed_within(sock, 5)
    assert took < 3, took
