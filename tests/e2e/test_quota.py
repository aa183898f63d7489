"""Quota exhausted: 402 and nothing sent."""

from __future__ import annotations

import pytest

from tests.e2e.server import Server

pytestmark = pytest.mark.e2e
BODY = {"to": "q@example.com", "from": "q@acme.test", "subject": "quota", "html": "<p>q</p>"}


def test_the_send_past_the_monthly_quota_gets_402_and_sends_nothing(tmp_path):
    server = Server(tmp_path / "quota", {"AUTORELAY_MONTHLY_QUOTA": "3"}).start()
    try:
        with server.client(server.keys["live"]) as client:
            assert [client.post("/emails", json=BODY).status_code for _ in range(3)] == [200] * 3
            refused = client.post("/emails", json=BODY)
            assert refused.status_code == 402 and "Monthly quota of 3" in refused.json()["error"]
            batch = client.post("/emails/batch", json={"emails": [BODY, BODY]}).json()
            assert batch["sent"] == 0 and all("quota" in row["error"] for row in batch["data"])
            assert client.get("/emails").json()["total"] == 3
            unverified = client.post("/emails", json=BODY | {"from": "x@nowhere.test"})
            assert unverified.status_code == 400 and "nowhere.test" in unverified.json()["error"]
        with server.client(server.keys["test"]) as tester:
            assert tester.post("/emails", json=BODY).status_code == 200  # test sends cost nothing
    finally:
        server.stop()


def test_stats_show_usage_and_account_health(server, live):
    before = live.get("/stats").json()
    assert live.post("/emails", json=BODY).status_code == 200
    stats = live.get("/stats").json()
    assert stats["emailsThisMonth"] == before["emailsThisMonth"] + 1
    assert stats["accountStatus"] == "active" and stats["statusReason"] is None
    assert stats["quota"]["monthly"] == {"used": stats["emailsThisMonth"], "limit": 50_000}
    assert stats["domains"] >= 1 and stats["campaigns"] == {"total": 0, "sending": 0, "completed": 0}
    assert set(stats["last24h"]) == {"sends", "bounces", "complaints", "bounceRate", "complaintRate"}
