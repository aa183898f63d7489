"""Which core operation each route is, for its rate limits: the core names operations, not routes."""

from __future__ import annotations

# "METHOD /path" as routed -> the operation whose limits apply (autorelay_core.policies.rate_limit).
# The Resend-compatible routes count as the /api/v1 route they stand for (resend.py).
ROUTE_OPERATIONS: dict[str, str] = {
    "POST /api/v1/emails": "emails.send",
    "POST /api/v1/emails/batch": "emails.send_batch",
    "GET /api/v1/contacts": "contacts.list",
    "POST /api/v1/contacts": "contacts.create",
    "GET /api/v1/contacts/{contact_id}": "contacts.get",
    "PUT /api/v1/contacts/{contact_id}": "contacts.update",
    "DELETE /api/v1/contacts/{contact_id}": "contacts.delete",
    "POST /api/v1/contacts/import": "contacts.import",
    "POST /api/v1/events": "events.record",
    "POST /api/v1/segments": "segments.create",
    "POST /api/v1/segments/preview": "segments.count",
    "GET /api/v1/segments/{segment_id}/contacts": "segments.count",
    "GET /api/v1/contacts/{contact_id}/events": "contacts.get",
    "POST /api/v1/topics": "topics.create",
    "GET /api/v1/contacts/{contact_id}/topics": "contacts.get",
    "PATCH /api/v1/contacts/{contact_id}/topics": "contacts.update",
    "POST /api/v1/journeys": "journeys.create",
    "POST /api/v1/journeys/{journey_id}/enter": "journeys.enter",
    "GET /api/v1/contacts/{contact_id}/journeys": "contacts.get",
    "GET /api/v1/lists": "lists.list",
    "POST /api/v1/lists": "lists.create",
    "GET /api/v1/campaigns": "campaigns.list",
    "POST /api/v1/campaigns": "campaigns.create",
    "GET /api/v1/campaigns/{campaign_id}": "campaigns.get",
    "PUT /api/v1/campaigns/{campaign_id}": "campaigns.update",
    "DELETE /api/v1/campaigns/{campaign_id}": "campaigns.delete",
    "POST /api/v1/campaigns/{campaign_id}/launch": "campaigns.launch",
    "POST /api/v1/campaigns/{campaign_id}/winner": "campaigns.update",
    "GET /api/v1/templates": "templates.list",
    "GET /api/v1/assets": "assets.list",
    "POST /api/v1/assets": "assets.upload",
    "POST /api/v1/domains": "domains.create",
    "POST /compat/resend/api-keys": "keys.create",
    "POST /api/v1/webhooks": "webhooks.create",
    "GET /api/v1/stats": "stats.read",
    "POST /api/v1/otp/send": "otp.send",
    "POST /api/v1/otp/verify": "otp.verify",
    "POST /api/v1/unsubscribe": "contacts.unsubscribe",
    "POST /api/v1/domains/{domain_id}/verify": "domains.verify",
}


def operation_of(endpoint: str) -> str:
    """The operation a routed endpoint performs ("" for one without rate limits)."""
    return ROUTE_OPERATIONS.get(endpoint, "")
