"""Class 3: every message that leaves is metered. One-time codes and double opt-in confirmations
count against the monthly quota and the sandbox sender's daily cap, and share the per-recipient
code limit: deleting and re-adding a contact cannot send more."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.server import Server, new_project


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    # Codes go out from the sandbox sender (the default OTP sender), capped at 3 a day here.
    srv = Server(tmp_path_factory.mktemp("metering"), {"AUTORELAY_SANDBOX_DAILY_CAP": "3"}).start()
    yield srv
    srv.stop()


def fresh(server: Server):
    return server.client(new_project(server.data_dir, f"m-{uuid.uuid4().hex[:8]}")["live"])


def test_codes_count_against_the_sandbox_cap_and_the_quota(capped):
    with fresh(capped) as client:
        for i in range(3):
            assert client.post("/otp/send", json={"email": f"u{i}@example.com"}).status_code == 200
        refused = client.post("/otp/send", json={"email": "u3@example.com"})
        assert refused.status_code == 402 and "sandbox sender is capped at 3" in refused.json()["error"]
        assert client.get("/stats").json()["emailsThisMonth"] == 3
        target = client.post("/lists", json={"name": "Confirmed", "doubleOptIn": True}).json()["id"]
        confirm = client.post("/contacts", json={"email": "new@example.com", "listId": target})
        assert confirm.status_code == 402, confirm.text
        assert client.get("/contacts", params={"listId": target}).json()["contacts"] == [], "no contact without code"


def test_confirmations_are_capped_like_any_send(capped):
    with fresh(capped) as client:
        target = client.post("/lists", json={"name": "Confirmed", "doubleOptIn": True}).json()["id"]
        body = {"email": "victim@example.com", "listId": target}
        for _ in range(3):  # deleting and re-adding: each confirmation is charged
            contact = client.post("/contacts", json=body)
            assert contact.status_code == 201, contact.text
            assert client.delete(f"/contacts/{contact.json()['id']}").status_code == 200
        again = client.post("/contacts", json=body)
        assert again.status_code == 402, again.text
        assert client.get("/stats").json()["emailsThisMonth"] == 3


def test_the_recipient_limit_covers_confirmations(tmp_path):
    srv = Server(tmp_path / "recipient").start()  # the default cap (100) is out of the way here
    try:
        with srv.client(srv.keys["live"]) as client:
            target = client.post("/lists", json={"name": "Confirmed", "doubleOptIn": True}).json()["id"]
            body = {"email": "victim@example.com", "listId": target}
            for _ in range(5):
                contact = client.post("/contacts", json=body)
                assert contact.status_code == 201, contact.text
                client.delete(f"/contacts/{contact.json()['id']}")
            refused = client.post("/contacts", json=body)
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
            assert client.get("/contacts", params={"listId": target}).json()["contacts"] == []
            assert client.post("/otp/send", json={"email": "victim@example.com"}).status_code == 429
            rows = [{"email": "victim@example.com"}, {"email": "fine@example.com"}]
            imported = client.post("/contacts/import", json={"listId": target, "contacts": rows}).json()
            assert imported["importedCount"] == 1
            assert [e["index"] for e in imported["errors"]] == [0], imported
    finally:
        srv.stop()


def test_an_import_that_would_pass_what_is_left_is_refused_up_front(capped):
    with fresh(capped) as client:
        target = client.post("/lists", json={"name": "Confirmed", "doubleOptIn": True}).json()["id"]
        rows = [{"email": f"p{i}@example.com"} for i in range(4)]
        refused = client.post("/contacts/import", json={"listId": target, "contacts": rows})
        assert refused.status_code == 402, refused.text
        assert "up to 4 confirmation emails" in refused.json()["error"] and "nothing was imported" in refused.text
        assert client.get("/contacts", params={"listId": target}).json()["contacts"] == []
        assert (
            client.post("/contacts/import", json={"listId": target, "contacts": rows[:3]}).json()["importedCount"] == 3
        )
        assert client.get("/stats").json()["emailsThisMonth"] == 3
