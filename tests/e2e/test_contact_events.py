"""What contacts did, through a real server: events an app records (by address or contact id,
idempotent, refused with the field named), and a campaign's engagement and one-click unsubscribe in
the same timeline."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.e2e.server import new_project
from tests.e2e.test_campaigns import _campaign_messages, _run_campaign

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(server):
    keys = new_project(server.data_dir, f"evt-{uuid.uuid4().hex[:6]}")
    with server.client(keys["live"]) as client:
        yield client


def test_events_are_recorded_by_address_or_id_idempotently_and_refused_with_the_field_named(api):
    target = api.post("/lists", json={"name": "App users"}).json()["id"]
    ann = api.post("/contacts", json={"email": "Ann@Example.com", "listId": target}).json()
    recorded = api.post(
        "/events",
        json={"name": "signed_up", "email": "ann@example.COM", "properties": {"plan": "pro", "seats": 3}},
        headers={"Idempotency-Key": "signup-ann"},
    )
    assert recorded.status_code == 201, recorded.text
    first = recorded.json()
    assert (first["name"], first["email"], first["properties"]) == (
        "signed_up",
        "ann@example.com",
        {"plan": "pro", "seats": 3},
    )
    replay = api.post(
        "/events",
        json={"name": "signed_up", "email": "ann@example.COM", "properties": {"plan": "pro", "seats": 3}},
        headers={"Idempotency-Key": "signup-ann"},
    )
    assert replay.json()["id"] == first["id"]  # stored once
    by_id = api.post("/events", json={"name": "upgraded", "contactId": ann["id"], "occurredAt": "2026-01-02T03:04:05Z"})
    assert by_id.status_code == 201 and by_id.json()["occurredAt"].startswith("2026-01-02T03:04:05")
    ancient = api.post("/events", json={"name": "x", "email": "old@example.com", "occurredAt": "0861-12-22T08:56:25Z"})
    assert ancient.json()["occurredAt"] == "0861-12-22T08:56:25.000Z"  # four digits, as ISO 8601 says
    early = api.post("/events", json={"name": "visited", "email": "not-yet@example.com"})
    assert early.status_code == 201  # someone who is not a contact yet: theirs once they are

    timeline = api.get(f"/contacts/{ann['id']}/events").json()["data"]
    assert [e["name"] for e in timeline] == ["signed_up", "upgraded"]  # newest first (upgraded was in January)

    for body, problem in [
        ({"email": "ann@example.com"}, "name is required"),
        ({"name": "email.opened", "email": "ann@example.com"}, "the platform's own events"),
        ({"name": "has space", "email": "ann@example.com"}, "name must be"),
        ({"name": "x", "email": "ann@example.com", "contactId": ann["id"]}, "one of them"),
        ({"name": "x"}, "one of them"),
        ({"name": "x", "email": "nobody"}, "email"),
        (
            {"name": "x", "email": "ann@example.com", "occurredAt": "2099-01-01T00:00:00Z"},
            "occurredAt is in the future",
        ),
        ({"name": "x", "email": "ann@example.com", "occurredAt": "yesterday"}, "occurredAt"),
        ({"name": "x", "email": "ann@example.com", "properties": {"blob": "a" * 9000}}, "at most 8 KB"),
        ({"name": "x", "email": "ann@example.com", "properties": ["a"]}, "properties must be a JSON object"),
        ({"name": "x", "email": "ann@example.com", "colour": "red"}, "unknown field(s): colour"),
    ]:
        refused = api.post("/events", json=body)
        assert refused.status_code == 400, (body, refused.text)
        assert problem in refused.json()["error"], (body, refused.json())
    assert api.post("/events", json={"name": "x", "contactId": "con_nope"}).status_code == 404
    assert len(api.get(f"/contacts/{ann['id']}/events").json()["data"]) == 2  # nothing refused was kept


def test_another_projects_contact_is_not_found_for_events(server, api):
    target = api.post("/lists", json={"name": "Mine"}).json()["id"]
    mine = api.post("/contacts", json={"email": "mine@example.com", "listId": target}).json()
    other = new_project(server.data_dir, f"evt-other-{uuid.uuid4().hex[:6]}")
    with server.client(other["live"]) as stranger:
        assert stranger.get(f"/contacts/{mine['id']}/events").status_code == 404
        assert stranger.post("/events", json={"name": "x", "contactId": mine["id"]}).status_code == 404


def test_a_campaigns_engagement_and_a_one_click_unsubscribe_join_the_timeline(server, api):
    tag = uuid.uuid4().hex[:6]
    target = api.post("/lists", json={"name": "News"}).json()["id"]
    rows = [{"email": f"{n}-{tag}@example.com"} for n in ("ann", "bob")]
    api.post("/contacts/import", json={"listId": target, "contacts": rows})
    campaign = _run_campaign(api, target, f"Engage {tag}", '<p>Hi</p><a href="{{ unsubscribe_url }}">Leave</a>')
    messages = _campaign_messages(server, f"Engage {tag}")
    https, _ = re.findall(r"<([^>]+)>", messages[f"bob-{tag}@example.com"]["List-Unsubscribe"])
    one_click = httpx.post(
        https,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert one_click.status_code == 200

    contacts = {c["email"]: c for c in api.get("/contacts", params={"listId": target}).json()["contacts"]}
    bob = api.get(f"/contacts/{contacts[f'bob-{tag}@example.com']['id']}/events").json()["data"]
    assert [(e["name"], e["campaignId"]) for e in bob] == [
        ("contact.unsubscribed", campaign["id"]),
        ("email.sent", campaign["id"]),
    ]
    ann = api.get(f"/contacts/{contacts[f'ann-{tag}@example.com']['id']}/events").json()["data"]
    assert [e["name"] for e in ann] == ["email.sent"]
