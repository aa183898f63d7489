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
        assert read["progress"] == {"total": 0, "sent": 0, "failed": 0, "percent": 0}
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
        assert data["progress"] == {"total": 39, "sent": 39, "failed": 0, "percent": 100.0}
        assert data["sentCount"] == 39 and data["stats"]["delivered"] == 39
    subjects = {}
    for path in (server.data_dir / "mail").glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["Subject"].startswith("Hi Reader"):
            subjects[message["To"]] = message["Subject"]
    assert len(subjects) == 39 and "reader7@example.com" not in subjects
    assert subjects["reader3@example.com"] == "Hi Reader 3"
