"""One-click unsubscribe: the signed token in every campaign email, its links and headers, and
applying it (POST /unsubscribe, or opening the link).

A token carries project, contact, list and campaign (and the campaign's topic, when it has one),
signed with the server secret: it cannot be forged or altered, and it needs no API key. A topic's
token leaves the topic and keeps the list (and the person's other topics); any other leaves the
list. Applying one twice changes nothing the second time.
"""

from __future__ import annotations

from urllib.parse import quote

from attrs import frozen

from autorelay_core.domain.contacts import Contact
from autorelay_core.domain.topics import Topic, subscribed
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.record_activity import record_unsubscribed

PURPOSE = "unsubscribe"
PREFERENCES = "preferences"
_FIELDS = (4, 5)  # project, contact, list, campaign[, topic]: tokens mailed before topics have 4
_MAX_TOKEN = 1024


@frozen
class Links:
    url: str  # `{{unsubscribe_url}}`, and the HTTPS half of List-Unsubscribe
    headers: dict[str, str]


def links_for(deps: Deps, contact: Contact, campaign_id: str, topic_id: str | None = None) -> Links:
    """The unsubscribe URL and the RFC 2369 / RFC 8058 headers for one contact's campaign email."""
    fields = (contact.project_id, contact.id, contact.list_id, campaign_id, *((topic_id,) if topic_id else ()))
    token = deps.signer.sign(PURPOSE, fields)
    url = f"{deps.config.unsubscribe_url}?token={token}"
    mailto = f"mailto:{deps.config.unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}"
    return Links(
        url=url,
        headers={
            "List-Unsubscribe": f"<{url}>, <{mailto}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )


@frozen
class Unsubscribed:
    contact_id: str
    changed: bool  # False when it had already happened (or the contact is gone)
    topic: str | None = None  # the name of the topic left, when the token was a topic's
    preferences_url: str | None = None  # where the person can see and change the rest


async def unsubscribe(deps: Deps, token: object) -> Unsubscribed:
    """Apply a token: the contact leaves the campaign's topic, or else its list (status
    `unsubscribed`); the campaign counts it."""
    fields = None
    if isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN:
        fields = deps.signer.unsign(PURPOSE, token)
    if fields is None or len(fields) not in _FIELDS:
        raise Invalid("The unsubscribe token is not valid: it was altered, cut short or not issued here", field="token")
    project_id, contact_id, list_id, campaign_id, *rest = fields
    contact = await deps.storage.contacts.get(project_id, contact_id)
    topic = await deps.storage.topics.get(project_id, rest[0]) if rest else None
    if topic is not None and contact is not None:
        changed = await leave_topic(deps, topic, contact.email_key)
        details = {"topic": topic.id}
    else:  # a list's mail, or a topic deleted since: the person still wants out, so the list
        changed = await deps.storage.contacts.unsubscribe(project_id, contact_id, list_id)
        details = None
    if changed and campaign_id:
        await deps.storage.campaigns.count_unsubscribed(project_id, campaign_id)
    if changed:
        await record_unsubscribed(deps, project_id, contact_id, campaign_id, details)
    page = preferences_link(deps, contact) if contact is not None else None
    return Unsubscribed(contact_id, changed, topic.name if topic else None, page)


async def leave_topic(deps: Deps, topic: Topic, email_key: str) -> bool:
    """The person leaves the topic; False when they were not in it."""
    before = (await deps.storage.topics.choices_for(topic.project_id, topic.id, [email_key])).get(email_key)
    await deps.storage.topics.choose(topic.project_id, email_key, {topic.id: False}, deps.clock.now())
    return subscribed(topic, before)


def preferences_link(deps: Deps, contact: Contact) -> str:
    """`{{ preferences_url }}`: the person's preference page (usecases/preferences.py). It names
    the contact, not the address, so the link shows no address to whoever sees it."""
    token = deps.signer.sign(PREFERENCES, (contact.project_id, contact.id))
    return f"{deps.config.preferences_url}?token={token}"
