"""Contact properties through a real server: declared, carried by contacts (create, update, JSON and
CSV imports), refused with the property and the type named, and filled into campaigns."""

from __future__ import annotations

import email
import email.policy
import uuid

import pytest

from tests.e2e.server import new_project, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(server):
    keys = new_project(server.data_dir, f"prop-{uuid.uuid4().hex[:6]}")
    with server.client(keys["live"]) as client:
        yield client


def declare(api, key: str, kind: str, **extra) -> dict:
    answer = api.post("/contact-properties", json={"key": key, "type": kind, **extra})
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_properties_are_declared_typed_and_refused_with_the_property_named(api):
    plan = declare(api, "plan", "text", default="free")
    assert (plan["key"], plan["type"], plan["default"]) == ("plan", "text", "free")
    assert plan["id"].startswith("prop_")
    declare(api, "seats", "number")
    declare(api, "vip", "boolean", default=False)
    declare(api, "renews_on", "date")
    listed = api.get("/contact-properties").json()["data"]
    assert [p["key"] for p in listed] == ["plan", "renews_on", "seats", "vip"]

    for body, problem in [
        ({"key": "plan", "type": "text"}, "already has a property 'plan'"),
        ({"key": "Plan", "type": "text"}, "lower-case"),
        ({"key": "email", "type": "text"}, "reserved"),
        ({"key": "age", "type": "integer"}, "type must be one of text, number, boolean, date"),
        ({"key": "age", "type": "number", "default": "old"}, "default must be a number"),
        ({"key": "age", "type": "number", "colour": 1}, "unknown field(s): colour"),
    ]:
        refused = api.post("/contact-properties", json=body)
        assert refused.status_code in (400, 409), refused.text
        assert problem in refused.json()["error"], refused.json()

    changed = api.patch(f"/contact-properties/{plan['id']}", json={"default": "starter"})
    assert changed.json()["data"]["default"] == "starter"
    retyped = api.patch(f"/contact-properties/{plan['id']}", json={"type": "number"})
    assert retyped.status_code == 400 and "type cannot change" in retyped.json()["error"]

    target = api.post("/lists", json={"name": "Customers"}).json()["id"]
    for properties, problem in [
        ({"seats": "many"}, "properties.seats must be a number"),
        ({"vip": "maybe"}, "properties.vip must be a boolean"),
        ({"renews_on": "next week"}, "properties.renews_on must be a date (YYYY-MM-DD)"),
        ({"plan": "pro\r\nBcc: x@evil.test"}, "properties.plan must not contain a line break"),
        ({"favourite": "blue"}, "unknown property 'favourite'"),
        (["plan"], "properties must be an object"),
    ]:
        refused = api.post("/contacts", json={"email": "a@example.com", "listId": target, "properties": properties})
        assert refused.status_code == 400, refused.text
        assert problem in refused.json()["error"], refused.json()
    assert api.get("/contacts", params={"listId": target}).json()["pagination"]["total"] == 0  # nothing half-made


def test_contacts_carry_values_and_defaults_through_create_update_and_imports(api):
    declare(api, "plan", "text", default="free")
    seats = declare(api, "seats", "number")
    declare(api, "vip", "boolean", default=False)
    target = api.post("/lists", json={"name": "Customers"}).json()["id"]
    created = api.post(
        "/contacts", json={"email": "ann@example.com", "listId": target, "properties": {"seats": 12, "vip": True}}
    )
    assert created.status_code == 201, created.text
    ann = created.json()
    assert ann["properties"] == {"plan": "free", "seats": 12, "vip": True}  # the default stands in for plan
    assert api.put(f"/contacts/{ann['id']}", json={"properties": {"plan": "pro", "seats": None}}).json()["success"]
    read = api.get(f"/contacts/{ann['id']}").json()["data"]
    assert read["properties"] == {"plan": "pro", "seats": None, "vip": True}

    imported = api.post(
        "/contacts/import",
        json={
            "listId": target,
            "contacts": [
                {"email": "bob@example.com", "properties": {"seats": 3}},
                {"email": "cy@example.com", "properties": {"seats": "three"}},
            ],
        },
    ).json()
    assert imported["importedCount"] == 1
    assert imported["errors"] == [{"index": 1, "error": "properties.seats must be a number"}]

    csv = "Email,Name,Seats,VIP,Shoe size\ndee@example.com,Dee,7,yes,42\neve@example.com,Eve,,no,39\n"
    answer = api.post("/contacts/import", params={"listId": target}, content=csv, headers={"Content-Type": "text/csv"})
    assert answer.json()["importedCount"] == 2, answer.text
    found = {c["email"]: c["properties"] for c in api.get("/contacts", params={"listId": target}).json()["contacts"]}
    assert found["dee@example.com"] == {"plan": "free", "seats": 7, "vip": True}  # no such property: shoe size
    assert found["eve@example.com"] == {"plan": "free", "seats": None, "vip": False}

    assert api.delete(f"/contact-properties/{seats['id']}").json()["success"]
    assert api.get(f"/contacts/{ann['id']}").json()["data"]["properties"] == {"plan": "pro", "vip": True}
    assert api.get(f"/contact-properties/{seats['id']}").status_code == 404


def test_a_campaign_fills_each_contacts_properties_and_defaults(server, api):
    declare(api, "plan", "text", default="free")
    declare(api, "seats", "number")
    target = api.post("/lists", json={"name": "Plans"}).json()["id"]
    rows = [
        {"email": "pro@example.com", "properties": {"plan": "pro", "seats": 5}},
        {"email": "basic@example.com"},
    ]
    assert api.post("/contacts/import", json={"listId": target, "contacts": rows}).json()["importedCount"] == 2
    body = {"name": "Plans", "subject": "Your {{ plan }} plan", "fromEmail": "news@acme.test", "listId": target}
    content = "<p>{% if seats %}{{ seats }} seats{% else %}no seats{% endif %} on {{ plan }}</p>"
    campaign = api.post("/campaigns", json=body | {"content": content}).json()
    assert api.post(f"/campaigns/{campaign['id']}/launch").status_code == 200

    def finished():
        return api.get(f"/campaigns/{campaign['id']}").json()["data"]["status"] == "completed"

    assert wait_for(finished, 20)
    emails = api.get("/emails", params={"limit": 10}).json()["emails"]
    got = {}
    for listed in emails:
        raw = (server.data_dir / "mail" / f"{listed['id']}.eml").read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        got[message["To"]] = (message["Subject"], message.get_body(("plain",)).get_content().strip())
    assert got["pro@example.com"][0] == "Your pro plan" and "5 seats on pro" in got["pro@example.com"][1]
    assert got["basic@example.com"][0] == "Your free plan" and "no seats on free" in got["basic@example.com"][1]
