"""The spine as a user meets it: a real server, the reference's examples, real message files."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.e2e.server import autorelay, new_project, wait_for

pytestmark = pytest.mark.e2e

QUICKSTART = {
    "to": "you@example.com",
    "from": "AutoRelay <hello@autorelay.net>",
    "subject": "Hello from AutoRelay",
    "html": "<p>It works.</p>",
}


def test_quickstart_send_is_delivered_as_a_real_message(server, live):
    response = live.post("/emails", json=QUICKSTART)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"id", "success", "messageId"} and body["success"] is True

    def sent():
        detail = live.get(f"/emails/{body['id']}").json()
        return detail if detail["email"]["status"] == "sent" else None

    detail = wait_for(sent, timeout=2)
    assert detail, "not sent within 2 s"
    assert [e["type"] for e in detail["events"]] == ["queued", "sent"]
    assert detail["email"]["to"] == "you@example.com" and detail["email"]["opens"] == 0

    message = email.message_from_bytes(
        (server.data_dir / "mail" / f"{body['id']}.eml").read_bytes(), policy=email.policy.default
    )
    assert message["Message-ID"] == body["messageId"]
    assert message["From"] == "AutoRelay <hello@autorelay.net>" and message["Subject"] == "Hello from AutoRelay"
    types = sorted(p.get_content_type() for p in message.iter_parts())
    assert types == ["text/html", "text/plain"]
    assert message.get_body(("plain",)).get_content().strip() == "It works."


def test_batch_of_100_mixing_templates_and_html(server, live):
    template = live.post(
        "/templates", json={"name": "hi", "subject": "Hi {{ name }}", "html": "<p>Hello {{ name }}</p>"}
    ).json()
    rows = []
    for i in range(100):
        row = {"to": f"user{i}@example.com", "from": "Acme <noreply@acme.test>", "subject": f"Row {i}"}
        if i % 2:
            row |= {"template_id": template["id"], "data": {"name": f"User {i}"}}
        else:
            row["html"] = f"<p>Row {i}</p>"
        rows.append(row)
    rows[10]["to"] = "not-an-email"
    rows[11]["data"] = {}  # the template needs `name`
    response = live.post("/emails/batch", json={"emails": rows})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["object"], result["total"], result["sent"], result["failed"]) == ("batch", 100, 98, 2)
    failed = {i: r for i, r in enumerate(result["data"]) if r["status"] == "failed"}
    assert set(failed) == {10, 11}
    assert "to" in failed[10]["error"] and failed[10]["id"] is None and failed[10]["to"] == "not-an-email"
    assert "name" in failed[11]["error"]
    templated = result["data"][1]["id"]
    detail = wait_for(lambda: live.get(f"/emails/{templated}").json()["email"]["status"] == "sent", timeout=5)
    assert detail
    message = email.message_from_bytes(
        (server.data_dir / "mail" / f"{templated}.eml").read_bytes(), policy=email.policy.default
    )
    assert message["Subject"] == "Row 1"  # the request's subject wins over the template's
    assert "Hello User 1" in message.get_body(("html",)).get_content()

    too_many = live.post("/emails/batch", json={"emails": [*rows, rows[0]]})
    assert too_many.status_code == 400 and "at most 100" in too_many.json()["error"]
    assert live.post("/emails/batch", json={"emails": []}).status_code == 400


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_cursor_walk_over_250_emails_with_inserts_during_the_walk(server, order):
    keys = new_project(server.data_dir, f"walk-{order}")
    with server.client(keys["test"]) as client:

        def send(count: int, label: str) -> list[str]:
            rows = [
                {"to": f"{label}{i}@example.com", "from": "w@walk.test", "subject": "w", "html": "<p>w</p>"}
                for i in range(count)
            ]
            return [r["id"] for r in client.post("/emails/batch", json={"emails": rows}).json()["data"]]

        originals = send(100, "a") + send(100, "b") + send(50, "c")
        seen, after, pages = [], None, 0
        while True:
            params = {"limit": 37, "order": order} | ({"startingAfter": after} if after else {})
            page = client.get("/emails", params=params).json()
            assert page["total"] >= 250
            seen += [e["id"] for e in page["emails"]]
            send(3, f"new{pages}-")  # new mail arrives while the client is paging
            pages += 1
            if not page["has_more"]:
                break
            after = page["emails"][-1]["id"]
    assert len(seen) == len(set(seen)), "a page repeated an email"
    expected = originals if order == "asc" else originals[::-1]
    assert [i for i in seen if i in set(originals)] == expected, "a page skipped an email"


def test_projects_are_isolated_and_revoked_keys_are_refused(server, live):
    sent = live.post("/emails", json=QUICKSTART).json()
    template = live.post("/templates", json={"name": "t", "subject": "s", "html": "<p>x</p>"}).json()
    other = new_project(server.data_dir, "other-project")
    with server.client(other["live"]) as foreign:
        for path in (f"/emails/{sent['id']}", f"/templates/{template['id']}"):
            response = foreign.get(path)
            assert response.status_code == 404 and set(response.json()) == {"error"}
        assert foreign.delete(f"/templates/{template['id']}").status_code == 404
        assert foreign.post("/emails", json=QUICKSTART | {"template_id": template["id"]}).status_code == 404
        assert all(e["id"] != sent["id"] for e in foreign.get("/emails").json()["emails"])
        listing = autorelay(server.data_dir, "keys", "list", "--project", "other-project")
        live_key_id = next(line.split()[0] for line in listing.splitlines() if "ak_live_" in line)
        autorelay(server.data_dir, "keys", "revoke", live_key_id)
        # The server caches a key for AUTORELAY_KEY_CACHE_SECONDS (1 s): a revocation made by
        # another process takes effect within that time.
        revoked = wait_for(lambda: (r := foreign.get("/emails")).status_code == 401 and r, timeout=3)
        assert revoked and "revoked" in revoked.json()["error"]
    assert live.get(f"/templates/{template['id']}").status_code == 200


def test_auth_scopes_and_error_shapes(server, live):
    with server.client(None) as anonymous:
        missing = anonymous.post("/emails", json=QUICKSTART)
        assert missing.status_code == 401 and "Missing API key" in missing.json()["error"]
    with server.client("ak_live_" + "0" * 64) as unknown:
        assert unknown.get("/emails").status_code == 401
    out = autorelay(server.data_dir, "keys", "create", "--scope", "emails.read")
    read_only = out.strip().splitlines()[-1]
    with server.client(read_only) as reader:
        assert reader.get("/emails").status_code == 200
        forbidden = reader.post("/emails", json=QUICKSTART)
        assert forbidden.status_code == 403 and "emails.send" in forbidden.json()["error"]

    unknown_field = live.post("/emails", json=QUICKSTART | {"bogus": 1})
    assert unknown_field.status_code == 400 and "bogus" in unknown_field.json()["error"]
    not_json = live.post("/emails", content=b"{", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    huge = live.post("/emails", content=b"x" * (17 * 1024 * 1024), headers={"content-type": "application/json"})
    assert huge.status_code == 413
    assert live.get("/emails", params={"limit": 101}).status_code == 400
    assert live.get("/nowhere").json() == {"error": "Not found"}
    assert live.get("/emails/em_doesnotexist").status_code == 404


def test_nul_characters_are_refused_naming_the_field_and_nothing_is_stored(server, live):
    before = live.get("/emails").json()["total"]
    subject = live.post("/emails", json=QUICKSTART | {"subject": "a\u0000b"})
    assert subject.status_code == 400 and "subject" in subject.json()["error"] and "NUL" in subject.json()["error"]
    tag = live.post("/emails", json=QUICKSTART | {"to": ["a@example.com", "b\u0000@example.com"]})
    assert tag.status_code == 400 and "to[1]" in tag.json()["error"]
    template = live.post("/templates", json={"name": "n\u0000", "subject": "s", "html": "<p>h</p>"})
    assert template.status_code == 400 and "name" in template.json()["error"]
    assert live.get("/emails/em_%00").status_code == 400
    assert live.get("/emails", params={"startingAfter": "em_\u0000"}).status_code == 400
    # A literal backslash-u-0000 (escaped in JSON as "\\u0000") is ordinary text.
    literal = live.post("/emails", json=QUICKSTART | {"subject": "\\u0000 is fine"})
    assert literal.status_code == 200
    assert live.get("/emails").json()["total"] == before + 1
