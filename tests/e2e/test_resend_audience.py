"""The official Resend Python SDK, unchanged, on the audience endpoints of /compat/resend of a real
server: segments and audiences (AutoRelay's lists), contacts as people across them, contact
properties, topics and a contact's topics; then a campaign sent to that audience, and what the SDK
wrote read back through /api/v1."""

from __future__ import annotations

import pytest

from tests.e2e.server import new_project

resend = pytest.importorskip("resend")
pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk(server):
    keys = new_project(server.data_dir, "resend-audience")
    resend.api_key = keys["live"]
    resend.api_url = f"{server.base}/compat/resend"
    with server.client(keys["live"]) as api:
        yield resend, api


@pytest.mark.filterwarnings("ignore:Audiences is deprecated")  # the older name, still in the SDK
def test_segments_contacts_properties_and_topics_through_the_resend_sdk(sdk):
    sdk, api = sdk
    vip = sdk.Segments.create({"name": "VIP"})
    assert vip["id"].startswith("lst_") and vip["object"] == "segment"
    renamed = sdk.Segments.update(vip["id"], {"name": "Best customers"})
    assert renamed["id"] == vip["id"]
    assert [s["name"] for s in sdk.Segments.list()["data"]] == ["Best customers"]
    legacy = sdk.Audiences.create({"name": "Newsletter"})  # the older name for the same thing
    assert sdk.Audiences.get(legacy["id"])["name"] == "Newsletter"

    plan = sdk.ContactProperties.create({"key": "plan", "type": "string", "fallback_value": "free"})
    seats = sdk.ContactProperties.create({"key": "seats", "type": "number"})
    assert {p["key"]: p["type"] for p in sdk.ContactProperties.list()["data"]} == {"plan": "string", "seats": "number"}
    sdk.ContactProperties.update({"id": plan["id"], "fallback_value": "starter"})
    assert sdk.ContactProperties.get(plan["id"])["fallback_value"] == "starter"

    news = sdk.Topics.create({"name": "Product news", "default_subscription": "opt_in", "description": "Monthly"})
    digest = sdk.Topics.create({"name": "Digest", "default_subscription": "opt_out"})
    assert sdk.Topics.get(news["id"])["default_subscription"] == "opt_in"

    ann = sdk.Contacts.create(
        {
            "email": "ann@example.com",
            "first_name": "Ann",
            "last_name": "Lee",
            "properties": {"seats": 12},
            "segments": [{"id": vip["id"]}],
        }
    )
    bob = sdk.Contacts.create({"email": "bob@example.com", "first_name": "Bob"})  # no segment: "Contacts"
    in_audience = sdk.Contacts.create({"audience_id": legacy["id"], "email": "cy@example.com", "unsubscribed": True})
    got = sdk.Contacts.get(email="ann@example.com")
    assert (got["id"], got["first_name"], got["last_name"], got["unsubscribed"]) == (ann["id"], "Ann", "Lee", False)
    assert got["properties"] == {"plan": "starter", "seats": 12}, "the fallback stands in for what is not set"
    assert sdk.Contacts.get(audience_id=legacy["id"], id=in_audience["id"])["unsubscribed"] is True

    sdk.Contacts.Segments.add({"contact_id": ann["id"], "segment_id": legacy["id"]})
    assert sorted(s["name"] for s in sdk.Contacts.Segments.list({"contact_id": ann["id"]})["data"]) == [
        "Best customers",
        "Newsletter",
    ]
    people = sdk.Contacts.list()["data"]
    assert [p["email"] for p in people] == ["ann@example.com", "bob@example.com", "cy@example.com"], "one per person"
    assert [c["email"] for c in sdk.Contacts.list(segment_id=legacy["id"])["data"]] == [
        "cy@example.com",
        "ann@example.com",
    ]
    first_page = sdk.Contacts.list(params={"limit": 2})
    assert [p["email"] for p in first_page["data"]] == ["ann@example.com", "bob@example.com"] and first_page["has_more"]
    rest = sdk.Contacts.list(params={"limit": 2, "after": first_page["data"][-1]["id"]})
    assert [p["email"] for p in rest["data"]] == ["cy@example.com"] and not rest["has_more"]

    sdk.Contacts.update({"email": "ann@example.com", "last_name": "Lee-Park", "properties": {"plan": "pro"}})
    again = sdk.Contacts.get(id=ann["id"])
    assert (again["first_name"], again["last_name"], again["properties"]["plan"]) == ("Ann", "Lee-Park", "pro")

    topics = {t["name"]: t["subscription"] for t in sdk.Contacts.Topics.list(contact_id=ann["id"])["data"]}
    assert topics == {"Product news": "opt_in", "Digest": "opt_out"}
    sdk.Contacts.Topics.update(
        {
            "id": ann["id"],
            "topics": [{"id": news["id"], "subscription": "opt_out"}, {"id": digest["id"], "subscription": "opt_in"}],
        }
    )
    native = {t["name"]: t["subscription"] for t in api.get(f"/contacts/{ann['id']}/topics").json()["data"]}
    assert native == {"Product news": "opt_out", "Digest": "opt_in"}, "the same choices under /api/v1"

    sdk.Contacts.update({"id": bob["id"], "unsubscribed": True})
    assert api.get(f"/contacts/{bob['id']}").json()["data"]["status"] == "unsubscribed"
    sdk.Contacts.Segments.remove({"contact_id": ann["id"], "segment_id": legacy["id"]})
    assert [s["name"] for s in sdk.Contacts.Segments.list({"contact_id": ann["id"]})["data"]] == ["Best customers"]
    removed = sdk.Contacts.remove(email="ann@example.com")
    assert removed["deleted"] is True
    assert api.get(f"/contacts/{ann['id']}").status_code == 404

    with pytest.raises(resend.exceptions.ResendError) as refused:
        sdk.ContactProperties.create({"key": "Plan Name", "type": "string"})
    assert "key" in str(refused.value)
    with pytest.raises(resend.exceptions.ResendError) as refused:
        sdk.Topics.create({"name": "Secret", "default_subscription": "opt_in", "visibility": "private"})
    assert "every AutoRelay topic is public" in str(refused.value)
    assert sdk.Topics.remove(digest["id"])["deleted"] is True
    assert sdk.ContactProperties.remove(seats["id"])["deleted"] is True
    assert sdk.Segments.remove(vip["id"])["deleted"] is True
