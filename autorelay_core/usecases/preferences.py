"""The preference page: where a person who got a campaign email sees the project's topics, keeps
the ones they want and leaves the others, or leaves everything, without signing in.

The link's signed token (unsubscribe.preferences_link) names the project and the contact; the
choices belong to the contact's address, so they hold across every list it is in. Leaving
everything leaves every topic and every list of the project; the suppression list is not touched
(it is the project's to keep) and still wins over any choice made here.
"""

from __future__ import annotations

from typing import Any

from attrs import frozen

from autorelay_core.domain.contacts import Contact, ContactStatus
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_topics import PersonTopic, person_topics
from autorelay_core.usecases.record_activity import record_unsubscribed
from autorelay_core.usecases.unsubscribe import PREFERENCES

_MAX_TOKEN = 1024


@frozen
class Preferences:
    address: str  # masked: j***@example.com (the page may be forwarded or shoulder-read)
    topics: list[PersonTopic]
    subscribed: bool  # still in at least one of the project's lists


def _masked(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


async def _contact(deps: Deps, token: Any) -> Contact:
    fields = None
    if isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN:
        fields = deps.signer.unsign(PREFERENCES, token)
    contact = None
    if fields is not None and len(fields) == 2:
        contact = await deps.storage.contacts.get(*fields)
    if contact is None:  # a forged token and a deleted contact read the same: nothing to show
        raise Invalid(
            "The preferences link is not valid: it was altered, cut short or is no longer in use", field="token"
        )
    return contact


async def _view(deps: Deps, contact: Contact) -> Preferences:
    topics = await person_topics(deps, contact.project_id, contact.email_key)
    return Preferences(_masked(contact.email), topics, contact.status is not ContactStatus.UNSUBSCRIBED)


async def open_preferences(deps: Deps, token: Any) -> Preferences:
    return await _view(deps, await _contact(deps, token))


async def save_preferences(deps: Deps, token: Any, joined: set[str]) -> Preferences:
    """Every topic of the project: in when its id is in `joined`, out otherwise (a form's ticked
    boxes). Ids that are not the project's topics are ignored: the form only offers its own."""
    contact = await _contact(deps, token)
    before = await person_topics(deps, contact.project_id, contact.email_key)
    choices = {t.topic.id: t.topic.id in joined for t in before}
    if choices:
        await deps.storage.topics.choose(contact.project_id, contact.email_key, choices, deps.clock.now())
    for left in (t for t in before if t.subscribed and not choices[t.topic.id]):
        await record_unsubscribed(deps, contact.project_id, contact.id, None, {"topic": left.topic.id})
    return await _view(deps, contact)


async def leave_everything(deps: Deps, token: Any) -> Preferences:
    """Every topic, and every list the address is in (contacts bounced or complained stay so)."""
    contact = await _contact(deps, token)
    topics = await person_topics(deps, contact.project_id, contact.email_key)
    if topics:
        choices = {t.topic.id: False for t in topics}
        await deps.storage.topics.choose(contact.project_id, contact.email_key, choices, deps.clock.now())
    changed = await deps.storage.contacts.mark_undeliverable(
        contact.project_id, contact.email_key, ContactStatus.UNSUBSCRIBED
    )
    if changed or any(t.subscribed for t in topics):
        await record_unsubscribed(deps, contact.project_id, contact.id, None, {"everything": True})
    return await _view(deps, await deps.storage.contacts.get(contact.project_id, contact.id) or contact)
