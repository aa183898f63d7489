"""Topics and people's choices about them: one suite over every storage adapter."""

from __future__ import annotations

from datetime import timedelta

import pytest

from autorelay_core.domain.campaigns import Campaign
from autorelay_core.domain.topics import Subscription, Topic
from autorelay_core.errors import Conflict
from tests.contract.test_contact_storage import NOW


def topic(name: str, default=Subscription.OPT_IN, project: str = "prj_a", description: str = "") -> Topic:
    return Topic(f"top_{project}_{name}", project, name, default, NOW, NOW, description)


async def test_topics_are_unique_by_name_per_project_kept_oldest_first_and_renamed(store):
    news = topic("News", description="What we shipped")
    await store.topics.add(news)
    await store.topics.add(topic("Digest", Subscription.OPT_OUT))
    await store.topics.add(topic("News", project="prj_b"))  # another project's
    with pytest.raises(Conflict, match="News"):
        await store.topics.add(Topic("top_x", "prj_a", "News", Subscription.OPT_OUT, NOW, NOW))
    found = await store.topics.all("prj_a")
    assert [(t.name, t.default, t.description) for t in found] == [
        ("News", Subscription.OPT_IN, "What we shipped"),
        ("Digest", Subscription.OPT_OUT, ""),
    ]
    assert await store.topics.get("prj_b", news.id) is None, "another project's topic is not found"
    later = NOW + timedelta(minutes=1)
    renamed = Topic(news.id, "prj_a", "Product news", news.default, NOW, later, "New things")
    await store.topics.update(renamed)
    assert await store.topics.get("prj_a", news.id) == renamed
    with pytest.raises(Conflict):
        await store.topics.update(Topic(renamed.id, "prj_a", "Digest", news.default, NOW, later))
    assert (await store.topics.get("prj_a", news.id)).name == "Product news", "a refused rename changes nothing"


async def test_choices_are_per_person_and_topic_replaced_not_added_and_read_in_bulk(store):
    news, digest = topic("News"), topic("Digest", Subscription.OPT_OUT)
    await store.topics.add(news)
    await store.topics.add(digest)
    await store.topics.choose("prj_a", "ann@example.com", {news.id: False, digest.id: True}, NOW)
    await store.topics.choose("prj_a", "bob@example.com", {digest.id: True}, NOW)
    await store.topics.choose("prj_b", "ann@example.com", {news.id: True}, NOW)  # another project's
    assert await store.topics.choices("prj_a", "ann@example.com") == {news.id: False, digest.id: True}
    await store.topics.choose("prj_a", "ann@example.com", {news.id: True}, NOW + timedelta(seconds=1))
    assert await store.topics.choices("prj_a", "ann@example.com") == {news.id: True, digest.id: True}
    assert await store.topics.choices("prj_a", "cat@example.com") == {}
    many = [f"p{n}@example.com" for n in range(1200)]  # more than one statement's chunk
    await store.topics.choose("prj_a", many[1100], {digest.id: False}, NOW)
    found = await store.topics.choices_for("prj_a", digest.id, ["ann@example.com", "bob@example.com", *many])
    assert found == {"ann@example.com": True, "bob@example.com": True, many[1100]: False}
    assert await store.topics.choices_for("prj_b", digest.id, ["ann@example.com"]) == {}


async def test_deleting_a_topic_forgets_its_choices_and_touches_no_other_topic_or_project(store):
    news, digest = topic("News"), topic("Digest")
    await store.topics.add(news)
    await store.topics.add(digest)
    await store.topics.choose("prj_a", "ann@example.com", {news.id: False, digest.id: False}, NOW)
    assert await store.topics.delete("prj_b", news.id) is False, "not another project's to delete"
    assert await store.topics.delete("prj_a", news.id) is True
    assert await store.topics.delete("prj_a", news.id) is False
    assert [t.name for t in await store.topics.all("prj_a")] == ["Digest"]
    assert await store.topics.choices("prj_a", "ann@example.com") == {digest.id: False}
    await store.topics.add(Topic(news.id, "prj_a", "News", Subscription.OPT_IN, NOW, NOW))
    assert await store.topics.choices_for("prj_a", news.id, ["ann@example.com"]) == {}, "a new start"


async def test_a_campaign_keeps_the_topic_it_names(store):
    draft = Campaign("cmp_t", "prj_a", "c", "s", "a@acme.test", "lst_a", "<p>x</p>", NOW, NOW, topic_id="top_1")
    await store.campaigns.add(draft)
    assert (await store.campaigns.get("prj_a", "cmp_t")).topic_id == "top_1"
    draft.topic_id = None
    await store.campaigns.update(draft)
    assert (await store.campaigns.get("prj_a", "cmp_t")).topic_id is None
