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
