"""Rate-limit overrides: the migration both SQL schemas run when the core began naming operations.

Written once for both (the statement is the same in SQLite and PostgreSQL), and never changed: it is
schema history. Routes are spelled as they were routed when the migration was written."""

from __future__ import annotations

OPERATION_NAMES = """
UPDATE limit_overrides SET endpoint = CASE endpoint
    WHEN 'POST /api/v1/emails' THEN 'emails.send'
    WHEN 'POST /api/v1/emails/batch' THEN 'emails.send_batch'
    WHEN 'GET /api/v1/contacts' THEN 'contacts.list'
    WHEN 'POST /api/v1/contacts' THEN 'contacts.create'
    WHEN 'GET /api/v1/contacts/{contact_id}' THEN 'contacts.get'
    WHEN 'PUT /api/v1/contacts/{contact_id}' THEN 'contacts.update'
    WHEN 'DELETE /api/v1/contacts/{contact_id}' THEN 'contacts.delete'
    WHEN 'POST /api/v1/contacts/import' THEN 'contacts.import'
    WHEN 'GET /api/v1/lists' THEN 'lists.list'
    WHEN 'POST /api/v1/lists' THEN 'lists.create'
    WHEN 'GET /api/v1/campaigns' THEN 'campaigns.list'
    WHEN 'POST /api/v1/campaigns' THEN 'campaigns.create'
    WHEN 'GET /api/v1/campaigns/{campaign_id}' THEN 'campaigns.get'
    WHEN 'PUT /api/v1/campaigns/{campaign_id}' THEN 'campaigns.update'
    WHEN 'DELETE /api/v1/campaigns/{campaign_id}' THEN 'campaigns.delete'
    WHEN 'POST /api/v1/campaigns/{campaign_id}/launch' THEN 'campaigns.launch'
    WHEN 'GET /api/v1/templates' THEN 'templates.list'
    WHEN 'GET /api/v1/assets' THEN 'assets.list'
    WHEN 'POST /api/v1/assets' THEN 'assets.upload'
    WHEN 'POST /api/v1/domains' THEN 'domains.create'
    WHEN 'POST /compat/resend/api-keys' THEN 'keys.create'
    WHEN 'POST /api/v1/webhooks' THEN 'webhooks.create'
    WHEN 'GET /api/v1/stats' THEN 'stats.read'
    WHEN 'POST /api/v1/otp/send' THEN 'otp.send'
    WHEN 'POST /api/v1/otp/verify' THEN 'otp.verify'
    WHEN 'POST /api/v1/unsubscribe' THEN 'contacts.unsubscribe'
    WHEN 'POST /api/v1/domains/{domain_id}/verify' THEN 'domains.verify'
    ELSE endpoint END;
"""
