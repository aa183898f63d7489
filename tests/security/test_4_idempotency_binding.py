"""Class 4: an Idempotency-Key is bound to the concrete request: method, path with its ids, query
and body. The same key on another contact or campaign is a 422, never a replay."""

from __future__ import annotations

import uuid


def test_the_same_key_on_another_object_is_refused_not_replayed(live):
    target = live.post("/lists", json={"name": "Idem"}).json()["id"]
    first = live.post("/contacts", json={"email": "a@example.com", "listId": target}).json()["id"]
    second = live.post("/contacts", json={"email": "b@example.com", "listId": target}).json()["id"]
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = {"name": "Renamed"}
    done = live.put(f"/contacts/{first}", json=body, headers=key)
    assert done.status_code == 200 and live.get(f"/contacts/{first}").json()["data"]["name"] == "Renamed"
    replay = live.put(f"/contacts/{first}", json=body, headers=key)
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    other = live.put(f"/contacts/{second}", json=body, headers=key)
    assert other.status_code == 422, other.text
    assert live.get(f"/contacts/{second}").json()["data"]["name"] is None, "nothing happened to the other contact"
    query = live.put(f"/contacts/{first}", params={"x": "1"}, json=body, headers=key)
    assert query.status_code == 422


def test_the_same_key_on_another_campaign_launch_is_refused(live):
    target = live.post("/lists", json={"name": "Idem campaigns"}).json()["id"]
    body = {"name": "c", "subject": "s", "fromEmail": "news@acme.test", "listId": target, "content": "<p>x</p>"}
    one, two = (live.post("/campaigns", json=body).json()["id"] for _ in range(2))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert live.post(f"/campaigns/{one}/launch", headers=key).status_code == 200
    refused = live.post(f"/campaigns/{two}/launch", headers=key)
    assert refused.status_code == 422
    assert live.get(f"/campaigns/{two}").json()["data"]["status"] == "draft"
