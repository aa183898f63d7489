"""Topics through a real server: declared and refused with the problem named, a contact's choices
read and set, campaigns of a topic reaching only those in it, RFC 8058 one-click leaving one topic
(and not the list or the other topics), and the preference page saving choices or leaving all."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest

from tests.e2e.server import new_project, wait_for
from tests.e2e.test_campaigns import _campaign_messages

pytestmark = pytest.mark.e2e


@pytest.fixture
def api(server):
    keys = new_project(server.data_dir, f"top-{uuid.uuid4().hex[:6]}")
    with server.client(keys["live"]) as client:
        yield client


def test_topics_are_declared_refused_with_the_problem_named_and_chosen_per_contact(server, api):
    made = api.post("/topics", json={"name": "News", "defaultSubscription": "opt_in", "description": "What shipped"})
    assert made.status_code == 201, made.text
    news = made.json()
    assert (news["name"], news["defaultSubscription"], news["description"]) == ("News", "opt_in", "What shipped")
    digest = api.post("/topics", json={"name": "Digest", "defaultSubscription": "opt_out"}).json()
    for body, status, problem in [
        ({"name": "X", "defaultSubscription": "maybe"}, 400, "defaultSubscription must be opt_in or opt_out"),
        ({"name": "X"}, 400, "defaultSubscription is required"),
        ({"name": "x" * 51, "defaultSubscription": "opt_in"}, 400, "at most 50 characters"),
        ({"name": "Bad\r\nBcc: x@evil.test", "defaultSubscription": "opt_in"}, 400, "name"),
        ({"name": "News", "defaultSubscription": "opt_out"}, 409, "already has a topic named 'News'"),
    ]:
        refused = api.post("/topics", json=body)
        assert refused.status_code == status and problem in refused.json()["error"], (body, refused.text)
    flip = api.patch(f"/topics/{news['id']}", json={"defaultSubscription": "opt_out"})
    assert flip.status_code == 400 and "cannot change" in flip.json()["error"]
    renamed = api.patch(f"/topics/{news['id']}", json={"name": "Product news"}).json()["data"]
    assert (renamed["name"], renamed["defaultSubscription"]) == ("Product news", "opt_in")
    assert [t["name"] for t in api.get("/topics").json()["data"]] == ["Product news", "Digest"]

    people = api.post("/lists", json={"name": "People"}).json()["id"]
    ann = api.post("/contacts", json={"email": "ann@example.com", "listId": people}).json()
    stood = {
        t["id"]: (t["subscription"], t["explicit"]) for t in api.get(f"/contacts/{ann['id']}/topics").json()["data"]
    }
    assert stood == {news["id"]: ("opt_in", False), digest["id"]: ("opt_out", False)}, "the defaults"
    choice = [{"id": digest["id"], "subscription": "opt_in"}]
    changed = api.patch(f"/contacts/{ann['id']}/topics", json={"topics": choice}).json()["data"]
    assert {t["id"]: (t["subscription"], t["explicit"]) for t in changed} == {
        news["id"]: ("opt_in", False),
        digest["id"]: ("opt_in", True),
    }
    bob = api.post("/contacts", json={"email": "bob@example.com", "listId": people}).json()
    api.patch(f"/contacts/{bob['id']}/topics", json={"topics": [{"id": news["id"], "subscription": "opt_out"}]})
    for topic, who in [(news["id"], ["ann@example.com"]), (digest["id"], ["ann@example.com"]), ("top_nope", [])]:
        found = api.post("/segments/preview", json={"filter": {"topic": topic}}).json()["data"]
        assert [c["email"] for c in found["contacts"]] == who, topic
    everyone_but = api.post("/segments/preview", json={"filter": {"not": {"topic": news["id"]}}}).json()["data"]
    assert [c["email"] for c in everyone_but["contacts"]] == ["bob@example.com"]
    unknown = api.patch(
        f"/contacts/{ann['id']}/topics", json={"topics": [{"id": "top_nope", "subscription": "opt_in"}]}
    )
    assert unknown.status_code == 400 and "topics[0].id is not a topic of this project" in unknown.json()["error"]

    body = {"name": "c", "subject": "s", "fromEmail": "news@acme.test", "content": "<p>x</p>", "listId": people}
    draft = api.post("/campaigns", json=body | {"topicId": digest["id"]}).json()
    assert draft["topicId"] == digest["id"]
    busy = api.delete(f"/topics/{digest['id']}")
    assert busy.status_code == 409 and "draft campaign 'c'" in busy.json()["error"]

    other = new_project(server.data_dir, f"top-other-{uuid.uuid4().hex[:6]}")
    with server.client(other["live"]) as stranger:
        assert stranger.get(f"/topics/{news['id']}").status_code == 404
        assert stranger.get(f"/contacts/{ann['id']}/topics").status_code == 404
        assert stranger.post("/campaigns", json=body | {"topicId": news["id"]}).status_code == 404


def _send(server, api, list_id: str, subject: str, topic: str | None) -> dict[str, object]:
    body = {"name": subject, "subject": subject, "fromEmail": "news@acme.test", "listId": list_id}
    body |= {"content": "<p>Hello {{ name }}</p>", **({"topicId": topic} if topic else {})}
    campaign = api.post("/campaigns", json=body).json()
    assert api.post(f"/campaigns/{campaign['id']}/launch").status_code == 200

    def finished() -> dict | None:
        data = api.get(f"/campaigns/{campaign['id']}").json()["data"]
        return data if data["status"] == "completed" else None

    data = wait_for(finished, 20)
    assert data, api.get(f"/campaigns/{campaign['id']}").json()
    return _campaign_messages(server, subject)


def test_one_click_leaves_the_campaigns_topic_and_keeps_the_list_and_the_other_topics(server, api):
    tag = uuid.uuid4().hex[:6]
    people = api.post("/lists", json={"name": "People"}).json()["id"]
    ids = {}
    for name in ("ann", "bob", "cy"):
        ids[name] = api.post("/contacts", json={"email": f"{name}-{tag}@example.com", "listId": people}).json()["id"]
    news = api.post("/topics", json={"name": "News", "defaultSubscription": "opt_in"}).json()["id"]
    digest = api.post("/topics", json={"name": "Digest", "defaultSubscription": "opt_in"}).json()["id"]
    api.patch(f"/contacts/{ids['cy']}/topics", json={"topics": [{"id": news, "subscription": "opt_out"}]})

    first = _send(server, api, people, f"News one {tag}", news)
    assert sorted(first) == [f"ann-{tag}@example.com", f"bob-{tag}@example.com"], "cy left News before"
    bobs = first[f"bob-{tag}@example.com"]
    assert bobs["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    https = re.findall(r"<([^>]+)>", bobs["List-Unsubscribe"])[0]
    html = bobs.get_body(("html",)).get_content()
    assert f'href="{https}"' in html and f"{server.base}/preferences?token=" in html, "the footer has both links"

    public = httpx.Client(timeout=10)  # a mailbox provider: no key, no cookie
    one_click = public.post(
        https, content=b"List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert (one_click.status_code, one_click.json()) == (200, {"ok": True})
    stood = {t["id"]: t["subscription"] for t in api.get(f"/contacts/{ids['bob']}/topics").json()["data"]}
    assert stood == {news: "opt_out", digest: "opt_in"}, "only the campaign's topic is left"
    assert api.get(f"/contacts/{ids['bob']}").json()["data"]["status"] == "subscribed", "and bob stays on the list"
    page = public.get(https)  # opening the link again: said plainly, with the way to the rest
    assert "You will not receive any more emails about News" in page.text
    assert f'href="{server.base}/preferences?token=' in page.text

    assert sorted(_send(server, api, people, f"Digest {tag}", digest)) == [
        f"{n}-{tag}@example.com" for n in ("ann", "bob", "cy")
    ]
    assert sorted(_send(server, api, people, f"News two {tag}", news)) == [f"ann-{tag}@example.com"]
    assert sorted(_send(server, api, people, f"Everyone {tag}", None)) == [
        f"{n}-{tag}@example.com" for n in ("ann", "bob", "cy")
    ], "a campaign with no topic goes to the whole list, as before"
    progress = api.get("/campaigns").json()
    assert progress  # the listing still answers with the new field in every campaign


def test_the_preference_page_saves_choices_and_leaves_everything(server, api):
    tag = uuid.uuid4().hex[:6]
    people = api.post("/lists", json={"name": "People"}).json()["id"]
    other = api.post("/lists", json={"name": "Other"}).json()["id"]
    dee = api.post("/contacts", json={"email": f"dee-{tag}@example.com", "listId": people}).json()["id"]
    dee_other = api.post("/contacts", json={"email": f"dee-{tag}@example.com", "listId": other}).json()["id"]
    news = api.post("/topics", json={"name": "News", "defaultSubscription": "opt_in"}).json()["id"]
    digest = api.post("/topics", json={"name": "Digest", "defaultSubscription": "opt_out"}).json()["id"]
    (message,) = _send(server, api, people, f"Hello {tag}", news).values()
    link = re.search(r'href="([^"]*/preferences\?token=[^"]+)"', message.get_body(("html",)).get_content())[1]

    public = httpx.Client(timeout=10)
    page = public.get(link)
    assert page.status_code == 200 and "d***@example.com" in page.text and f"dee-{tag}" not in page.text
    assert page.headers["referrer-policy"] == "no-referrer" and "set-cookie" not in page.headers
    token = link.split("token=")[1]
    saved = public.post(f"{server.base}/preferences", data={"token": token, "topic": [digest], "action": "save"})
    assert saved.status_code == 200 and "Your preferences are saved" in saved.text
    stood = {t["id"]: t["subscription"] for t in api.get(f"/contacts/{dee}/topics").json()["data"]}
    assert stood == {news: "opt_out", digest: "opt_in"}
    forged = public.post(f"{server.base}/preferences", data={"token": token[:-3] + "abc", "action": "leave"})
    assert forged.status_code == 400 and "does not work" in forged.text
    assert api.get(f"/contacts/{dee}").json()["data"]["status"] == "subscribed", "a forged token changes nothing"

    left = public.post(f"{server.base}/preferences", data={"token": token, "action": "leave"})
    assert left.status_code == 200 and "unsubscribed from everything" in left.text
    stood = {t["id"]: t["subscription"] for t in api.get(f"/contacts/{dee}/topics").json()["data"]}
    assert stood == {news: "opt_out", digest: "opt_out"}
    assert [api.get(f"/contacts/{c}").json()["data"]["status"] for c in (dee, dee_other)] == ["unsubscribed"] * 2
