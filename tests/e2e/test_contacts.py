"""Contacts, lists, imports and one-time codes through a real server; codes are read back from the
messages the log mailer wrote, as a user would read them from their inbox."""

from __future__ import annotations

import email
import email.policy
import re
import uuid

import pytest

from tests.e2e.server import new_project, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(server):
    keys = new_project(server.data_dir, f"aud-{uuid.uuid4().hex[:6]}")
    with server.client(keys["live"]) as client:
        yield client


def code_sent_to(server, client, address: str) -> str:
    """The code in the newest delivered message to `address`."""

    def delivered():
        listing = client.get("/emails", params={"order": "desc", "limit": 100}).json()["emails"]
        sent = [e for e in listing if e["to"] in (address, [address]) and e["status"] == "sent"]
        return sent[0]["id"] if sent else None

    email_id = wait_for(delivered, 10)
    assert email_id, f"no code email to {address} was delivered"
    raw = (server.data_dir / "mail" / f"{email_id}.eml").read_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    return re.search(r"\b(\d{6})\b", text).group(1)


def test_import_of_10000_rows_with_duplicates_and_invalid_rows(api):
    target = api.post("/lists", json={"name": "Big"}).json()
    seeded = api.post(
        "/contacts/import",
        json={"listId": target["id"], "contacts": [{"email": f"u{i}@example.com"} for i in range(500)]},
    )
    assert seeded.json()["importedCount"] == 500
    rows = [{"email": f"U{i}@Example.com", "name": f"User {i}"} for i in range(10_000)]  # first 500 exist
    bad = list(range(1_000, 10_000, 900))[:10]
    for index in bad:
        rows[index] = {"email": f"broken-{index}"}
    result = api.post("/contacts/import", json={"listId": target["id"], "contacts": rows})
    assert result.status_code == 200, result.text
    body = result.json()
    assert (body["success"], body["importedCount"], body["skippedCount"]) == (True, 9_490, 500)
    assert [e["index"] for e in body["errors"]] == bad and all("email" in e["error"] for e in body["errors"])
    lists = api.get("/lists").json()
    assert lists["success"] and [x["contactCount"] for x in lists["data"] if x["id"] == target["id"]] == [9_990]

    too_many = [{"email": f"new{i}@example.com"} for i in range(10_001)]
    refused = api.post("/contacts/import", json={"listId": target["id"], "contacts": too_many})
    assert refused.status_code == 400 and "10000" in refused.json()["error"]
    page = api.get("/contacts", params={"listId": target["id"], "pageSize": 1}).json()
    assert page["pagination"] == {"total": 9_990, "page": 1, "pageSize": 1}
    assert api.get("/stats").json()["contacts"] == 9_990


def test_contact_crud_search_pages_and_status_rules(api):
    target = api.post("/lists", json={"name": "People"}).json()
    assert target["contactCount"] == 0 and target["doubleOptIn"] is False
    made = api.post("/contacts", json={"email": "alice@example.com", "name": "Alice Smith", "listId": target["id"]})
    assert made.status_code == 201
    alice = made.json()
    assert {k: alice[k] for k in ("email", "name", "status", "listId")} == {
        "email": "alice@example.com",
        "name": "Alice Smith",
        "status": "subscribed",
        "listId": target["id"],
    }
    dup = api.post("/contacts", json={"email": "ALICE@example.com", "listId": target["id"]})
    assert dup.status_code == 409
    api.post("/contacts", json={"email": "bob@example.com", "name": "Bob", "listId": target["id"]})
    found = api.get("/contacts", params={"listId": target["id"], "search": "SMITH"}).json()
    assert [c["email"] for c in found["contacts"]] == ["alice@example.com"]
    unlisted = api.get("/contacts")
    assert (unlisted.status_code, unlisted.json()["error"]) == (400, "listId: a list is required")
    assert api.get("/contacts", params={"listId": target["id"], "pageSize": 201}).status_code == 400
    second = api.get("/contacts", params={"listId": target["id"], "page": 2, "pageSize": 1}).json()
    assert [c["email"] for c in second["contacts"]] == ["bob@example.com"]

    read = api.get(f"/contacts/{alice['id']}").json()
    assert read["success"] and read["data"]["company"] is None and read["data"]["createdAt"].endswith("Z")
    assert api.put(f"/contacts/{alice['id']}", json={"status": "unsubscribed", "company": "Acme"}).json() == {
        "success": True
    }
    assert api.get(f"/contacts/{alice['id']}").json()["data"]["status"] == "unsubscribed"
    assert api.put(f"/contacts/{alice['id']}", json={"status": "bounced"}).status_code == 400
    assert api.delete(f"/contacts/{alice['id']}").json() == {"success": True}
    assert api.get(f"/contacts/{alice['id']}").status_code == 404
    assert api.delete(f"/lists/{target['id']}").json() == {"success": True}
    assert api.get("/contacts", params={"listId": target["id"]}).status_code == 404


