"""A flagged project can read but not change anything; reinstated, it sends again."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.server import autorelay, new_project, wait_for

pytestmark = pytest.mark.e2e
BODY = {"to": "f@example.com", "from": "f@flag.test", "subject": "s", "html": "<p>x</p>"}


def test_flagged_blocks_every_mutation_and_reinstating_lifts_it(server):
    name = f"flagged-{uuid.uuid4().hex[:6]}"
    keys = new_project(server.data_dir, name)
    with server.client(keys["live"]) as client:
        template = client.post("/templates", json={"name": "t", "subject": "s", "html": "<p>t</p>"}).json()
        autorelay(server.data_dir, "projects", "flag", name, "--reason", "bounce review")
        # The server trusts its cached project for up to a second.
        blocked = wait_for(lambda: (r := client.post("/emails", json=BODY)).status_code == 403 and r, timeout=3)
        assert blocked.json()["accountStatus"] == "flagged" and "bounce review" in blocked.json()["error"]
        mutations = [
            client.post("/emails/batch", json={"emails": [BODY]}),
            client.post("/templates", json={"name": "t", "subject": "s", "html": "<p>t</p>"}),
            client.put(f"/templates/{template['id']}", json={"name": "u"}),
            client.delete(f"/templates/{template['id']}"),
        ]
        for response in mutations:
            assert response.status_code == 403 and response.json()["accountStatus"] == "flagged"
        for path in ("/emails", f"/templates/{template['id']}", "/templates"):
            assert client.get(path).status_code == 200
        autorelay(server.data_dir, "projects", "reinstate", name)
        assert wait_for(lambda: client.post("/emails", json=BODY).status_code == 200, timeout=3)
        with pytest.raises(AssertionError, match="add --yes to confirm"):  # a script must say so
            autorelay(server.data_dir, "projects", "deactivate", name)
        assert client.post("/emails", json=BODY).status_code == 200, "not deactivated without the confirmation"
        autorelay(server.data_dir, "projects", "deactivate", name, "--yes")
        gone = wait_for(lambda: (r := client.get("/emails")).status_code == 403 and r, timeout=3)
        assert gone.json()["accountStatus"] == "deactivated"
    with pytest.raises(AssertionError, match="cannot become active"):
        autorelay(server.data_dir, "projects", "reinstate", name)
