"""The production profile as a fleet: two API processes and two workers sharing PostgreSQL and
Redis, as `Scaling out` in docs/OPERATIONS.md describes. Runs when the test Postgres and Redis are set."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import httpx
import pytest

from tests.backends import POSTGRES_URL, REDIS_URL, drop_postgres_schema, new_postgres_schema
from tests.e2e.server import Server, Worker, journal, new_project, share_backend, wait_for

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (POSTGRES_URL and REDIS_URL), reason="needs AUTORELAY_TEST_POSTGRES_URL and _REDIS_URL"),
]
BODY = {"to": "fleet@example.com", "from": "Fleet <f@fleet.test>", "subject": "fleet", "html": "<p>f</p>"}


class Fleet:
    def __init__(self, data_dir, settings: dict[str, str]) -> None:
        self.data_dir, self.settings = data_dir, settings
        self.apis: list[Server] = []
        self.workers: list[Worker] = []

    def start(self) -> Fleet:
        share_backend(self.data_dir, self.settings)
        # The first API process creates the schema and the default project; the rest join it.
        self.apis = [Server(self.data_dir).start() for _ in range(2)]
        self.workers = [Worker(self.data_dir).start() for _ in range(2)]
        return self

    def stop(self) -> None:
        for process in [*self.workers, *self.apis]:
            process.stop()


@pytest.fixture
def fleet(tmp_path):
    schema, url = new_postgres_schema()
    settings = {
        "AUTORELAY_DATABASE_URL": url,
        "AUTORELAY_REDIS_URL": REDIS_URL,
        "AUTORELAY_QUEUE_NAME": f"fleet-{uuid.uuid4().hex[:8]}",
        "AUTORELAY_EMBEDDED_WORKERS": "0",  # the API processes only accept; workers deliver
        "AUTORELAY_CAMPAIGN_RATE": "5000",  # the test's pace; the default is 100 a second
        "AUTORELAY_SECRET_KEY": uuid.uuid4().hex * 2,
    }
    running = Fleet(tmp_path / "fleet", settings).start()
    try:
        yield running
    finally:
        running.stop()
        drop_postgres_schema(schema)


async def _post_alternating(bases: list[str], key: str, bodies: list[dict], headers: dict[str, str]) -> list:
    """POST every body, request i to API process i % 2, at most 64 in flight (httpx slows down badly
    when thousands of requests queue for its connections)."""
    auth = {"Authorization": f"Bearer {key}", **headers}
    in_flight = asyncio.Semaphore(64)
    async with httpx.AsyncClient(headers=auth, limits=httpx.Limits(max_connections=64), timeout=30) as client:

        async def post(i: int, body: dict) -> httpx.Response:
            async with in_flight:
                return await client.post(f"{bases[i % len(bases)]}/api/v1/emails", json=body)

        return await asyncio.gather(*(post(i, b) for i, b in enumerate(bodies)))


def test_fifty_same_key_requests_across_both_api_processes_make_one_email(fleet):
    keys = new_project(fleet.data_dir, f"idem-{uuid.uuid4().hex[:6]}")
    bases = [api.base for api in fleet.apis]
    responses = asyncio.run(_post_alternating(bases, keys["live"], [BODY] * 50, {"Idempotency-Key": "fleet-1"}))
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {200, 409} and codes[200] >= 1, codes
    originals = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    assert len(originals) == 1
    email_id = originals[0].json()["id"]
    assert all(r.content == originals[0].content for r in responses if r.status_code == 200)
    for api in fleet.apis:
        with api.client(keys["live"]) as client:
            assert client.get("/emails").json()["total"] == 1
            assert wait_for(lambda c=client: c.get(f"/emails/{email_id}").json()["email"]["status"] == "sent", 15)
    time.sleep(0.5)
    assert [e for e, _ in journal(fleet.data_dir)].count(email_id) == 1


def test_both_api_processes_share_one_rate_limit(fleet):
    keys = new_project(fleet.data_dir, f"limit-{uuid.uuid4().hex[:6]}", lift=False)
    bases = [api.base for api in fleet.apis]
    responses = asyncio.run(_post_alternating(bases, keys["test"], [BODY] * 140, {}))
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 100, 429: 40}, codes
    by_process = Counter(bases[i % 2] for i, r in enumerate(responses) if r.status_code == 200)
    assert len(by_process) == 2, "both API processes accepted some"


def test_a_worker_killed_midway_loses_and_repeats_nothing(fleet):
    keys = new_project(fleet.data_dir, f"kill-{uuid.uuid4().hex[:6]}")
    for worker in fleet.workers:  # accept everything first, so the kill lands mid-delivery
        worker.stop()
    bases = [api.base for api in fleet.apis]
    bodies = [BODY | {"to": f"r{i}@example.com", "subject": f"#{i}"} for i in range(2000)]
    responses = asyncio.run(_post_alternating(bases, keys["live"], bodies, {}))
    assert Counter(r.status_code for r in responses) == {200: 2000}
    ids = {r.json()["id"] for r in responses}

    fleet.workers = [Worker(fleet.data_dir).start() for _ in range(2)]
    victim, survivor = fleet.workers
    # Killed once both are delivering (which one takes the first passes is up to the queue), so
    # that the kill lands on a worker with emails in hand.
    both = {victim.pid, survivor.pid}
    started = wait_for(lambda: len(w := journal(fleet.data_dir)) >= 300 and both <= {p for _, p in w}, 60)
    assert started, "both workers did not start delivering"
    victim.kill()
    written_at_kill = len(journal(fleet.data_dir))

    with fleet.apis[0].client(keys["live"]) as client:
        done = wait_for(lambda: client.get("/emails", params={"status": "sent"}).json()["total"] == 2000, 90)
        assert done, client.get("/emails", params={"status": "queued"}).json()["total"]
    writes = journal(fleet.data_dir)
    per_email = Counter(email_id for email_id, _ in writes)
    assert {p.stem for p in (fleet.data_dir / "mail").glob("*.eml")} == ids, "an email was never written"
    assert [e for e, n in per_email.items() if n > 1] == [], "an email was written twice"
    # A kill between a file's publication and its journal line leaves that line out (writes in flight).
    assert len(ids - set(per_email)) <= 16
    per_worker = Counter(pid for _, pid in writes)
    assert per_worker[victim.pid] > 0 and per_worker[survivor.pid] > 0
    assert set(per_worker) == {victim.pid, survivor.pid}, "only the workers deliver"
    print(f"written before the kill: {written_at_kill}; by worker: {dict(per_worker)}")


def test_a_10000_recipient_campaign_survives_a_worker_killed_midway(fleet):
    import email
    import email.policy

    keys = new_project(fleet.data_dir, f"camp-{uuid.uuid4().hex[:6]}")
    for worker in fleet.workers:
        worker.stop()
    first, second = (api.client(keys["live"]) for api in fleet.apis)
    with first, second:
        target = first.post("/lists", json={"name": "Everyone"}).json()["id"]
        rows = [{"email": f"person{i}@example.com", "name": f"Person {i}"} for i in range(10_000)]
        imported = first.post("/contacts/import", json={"listId": target, "contacts": rows}, timeout=120).json()
        assert imported["importedCount"] == 10_000
        body = {"name": "Big", "subject": "Hello {{ name }}", "fromEmail": "news@fleet.test", "listId": target}
        campaign = first.post("/campaigns", json=body | {"content": "<p>Hi {{ name }}</p>"}).json()["id"]
        assert second.post(f"/campaigns/{campaign}/launch", timeout=120).json()["status"] == "sending"

        fleet.workers = [Worker(fleet.data_dir).start() for _ in range(2)]
        victim, survivor = fleet.workers
        assert wait_for(lambda: len(journal(fleet.data_dir)) >= 2_000, 90), "deliveries did not start"
        victim.kill()
        written_at_kill = len(journal(fleet.data_dir))

        def completed() -> dict | None:
            data = second.get(f"/campaigns/{campaign}").json()["data"]
            return data if data["status"] == "completed" else None

        data = wait_for(completed, 180, interval=1)
        assert data, second.get(f"/campaigns/{campaign}").json()["data"]["progress"]
        assert data["progress"] == {"total": 10_000, "sent": 10_000, "failed": 0, "uncertain": 0, "percent": 100.0}

    writes = journal(fleet.data_dir)
    assert [e for e, n in Counter(e for e, _ in writes).items() if n > 1] == [], "a message was written twice"
    recipients = Counter()
    for path in (fleet.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"].startswith("Hello Person"):
            recipients[message["To"]] += 1
    assert len(recipients) == 10_000 and set(recipients.values()) == {1}, "every recipient exactly once"
    per_worker = Counter(pid for _, pid in writes)
    assert per_worker[victim.pid] > 0 and per_worker[survivor.pid] > 0
    print(f"campaign: {written_at_kill} written before the kill; by worker: {dict(per_worker)}")