def test_a_code_from_the_delivered_message_verifies_once(server, api):
    sent = api.post("/otp/send", json={"email": "reader@example.com"})
    assert sent.status_code == 200 and sent.json()["ok"] is True and sent.json()["expiresAt"].endswith("Z")
    code = code_sent_to(server, api, "reader@example.com")
    assert api.post("/otp/verify", json={"email": "reader@example.com", "code": code}).json() == {"ok": True}
    again = api.post("/otp/verify", json={"email": "reader@example.com", "code": code})
    assert again.status_code == 400 and again.json()["ok"] is False and "used" in again.json()["error"]


def test_five_wrong_tries_kill_a_code_and_the_sixth_send_in_an_hour_is_refused(server, api):
    for _ in range(4):  # with the first below, five sends to one recipient
        assert api.post("/otp/send", json={"email": "target@example.com"}).status_code == 200
    assert api.post("/otp/send", json={"email": "target@example.com"}).status_code == 200
    code = code_sent_to(server, api, "target@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    answers = [api.post("/otp/verify", json={"email": "target@example.com", "code": wrong}) for _ in range(5)]
    assert [a.status_code for a in answers] == [400] * 5 and "now invalid" in answers[-1].json()["error"]
    dead = api.post("/otp/verify", json={"email": "target@example.com", "code": code})
    assert dead.status_code == 400 and "Too many" in dead.json()["error"]
    sixth = api.post("/otp/send", json={"email": "TARGET@example.com"})
    assert sixth.status_code == 429 and int(sixth.headers["Retry-After"]) >= 1
    assert '"per-recipient";q=5;w=3600' in sixth.headers["RateLimit-Policy"]
    assert api.post("/otp/send", json={"email": "someone-else@example.com"}).status_code == 200


def test_a_double_opt_in_contact_is_pending_until_it_confirms(server, api):
    target = api.post("/lists", json={"name": "Newsletter", "doubleOptIn": True}).json()
    made = api.post("/contacts", json={"email": "new@example.com", "listId": target["id"]}).json()
    assert made["status"] == "pending"
    code = code_sent_to(server, api, "new@example.com")
    assert api.post("/otp/verify", json={"email": "new@example.com", "code": code, "purpose": "subscribe"}).json() == {
        "ok": True
    }
    assert api.get(f"/contacts/{made['id']}").json()["data"]["status"] == "subscribed"


def test_operators_import_a_csv_file_with_the_cli(server, tmp_path):
    from tests.e2e.server import autorelay

    name = f"csv-{uuid.uuid4().hex[:6]}"
    keys = new_project(server.data_dir, name)
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "From CSV"}).json()
        api.post("/contacts", json={"email": "known@example.com", "listId": target["id"]})
        lines = ["Email,Name,Ignored"] + [f"p{i}@example.com,Person {i},x" for i in range(2_500)]
        lines += ["known@example.com,Known,x", "not-an-address,Broken,x"]
        path = tmp_path / "people.csv"
        path.write_text("\n".join(lines) + "\n")
        out = autorelay(server.data_dir, "contacts", "import", str(path), "--list", target["id"], "--project", name)
        assert "imported 2500, skipped 1 already in the list, 1 invalid row(s)" in out
        assert "line 2503:" in out
        page = api.get("/contacts", params={"listId": target["id"], "search": "person 2499"}).json()
        assert [c["name"] for c in page["contacts"]] == ["Person 2499"]
