"""Topics (domain/topics.py): a project's kinds of mail, each person's choices about them, and the
recipients a topic's campaign keeps at launch."""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.campaigns import CampaignStatus
from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.topics import MAX_DESCRIPTION, MAX_NAME, MAX_TOPICS, Subscription, Topic, subscribed
from autorelay_core.errors import Conflict, Invalid
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.manage_contacts import get_contact, text_field

_UNFINISHED = (CampaignStatus.DRAFT, CampaignStatus.SENDING, CampaignStatus.PAUSED)


@frozen
class TopicInput:
    name: Any = None
    description: Any = None
    default_subscription: Any = None


@frozen
class PersonTopic:
    """A topic as one person stands: `explicit` when they chose, not just the topic's default."""

    topic: Topic
    subscribed: bool
    explicit: bool


def _name(value: Any) -> str:
    name = text_field(value, "name")
    if name is None:
        raise Invalid("name is required", field="name")
    if len(name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters", field="name")
    return name


def _description(value: Any) -> str:
    if not isinstance(value, str):
        raise Invalid("description must be a string", field="description")
    if len(value) > MAX_DESCRIPTION:
        raise Invalid(f"description must be at most {MAX_DESCRIPTION} characters", field="description")
    return text_field(value, "description") or ""


def _subscription(value: Any, field: str) -> Subscription:
    try:
        return Subscription(value)
    except ValueError:
        raise Invalid(f"{field} must be opt_in or opt_out", field=field) from None


async def create_topic(deps: Deps, caller: Caller, fields: TopicInput) -> Topic:
    name = _name(fields.name)
    if fields.default_subscription is None:
        raise Invalid("defaultSubscription is required: opt_in or opt_out", field="defaultSubscription")
    default = _subscription(fields.default_subscription, "defaultSubscription")
    description = "" if fields.description is None else _description(fields.description)
    if len(await deps.storage.topics.all(caller.project_id)) >= MAX_TOPICS:
        raise Invalid(f"a project may keep at most {MAX_TOPICS} topics", field="name")
    now = deps.clock.now()
    topic = Topic(deps.ids.new("top"), caller.project_id, name, default, now, now, description)
    await deps.storage.topics.add(topic)
    return topic


async def get_topic(deps: Deps, caller: Caller, topic_id: str) -> Topic:
    return found(await deps.storage.topics.get(caller.project_id, topic_id), f"topic {topic_id}")


async def list_topics(deps: Deps, caller: Caller) -> list[Topic]:
    return await deps.storage.topics.all(caller.project_id)


async def update_topic(deps: Deps, caller: Caller, topic_id: str, fields: TopicInput) -> Topic:
    topic = await get_topic(deps, caller, topic_id)
    if fields.default_subscription is not None:
        wanted = _subscription(fields.default_subscription, "defaultSubscription")
        if wanted is not topic.default:
            raise Invalid(
                "defaultSubscription cannot change after a topic is created: it would turn everyone's"
                " silence into a choice they did not make; create a new topic instead",
                field="defaultSubscription",
            )
    changes: dict[str, Any] = {}
    if fields.name is not None:
        changes["name"] = _name(fields.name)
    if fields.description is not None:
        changes["description"] = _description(fields.description)
    if not changes:
        return topic
    updated = evolve(topic, **changes, updated_at=deps.clock.now())
    await deps.storage.topics.update(updated)
    return updated


async def delete_topic(deps: Deps, caller: Caller, topic_id: str) -> None:
    """Refused while a campaign that is not finished names the topic: its recipients' choices
    would be lost midway (who left would get the rest)."""
    topic = await get_topic(deps, caller, topic_id)
    for status in _UNFINISHED:
        page = await deps.storage.campaigns.page(caller.project_id, status, OffsetRequest(1, 10**6))
        using = [c.name for c in page.items if c.topic_id == topic.id]
        if using:
            raise Conflict(f"the topic is used by the {status.value} campaign {using[0]!r}; delete or finish it first")
    await deps.storage.topics.delete(caller.project_id, topic.id)


async def person_topics(deps: Deps, project_id: str, email_key: str) -> list[PersonTopic]:
    """Every topic of the project as this person stands (the preference page, the API)."""
    choices = await deps.storage.topics.choices(project_id, email_key)
    return [
        PersonTopic(t, subscribed(t, choices.get(t.id)), t.id in choices)
        for t in await deps.storage.topics.all(project_id)
    ]


async def contact_topics(deps: Deps, caller: Caller, contact_id: str) -> list[PersonTopic]:
    contact = await get_contact(deps, caller, contact_id)
    return await person_topics(deps, caller.project_id, contact.email_key)


def parse_choices(value: Any, known: dict[str, Topic]) -> dict[str, bool]:
    """`[{"id": TOPIC_ID, "subscription": "opt_in" | "opt_out"}, ...]` as topic id -> joined."""
    if not isinstance(value, list) or not value:
        raise Invalid("topics must be a non-empty list of {id, subscription}", field="topics")
    if len(value) > MAX_TOPICS:
        raise Invalid(f"topics may name at most {MAX_TOPICS} topics", field="topics")
    choices: dict[str, bool] = {}
    for index, item in enumerate(value):
        at = f"topics[{index}]"
        if not isinstance(item, dict) or set(item) - {"id", "subscription"}:
            raise Invalid(f"{at} must be an object with id and subscription", field=at)
        topic_id = item.get("id")
        if not isinstance(topic_id, str) or topic_id not in known:
            raise Invalid(f"{at}.id is not a topic of this project", field=f"{at}.id")
        choices[topic_id] = _subscription(item.get("subscription"), f"{at}.subscription") is Subscription.OPT_IN
    return choices


async def set_contact_topics(deps: Deps, caller: Caller, contact_id: str, value: Any) -> list[PersonTopic]:
    """Record the contact's person's choices for the topics named; the others keep theirs."""
    contact = await get_contact(deps, caller, contact_id)
    known = {t.id: t for t in await deps.storage.topics.all(caller.project_id)}
    choices = parse_choices(value, known)
    await deps.storage.topics.choose(caller.project_id, contact.email_key, choices, deps.clock.now())
    return await person_topics(deps, caller.project_id, contact.email_key)


async def in_topic(deps: Deps, topic: Topic, contacts: list[Contact]) -> list[Contact]:
    """The contacts whose person gets the topic's mail, in their order."""
    keys = list(dict.fromkeys(c.email_key for c in contacts))
    choices = await deps.storage.topics.choices_for(topic.project_id, topic.id, keys)
    return [c for c in contacts if subscribed(topic, choices.get(c.email_key))]
