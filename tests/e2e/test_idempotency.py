"""Idempotency-Key against a real server: 50 identical concurrent sends make one email."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from tests.e2e.server import new_project, wait_for

pytestmark = pytest.mark.e2e
BODY = {"to": "once@example.com", "from": "Once <once@idem.test>", "subject": "only once", "html": "<p>1</p>"}


async def fire(base: str, key: str, idem: str, body: dict, count: int) -> list[httpx.Response]:
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": idem}
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=httpx.Limits(max_connections=50)) as client:
        return await asyncio.gather(*(client.post("/api/v1/emails", json=body, timeout=30) for _ in range(count)))


def test_fifty_concurrent_identical_sends_make_one_email(server):
    keys = new_project(server.data_dir, f"idem-{uuid.uuid4().hex[:6]}")
    idem = str(uuid.uuid4())
    responses = asyncio.run(fire(server.base, keys["live"], idem, BODY, 50))
    codes = Counter(r.status_code for r in responses)
    assert set(codes) <= {200, 409} and codes[200] >= 1, codes
    originals = [r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    replays = [r for r in responses if r.headers.get("Idempotent-Replayed") == "true"]
    assert len(originals) == 1
    assert all(r.content == originals[0].content for r in replays)
    assert all(set(r.json()) == {"error"} for r in responses if r.status_code == 409)
    email_id = originals[0].json()["id"]

    with server.client(keys["live"]) as client:
        assert client.get("/emails").json()["total"] == 1
        assert wait_for(lambda: client.get(f"/emails/{email_id}").json()["email"]["status"] == "sent", 5)
        # A later repeat still replays, byte for byte.
        later = client.post("/emails", json=BODY, headers={"Idempotency-Key": idem})
        assert later.headers["Idempotent-Replayed"] == "true" and later.content == originals[0].content
        other_body = client.post("/emails", json=BODY | {"subject": "changed"}, headers={"Idempotency-Key": idem})
        assert other_body.status_code == 422 and "different request" in other_body.json()["error"]
        too_long = client.post("/emails", json=BODY, headers={"Idempotency-Key": "k" * 256})
        assert too_long.status_code == 400
        # A validation error is an answer too: it is replayed, not re-run.
        bad_key = str(uuid.uuid4())
        bad = client.post("/emails", json=BODY | {"to": "nope"}, headers={"Idempotency-Key": bad_key})
        again = client.post("/emails", json=BODY | {"to": "nope"}, headers={"Idempotency-Key": bad_key})
        assert bad.status_code == again.status_code == 400 and again.headers["Idempotent-Replayed"] == "true"
    mail = server.data_dir / "mail"

    def delivered() -> int:
        return len([p for p in mail.glob("*.eml") if p.read_bytes().count(b"only once")])

    assert wait_for(delivered, 10) == 1

    other = new_project(server.data_dir, f"idem-other-{uuid.uuid4().hex[:6]}")
    elsewhere = asyncio.run(fire(server.base, other["live"], idem, BODY, 1))[0]
    assert elsewhere.status_code == 200 and "Idempotent-Replayed" not in elsewhere.headers
    assert elsewhere.json()["id"] != email_id
