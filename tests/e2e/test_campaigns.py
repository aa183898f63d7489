"""Campaign drafts through a real server, in the reference's shapes."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.server import new_project

pytestmark = pytest.mark.e2e


def test_draft_campaigns_are_created_paged_edited_and_deleted(server):
    keys = new_project(server.data_dir, f"cmp-{uuid.uuid4().hex[:6]}")
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "Subscribers"}).json()["id"]
        body = {"name": "Spring Sale", "subject": "Discount!", "fromEmail": "sales@yourdomain.com"}
        body |= {"listId": target, "content": "<h1>Save 20%</h1>"}
        created = api.post("/campaigns", json=body)
        assert created.status_code == 201, created.text
        campaign = created.json()
        assert {k: campaign[k] for k in ("name", "status", "listId")} == {
            "name": "Spring Sale",
            "status": "draft",
            "listId": target,
        }
        assert campaign["id"].startswith("cmp_")
        missing = api.post("/campaigns", json={k: v for k, v in body.items() if k != "content"})
        assert missing.status_code == 400 and "content" in missing.json()["error"]
        second = api.post("/campaigns", json=body | {"name": "Summer"}).json()

        page = api.get("/campaigns", params={"page": 1, "pageSize": 1, "status": "draft"}).json()
        assert page["success"] and [c["name"] for c in page["data"]] == ["Summer"]
        assert page["pagination"] == {"total": 2, "page": 1, "pageSize": 1}
        assert page["data"][0]["sentCount"] == 0
        edited = api.put(f"/campaigns/{campaign['id']}", json={"subject": "Updated subject line"}).json()
        assert edited["success"] and edited["data"]["subject"] == "Updated subject line"
        assert edited["data"]["status"] == "draft" and edited["data"]["content"] == "<h1>Save 20%</h1>"
        read = api.get(f"/campaigns/{campaign['id']}").json()["data"]
        assert read["progress"] == {"total": 0, "sent": 0, "failed": 0, "uncertain": 0, "percent": 0}
        assert api.get("/stats").json()["campaigns"] == {"total": 2, "sending": 0, "completed": 0}
        assert api.delete(f"/campaigns/{second['id']}").json() == {"id": second["id"], "deleted": True}
        assert api.get(f"/campaigns/{second['id']}").status_code == 404
        assert api.get("/campaigns", params={"status": "done"}).status_code == 400


def test_a_launched_campaign_sends_each_subscribed_contact_once_and_completes(server):
    import email
    import email.policy

    from tests.e2e.server import wait_for

    keys = new_project(server.data_dir, f"run-{uuid.uuid4().hex[:6]}")
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "Readers"}).json()["id"]
        rows = [{"email": f"reader{i}@example.com", "name": f"Reader {i}"} for i in range(40)]
        assert api.post("/contacts/import", json={"listId": target, "contacts": rows}).json()["importedCount"] == 40
        gone = api.get("/contacts", params={"listId": target, "search": "reader7@"}).json()["contacts"][0]
        api.put(f"/contacts/{gone['id']}", json={"status": "unsubscribed"})
        body = {"name": "Weekly", "subject": "Hi {{ name }}", "fromEmail": "news@acme.test", "listId": target}
        campaign = api.post("/campaigns", json=body | {"content": "<p>Dear {{ name }} ({{ email }})</p>"}).json()
        launched = api.post(f"/campaigns/{campaign['id']}/launch")
        assert launched.status_code == 200, launched.text
        assert launched.json()["status"] == "sending" and launched.json()["jobId"].startswith("job_")
        assert api.post(f"/campaigns/{campaign['id']}/launch").status_code == 409
        assert api.put(f"/campaigns/{campaign['id']}", json={"subject": "x"}).status_code == 409
        refused = api.delete(f"/campaigns/{campaign['id']}")
        assert refused.status_code == 409 and refused.json()["error"] == "Only draft campaigns can be deleted"

        def finished() -> dict | None:
            data = api.get(f"/campaigns/{campaign['id']}").json()["data"]
            return data if data["status"] == "completed" else None

        data = wait_for(finished, 20)
        assert data, api.get(f"/campaigns/{campaign['id']}").json()
        assert data["progress"] == {"total": 39, "sent": 39, "failed": 0, "uncertain": 0, "percent": 100.0}
        assert data["sentCount"] == 39 and data["stats"]["delivered"] == 39
    subjects = {}
    for path in (server.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"].startswith("Hi Reader"):
            subjects[message["To"]] = message["Subject"]
    assert len(subjects) == 39 and "reader7@example.com" not in subjects
    assert subjects["reader3@example.com"] == "Hi Reader 3"


def _campaign_messages(server, subject: str) -> dict[str, object]:
    """The delivered messages with this subject, by recipient."""
    import email
    import email.policy

    found = {}
    for path in (server.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"] == subject:
            found[str(message["To"])] = message
    return found


def _run_campaign(api, list_id: str, subject: str, content: str) -> dict:
    from tests.e2e.server import wait_for

    body = {"name": subject, "subject": subject, "fromEmail": "news@acme.test", "listId": list_id}
    campaign = api.post("/campaigns", json=body | {"content": content}).json()
    assert api.post(f"/campaigns/{campaign['id']}/launch").status_code == 200

    def finished() -> dict | None:
        data = api.get(f"/campaigns/{campaign['id']}").json()["data"]
        return data if data["status"] == "completed" else None

    data = wait_for(finished, 20)
    assert data, api.get(f"/campaigns/{campaign['id']}").json()
    return data


def test_one_click_unsubscribe_from_the_delivered_messages_and_the_next_campaign_skips_them(server):
    import re

    import httpx

    keys = new_project(server.data_dir, f"unsub-{uuid.uuid4().hex[:6]}")
    tag = uuid.uuid4().hex[:6]
    with server.client(keys["live"]) as api:
        target = api.post("/lists", json={"name": "News"}).json()["id"]
        rows = [{"email": f"{n}-{tag}@example.com", "name": n.title()} for n in ("ann", "bob", "cy", "dee")]
        api.post("/contacts/import", json={"listId": target, "contacts": rows})
        dee = api.get("/contacts", params={"listId": target, "search": "dee-"}).json()["contacts"][0]
        api.put(f"/contacts/{dee['id']}", json={"status": "unsubscribed"})
        first = _run_campaign(api, target, f"First {tag}", '<p>Hi</p><a href="{{ unsubscribe_url }}">Leave</a>')
        messages = _campaign_messages(server, f"First {tag}")
        assert sorted(messages) == [f"{n}-{tag}@example.com" for n in ("ann", "bob", "cy")]
        links = {}
        for to, message in messages.items():
            assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
            https, mailto = re.findall(r"<([^>]+)>", message["List-Unsubscribe"])
            assert https.startswith(f"{server.base}/api/v1/unsubscribe?token=") and mailto.startswith("mailto:")
            html = message.get_body(("html",)).get_content()
            assert f'href="{https}"' in html, "{{unsubscribe_url}} is the same link"
            links[to.split("-")[0]] = https

        public = httpx.Client(timeout=10)  # no API key, as a mailbox provider or a browser
        one_click = public.post(
            links["bob"],
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert (one_click.status_code, one_click.json()) == (200, {"ok": True})
        assert "set-cookie" not in one_click.headers and "location" not in one_click.headers
        again = public.post(links["bob"], data={"List-Unsubscribe": "One-Click"})
        assert (again.status_code, again.json()) == (200, {"ok": True}), "repeating is harmless"

        page = public.get(links["cy"])
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "unsubscribed" in page.text and "set-cookie" not in page.headers
        assert not page.is_redirect and page.headers["referrer-policy"] == "no-referrer"

        token = links["ann"].split("token=")[1]
        tampered = token[:20] + ("x" if token[20] != "x" else "y") + token[21:]
        bad = public.post(f"{server.base}/api/v1/unsubscribe", json={"token": tampered})
        assert bad.status_code == 400 and bad.json()["ok"] is False and "token" in bad.json()["error"]
        bad_page = public.get(f"{server.base}/api/v1/unsubscribe", params={"token": tampered})
        assert bad_page.status_code == 400 and bad_page.headers["content-type"].startswith("text/html")
        assert public.post(f"{server.base}/api/v1/unsubscribe", json={}).status_code == 400

        statuses = {
            c["email"].split("-")[0]: c["status"]
            for c in api.get("/contacts", params={"listId": target}).json()["contacts"]
        }
        assert statuses == {"ann": "subscribed", "bob": "unsubscribed", "cy": "unsubscribed", "dee": "unsubscribed"}
        assert api.get(f"/campaigns/{first['id']}").json()["data"]["stats"]["unsubscribed"] == 2

        second = _run_campaign(api, target, f"Second {tag}", "<p>No link placed here</p>")
        assert second["progress"]["total"] == 1
        (only,) = _campaign_messages(server, f"Second {tag}").values()
        assert only["To"] == f"ann-{tag}@example.com"
        footer_link = re.findall(r"<([^>]+)>", only["List-Unsubscribe"])[0]
        assert f'href="{footer_link}"' in only.get_body(("html",)).get_content(), "a footer adds the link"


def test_unsubscribe_is_limited_per_client_ip(tmp_path):
    import httpx

    from tests.e2e.server import Server

    server = Server(tmp_path).start()
    try:
        url = f"{server.base}/api/v1/unsubscribe"
        with httpx.Client(timeout=10) as public:
            answers = [public.post(url, json={"token": "nope"}).status_code for _ in range(45)]
            answers += [public.get(url, params={"token": "nope"}).status_code for _ in range(15)]
            assert set(answers) == {400}, "GET and POST share the budget of 60 a minute"
            limited = public.post(url, json={"token": "nope"})
            assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
            page = public.get(url, params={"token": "nope"})
            assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    finally:
        server.stop()
