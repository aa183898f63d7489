"""Rate limits through real servers: the reference's 100/min on POST /emails, its headers, and one
combined limit for two processes sharing a database (and a Redis, when one is configured)."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.backends import REDIS_URL
from tests.e2e.server import Server, new_project

pytestmark = pytest.mark.e2e
BODY = {"to": "r@example.com", "from": "r@limits.test", "subject": "limit", "html": "<p>l</p>"}


def test_the_101st_send_in_a_minute_is_refused_with_retry_after(server):
    keys = new_project(server.data_dir, f"limited-{uuid.uuid4().hex[:6]}", lift=False)
    with server.client(keys["test"]) as client:
        first = client.post("/emails", json=BODY)
        assert first.status_code == 200
        assert first.headers["RateLimit-Policy"] == '"per-key";q=100;w=60'
        assert first.headers["RateLimit"].startswith('"per-key";r=99;t=')
        statuses = [client.post("/emails", json=BODY).status_code for _ in range(99)]
        assert statuses == [200] * 99
        refused = client.post("/emails", json=BODY)
    assert refused.status_code == 429
    assert set(refused.json()) == {"error"} and "100/min" in refused.json()["error"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit"].startswith('"per-key";r=0;')


def _combined(tmp_path, extra: dict[str, str]) -> None:
    first = Server(tmp_path / "shared", extra).start(lift=False)
    second = Server(tmp_path / "shared", extra).start(lift=False)
    try:
        key = first.keys["test"]

        def send(base: str) -> int:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
                return c.post("/api/v1/emails", json=BODY).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(send, [first.base, second.base] * 70))
        assert codes.count(200) == 100 and codes.count(429) == 40
    finally:
        first.stop()
        second.stop()


def test_two_processes_on_one_database_share_one_limit(tmp_path):
    _combined(tmp_path, {})  # the profile's store: SQLite file, or Redis under the postgres profile


@pytest.mark.skipif(not REDIS_URL, reason="AUTORELAY_TEST_REDIS_URL is not set")
def test_two_processes_on_one_redis_share_one_limit(tmp_path):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    _combined(tmp_path, {"AUTORELAY_REDIS_URL": REDIS_URL, "AUTORELAY_QUEUE_NAME": queue})
