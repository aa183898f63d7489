"""Topics over the memory adapters: who a topic's campaign reaches at launch and at delivery, what
its one-click link leaves, the preference page's rules, and the suppression list winning."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases import manage_topics as topics
from autorelay_core.usecases import preferences
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, get_contact
from autorelay_core.usecases.manage_suppressions import add_suppression
from autorelay_core.usecases.unsubscribe import links_for, unsubscribe
from tests.unit.test_campaigns import draft
from tests.unit.test_send_email import live_key


def _token(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


async def _setup(deps, *names, default="opt_in"):
    key = await live_key(deps)
    topic = await topics.create_topic(deps, key, topics.TopicInput("News", "What shipped", default))
    campaign = await draft(deps, key, from_email="news@acme.test", topic_id=topic.id)
    people = {}
    for name in names:
        found = await create_contact(deps, key, ContactInput(f"{name.lower()}@example.com", campaign.list_id, name))
        people[name] = found
    return key, topic, campaign, people


def _choice(topic, joined: bool) -> list[dict]:
    return [{"id": topic.id, "subscription": "opt_in" if joined else "opt_out"}]


async def test_a_topic_campaign_reaches_only_those_in_the_topic_by_default_or_by_choice(deps, mailer, clock):
    key, topic, campaign, people = await _setup(deps, "Ann", "Bob", "Cy", default="opt_out")
    await topics.set_contact_topics(deps, key, people["Bob"].id, _choice(topic, True))
    launched = await uc.launch_campaign(deps, key, campaign.id)
    assert launched.total == 1, "opt_out: only who joined"
    clock.advance(seconds=1)
    await drain(deps)
    assert [m.to for m in mailer.sent] == [("bob@example.com",)]
    assert "/api/v1/unsubscribe?token=" in mailer.sent[0].headers["List-Unsubscribe"]
    # The draft places its own unsubscribe link; the preference page's is added.
    assert mailer.sent[0].html.count("/api/v1/unsubscribe?token=") == 1
    assert "Choose which emails you get</a>" in mailer.sent[0].html and "/preferences?token=" in mailer.sent[0].html


async def test_one_click_leaves_the_topic_keeps_the_list_and_an_older_token_still_leaves_the_list(deps, mailer, clock):
    key, _topic, campaign, people = await _setup(deps, "Ann", "Bob")
    await uc.launch_campaign(deps, key, campaign.id)
    clock.advance(seconds=1)
    await drain(deps)
    anns = next(m for m in mailer.sent if m.to == ("ann@example.com",))
    done = await unsubscribe(deps, _token(anns.headers["List-Unsubscribe"].split(">")[0][1:]))
    assert (done.changed, done.topic) == (True, "News") and done.preferences_url
    ann = await get_contact(deps, key, people["Ann"].id)
    assert ann.status is ContactStatus.SUBSCRIBED
    stood = await topics.contact_topics(deps, key, ann.id)
    assert [(t.topic.name, t.subscribed, t.explicit) for t in stood] == [("News", False, True)]
    again = await unsubscribe(deps, _token(anns.headers["List-Unsubscribe"].split(">")[0][1:]))
    assert again.changed is False, "twice changes nothing the second time"
    assert (await uc.get_campaign(deps, key, campaign.id)).unsubscribed == 1

    # A link mailed before topics existed (four fields) leaves the list, as it always did.
    older = links_for(deps, await get_contact(deps, key, people["Bob"].id), campaign.id)
    assert (await unsubscribe(deps, _token(older.url))).topic is None
    assert (await get_contact(deps, key, people["Bob"].id)).status is ContactStatus.UNSUBSCRIBED


async def test_a_topic_deleted_since_the_mail_makes_its_link_leave_the_list(deps, mailer, clock):
    key, topic, campaign, people = await _setup(deps, "Ann")
    link = links_for(deps, people["Ann"], campaign.id, topic.id)
    await uc.delete_campaign(deps, key, campaign.id)
    await topics.delete_topic(deps, key, topic.id)
    done = await unsubscribe(deps, _token(link.url))
    assert done.changed and done.topic is None
    assert (await get_contact(deps, key, people["Ann"].id)).status is ContactStatus.UNSUBSCRIBED


async def test_leaving_after_the_launch_holds_for_the_rest_of_a_paced_campaign(deps, mailer, clock):
    from attrs import evolve

    deps = evolve(deps, config=evolve(deps.config, campaign_rate=1.0))
    key, topic, campaign, people = await _setup(deps, "Ann", "Bob", "Cy")
    await uc.launch_campaign(deps, key, campaign.id)
    await drain(deps)
    assert [m.to for m in mailer.sent] == [("ann@example.com",)], "one a second"
    await topics.set_contact_topics(deps, key, people["Cy"].id, _choice(topic, False))
    clock.advance(seconds=3)
    await drain(deps)
    assert sorted(m.to[0] for m in mailer.sent) == ["ann@example.com", "bob@example.com"]
    final = await uc.progress(deps, await uc.get_campaign(deps, key, campaign.id))
    assert (final.campaign.sent, final.campaign.failed) == (2, 1)
    from autorelay_core.domain.emails import EmailStatus
    from autorelay_core.policies.pagination import CursorRequest
    from autorelay_core.usecases.read_emails import list_emails

    failed = await list_emails(deps, key, EmailStatus.FAILED, CursorRequest(10))
    (cys,) = failed.items
    assert cys.to == ("cy@example.com",)
    assert cys.last_error == "not sent: the recipient left the topic 'News'"


async def test_the_suppression_list_wins_over_a_persons_choice(deps, mailer, clock):
    key, topic, campaign, people = await _setup(deps, "Ann", "Bob")
    await topics.set_contact_topics(deps, key, people["Ann"].id, _choice(topic, True))
    await add_suppression(deps, key, "ann@example.com", "asked by phone")
    await uc.launch_campaign(deps, key, campaign.id)
    clock.advance(seconds=1)
    await drain(deps)
    assert [m.to for m in mailer.sent] == [("bob@example.com",)]


async def test_the_preference_page_masks_the_address_saves_every_topic_and_leaves_everything(deps):
    from autorelay_core.usecases.unsubscribe import preferences_link

    key, _news, _campaign, people = await _setup(deps, "Ann")
    digest = await topics.create_topic(deps, key, topics.TopicInput("Digest", None, "opt_out"))
    second = await create_contact(deps, key, ContactInput("ANN@example.com", (await draft(deps, key)).list_id))
    token = _token(preferences_link(deps, people["Ann"]))
    seen = await preferences.open_preferences(deps, token)
    assert seen.address == "a***@example.com"
    assert [(t.topic.name, t.subscribed) for t in seen.topics] == [("News", True), ("Digest", False)]
    saved = await preferences.save_preferences(deps, token, {digest.id, "top_not_ours"})
    assert [(t.topic.name, t.subscribed) for t in saved.topics] == [("News", False), ("Digest", True)]
    left = await preferences.leave_everything(deps, token)
    assert [t.subscribed for t in left.topics] == [False, False] and left.subscribed is False
    for contact in (people["Ann"], second):
        assert (await get_contact(deps, key, contact.id)).status is ContactStatus.UNSUBSCRIBED, "every list"
    for bad in ("", "x" * 2000, token[:-2] + "zz", 42):
        with pytest.raises(Invalid, match="preferences link is not valid"):
            await preferences.open_preferences(deps, bad)


def test_every_campaign_links_to_the_preference_page_and_places_no_link_twice(deps):
    footer = uc.with_unsubscribe_link
    both = "<p>{{ unsubscribe_url }} {{ preferences_url }}</p>"
    assert footer(deps, both) == both, "placed by the content: nothing added"
    own_unsubscribe = footer(deps, "<p><a href='{{ unsubscribe_url }}'>bye</a></p></body>")
    assert own_unsubscribe.count("unsubscribe_url") == 1 and own_unsubscribe.count("preferences_url") == 1
    assert own_unsubscribe.endswith("</p></body>"), "before </body>"
    own_preferences = footer(deps, "<p>{{ preferences_url }}</p>")
    assert own_preferences.count("preferences_url") == 1 and own_preferences.count("unsubscribe_url") == 1
    bare = footer(deps, "<p>Hi</p>")
    assert "Unsubscribe</a>" in bare and "Email preferences</a>" in bare
