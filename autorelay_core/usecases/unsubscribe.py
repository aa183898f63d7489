"""One-click unsubscribe: the signed token in every campaign email, its links and headers, and
applying it (POST /unsubscribe, or opening the link).

A token carries project, contact, list and campaign, signed with the server secret: it cannot be
forged or altered, and it needs no API key. Applying one twice changes nothing the second time.
"""

from __future__ import annotations

from urllib.parse import quote

from attrs import frozen

from autorelay_core.domain.contacts import Contact
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.record_activity import record_unsubscribed

PURPOSE = "unsubscribe"
_FIELDS = 4  # project, contact, list, campaign
_MAX_TOKEN = 1024


@frozen
class Links:
    url: str  # `{{unsubscribe_url}}`, and the HTTPS half of List-Unsubscribe
    headers: dict[str, str]


def links_for(deps: Deps, contact: Contact, campaign_id: str) -> Links:
    """The unsubscribe URL and the RFC 2369 / RFC 8058 headers for one contact's campaign email."""
    token = deps.signer.sign(PURPOSE, (contact.project_id, contact.id, contact.list_id, campaign_id))
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


async def unsubscribe(deps: Deps, token: object) -> Unsubscribed:
    """Apply a token: the contact leaves its list (status `unsubscribed`) and the campaign counts it."""
    fields = None
    if isinstance(token, str) and 0 < len(token) <= _MAX_TOKEN:
        fields = deps.signer.unsign(PURPOSE, token)
    if fields is None or len(fields) != _FIELDS:
        raise Invalid("The unsubscribe token is not valid: it was altered, cut short or not issued here", field="token")
    project_id, contact_id, list_id, campaign_id = fields
    changed = await deps.storage.contacts.unsubscribe(project_id, contact_id, list_id)
    if changed and campaign_id:
        await deps.storage.campaigns.count_unsubscribed(project_id, campaign_id)
    if changed:
        await record_unsubscribed(deps, project_id, contact_id, campaign_id)
    return Unsubscribed(contact_id, changed)
