"""Versioned PostgreSQL schema. Each entry runs once, in order, in one transaction with its record in
schema_migrations; an advisory lock lets any number of processes start (and migrate) at once.

Never edit a migration that has shipped: append a new one.
"""

from __future__ import annotations

from psycopg import AsyncConnection

from adapters.storage.rows import limits

# Any fixed number: the key of the advisory lock that serialises migrations in this database.
_LOCK = 0x6175746F72656C

MIGRATIONS: list[str] = [
    # 1: the spine and the request policies
    """
    CREATE TABLE projects (
        id text PRIMARY KEY,
        name text NOT NULL UNIQUE,
        status text NOT NULL,
        status_reason text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL
    );
    CREATE TABLE api_keys (
        id text PRIMARY KEY,
        project_id text NOT NULL REFERENCES projects(id),
        name text NOT NULL,
        mode text NOT NULL,
        key_hash text NOT NULL UNIQUE,
        last4 text NOT NULL,
        scopes text[] NOT NULL,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
    );
    CREATE INDEX api_keys_project ON api_keys(project_id, created_at);
    CREATE TABLE emails (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        status text NOT NULL,
        test boolean NOT NULL DEFAULT false,
        payload jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        delivery text NOT NULL,
        due_at timestamptz NOT NULL,
        lease_until timestamptz,
        attempts integer NOT NULL DEFAULT 0
    );
    CREATE INDEX emails_project_seq ON emails(project_id, seq);
    CREATE INDEX emails_project_status_seq ON emails(project_id, status, seq);
    -- The outbox only ever scans rows still to deliver; done rows stay out of these indexes.
    CREATE INDEX emails_pending ON emails(due_at) WHERE delivery = 'pending';
    CREATE INDEX emails_leased ON emails(lease_until) WHERE delivery = 'leased';
    CREATE TABLE email_events (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        email_id text NOT NULL,
        type text NOT NULL,
        created_at timestamptz NOT NULL,
        data jsonb NOT NULL DEFAULT '{}'
    );
    CREATE INDEX email_events_email ON email_events(email_id, seq);
    CREATE INDEX email_events_recent ON email_events(type, created_at);
    CREATE TABLE templates (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        subject text NOT NULL,
        html text NOT NULL,
        text text,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    );
    CREATE INDEX templates_project ON templates(project_id, created_at);
    -- Rate-limit logs are not worth a WAL write each: UNLOGGED tables skip it, and a database
    -- crash empties them (every limit starts afresh), which is the only cost.
    CREATE UNLOGGED TABLE rate_hits (
        bucket text NOT NULL,
        at double precision NOT NULL
    );
    CREATE INDEX rate_hits_bucket ON rate_hits(bucket, at);
    CREATE UNLOGGED TABLE rate_counts (
        bucket text PRIMARY KEY,
        used integer NOT NULL
    );
    -- policies.rate_limit.admit on one bucket, atomic between processes: the bucket's count row
    -- is locked first, so hits on one bucket run one after another.
    CREATE FUNCTION autorelay_rate_hit(
        p_bucket text, p_now double precision, p_count integer, p_window double precision,
        OUT out_allowed boolean, OUT out_used integer, OUT out_oldest double precision
    ) AS $$
    DECLARE
        expired integer;
    BEGIN
        INSERT INTO rate_counts (bucket, used) VALUES (p_bucket, 0) ON CONFLICT (bucket) DO NOTHING;
        SELECT c.used INTO out_used FROM rate_counts c WHERE c.bucket = p_bucket FOR UPDATE;
        DELETE FROM rate_hits h WHERE h.bucket = p_bucket AND h.at <= p_now - p_window;
        GET DIAGNOSTICS expired = ROW_COUNT;
        out_used := out_used - expired;
        out_allowed := out_used < p_count;
        IF out_allowed THEN
            INSERT INTO rate_hits (bucket, at) VALUES (p_bucket, p_now);
            out_used := out_used + 1;
        END IF;
        UPDATE rate_counts c SET used = out_used WHERE c.bucket = p_bucket;
        SELECT min(h.at) INTO out_oldest FROM rate_hits h WHERE h.bucket = p_bucket;
    END
    $$ LANGUAGE plpgsql;
    -- EmailRepository.add in one round trip. The usage rows are every send's hot spot: they are
    -- locked last, so each is held for the rest of this function and the commit, never across a
    -- network round trip to a busy client. Over a limit: SQLSTATE AR001, DETAIL = the charge's
    -- 1-based index, and nothing of the send is stored.
    CREATE FUNCTION autorelay_add_email(
        p_id text, p_project text, p_status text, p_test boolean, p_payload jsonb,
        p_created timestamptz, p_due timestamptz,
        p_event_types text[], p_event_times timestamptz[], p_event_data jsonb[],
        p_counters text[], p_periods text[], p_limits integer[]
    ) RETURNS void AS $$
    DECLARE
        charged integer;
    BEGIN
        INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at)
        VALUES (p_id, p_project, p_status, p_test, p_payload, p_created, 'pending', p_due);
        INSERT INTO email_events (email_id, type, created_at, data)
        SELECT p_id, t, c, d FROM unnest(p_event_types, p_event_times, p_event_data) AS e(t, c, d);
        FOR i IN 1 .. coalesce(array_length(p_counters, 1), 0) LOOP
            charged := NULL;
            IF p_limits[i] > 0 THEN
                INSERT INTO usage AS u (project_id, counter, period, count)
                VALUES (p_project, p_counters[i], p_periods[i], 1)
                ON CONFLICT (project_id, counter, period) DO UPDATE SET count = u.count + 1
                WHERE u.count < p_limits[i]
                RETURNING u.count INTO charged;
            END IF;
            IF charged IS NULL THEN
                RAISE EXCEPTION 'quota reached' USING ERRCODE = 'AR001', DETAIL = i::text;
            END IF;
        END LOOP;
    END
    $$ LANGUAGE plpgsql;
    CREATE TABLE limit_overrides (
        project_id text NOT NULL,
        endpoint text NOT NULL,
        count integer NOT NULL,
        "window" double precision NOT NULL,
        PRIMARY KEY (project_id, endpoint)
    );
    CREATE TABLE idempotency (
        project_id text NOT NULL,
        key text NOT NULL,
        fingerprint text NOT NULL,
        claimed_at timestamptz NOT NULL,
        status integer,
        content_type text,
        body bytea,
        PRIMARY KEY (project_id, key)
    );
    CREATE INDEX idempotency_age ON idempotency(claimed_at);
    CREATE TABLE usage (
        project_id text NOT NULL,
        counter text NOT NULL,
        period text NOT NULL,
        count integer NOT NULL,
        PRIMARY KEY (project_id, counter, period)
    );
    CREATE TABLE domains (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        verified_at timestamptz,
        UNIQUE (project_id, name)
    );
    """,
    # 2: contacts, lists and one-time codes
    """
    CREATE TABLE contact_lists (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        double_opt_in boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL
    );
    CREATE INDEX contact_lists_project ON contact_lists(project_id, created_at);
    CREATE TABLE contacts (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        list_id text NOT NULL,
        email text NOT NULL,
        email_key text NOT NULL,
        search_key text NOT NULL,
        name text,
        company text,
        status text NOT NULL,
        created_at timestamptz NOT NULL,
        UNIQUE (list_id, email_key)
    );
    CREATE INDEX contacts_page ON contacts(project_id, list_id, seq);
    CREATE INDEX contacts_status_page ON contacts(project_id, list_id, status, seq);
    CREATE INDEX contacts_address ON contacts(project_id, email_key);
    CREATE TABLE otp_codes (
        project_id text NOT NULL,
        email_key text NOT NULL,
        purpose text NOT NULL,
        id text NOT NULL,
        code_hash text NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        wrong integer NOT NULL DEFAULT 0,
        used_at timestamptz,
        PRIMARY KEY (project_id, email_key, purpose)
    );
    """,
    # 3: the suppression list
    """
    CREATE TABLE suppressions (
        project_id text NOT NULL,
        email_key text NOT NULL,
        email text NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL DEFAULT '',
        created_at timestamptz NOT NULL,
        PRIMARY KEY (project_id, email_key)
    );
    """,
    # 4: DKIM for sending domains
    """
    ALTER TABLE domains ADD COLUMN dkim_selector text NOT NULL DEFAULT '';
    ALTER TABLE domains ADD COLUMN dkim_public_key text NOT NULL DEFAULT '';
    ALTER TABLE domains ADD COLUMN dkim_private_key text NOT NULL DEFAULT '';
    ALTER TABLE domains ADD COLUMN dkim_tokens text[] NOT NULL DEFAULT '{}';
    """,
    # 5: find an email by the id its mailer gave it (SES feedback names only that)
    """
    CREATE INDEX emails_provider_id ON emails ((payload->>'provider_message_id'));
    """,
    # 6: campaigns
    """
    CREATE TABLE campaigns (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        name text NOT NULL,
        subject text NOT NULL,
        from_email text NOT NULL,
        list_id text NOT NULL,
        content text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        status text NOT NULL,
        launched_at timestamptz,
        total integer NOT NULL DEFAULT 0,
        sent integer NOT NULL DEFAULT 0,
        failed integer NOT NULL DEFAULT 0
    );
    CREATE INDEX campaigns_page ON campaigns(project_id, seq);
    CREATE INDEX campaigns_status_page ON campaigns(project_id, status, seq);
    """,
    # 7: campaign mail in the outbox, once per (campaign, contact)
    """
    ALTER TABLE emails ADD COLUMN campaign_id text;
    ALTER TABLE emails ADD COLUMN contact_id text;
    CREATE UNIQUE INDEX emails_campaign_contact ON emails(campaign_id, contact_id) WHERE campaign_id IS NOT NULL;
    CREATE INDEX emails_campaign_status ON emails(campaign_id, status) WHERE campaign_id IS NOT NULL;
    """,
    # 8: contacts who unsubscribed through a campaign's link; outbox states 'held' (a paused
    # campaign's mail) and 'handover' (being handed to the next hop)
    """
    ALTER TABLE campaigns ADD COLUMN unsubscribed integer NOT NULL DEFAULT 0;
    CREATE INDEX emails_campaign_delivery ON emails(campaign_id, delivery) WHERE campaign_id IS NOT NULL;
    CREATE INDEX emails_handover ON emails(lease_until) WHERE delivery = 'handover';
    """,
    # 9: webhook endpoints and their delivery outbox; engagement tracking
    """
    CREATE TABLE webhooks (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        url text NOT NULL,
        events jsonb NOT NULL,
        secret text NOT NULL,
        active boolean NOT NULL,
        created_at timestamptz NOT NULL
    );
    CREATE INDEX webhooks_project ON webhooks(project_id, active);
    CREATE TABLE webhook_deliveries (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        webhook_id text NOT NULL,
        project_id text NOT NULL,
        event_id text NOT NULL,
        event_type text NOT NULL,
        body text NOT NULL,
        created_at timestamptz NOT NULL,
        state text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        failures integer NOT NULL DEFAULT 0,
        replay_count integer NOT NULL DEFAULT 0,
        error text,
        last_attempt_at timestamptz,
        resolved_at timestamptz,
        due_at timestamptz,
        lease_until timestamptz,
        UNIQUE (event_id, webhook_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, due_at);
    CREATE INDEX webhook_deliveries_failures ON webhook_deliveries(webhook_id, seq) WHERE error IS NOT NULL;
    ALTER TABLE projects ADD COLUMN track_opens boolean NOT NULL DEFAULT true;
    ALTER TABLE projects ADD COLUMN track_clicks boolean NOT NULL DEFAULT true;
    """,
    # 10: assets (the bytes live in the blob store)
    """
    CREATE TABLE assets (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        name text NOT NULL,
        content_type text NOT NULL,
        category text NOT NULL,
        size integer NOT NULL,
        key text NOT NULL,
        created_at timestamptz NOT NULL
    );
    CREATE INDEX assets_page ON assets(project_id, seq);
    CREATE INDEX assets_category_page ON assets(project_id, category, seq);
    """,
    # 11: what happens to an email left uncertain by a worker that stopped mid hand-over
    """
    ALTER TABLE projects ADD COLUMN resend_uncertain_transactional boolean NOT NULL DEFAULT true;
    ALTER TABLE projects ADD COLUMN resend_uncertain_campaigns boolean NOT NULL DEFAULT false;
    """,
    # 12: dashboard users, their project memberships and sessions; when a key was last used
    """
    CREATE TABLE users (
        id text PRIMARY KEY,
        email text NOT NULL,
        email_key text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        password_hash text,
        link_version integer NOT NULL DEFAULT 0
    );
    CREATE TABLE memberships (
        user_id text NOT NULL,
        project_id text NOT NULL,
        role text NOT NULL,
        PRIMARY KEY (user_id, project_id)
    );
    CREATE INDEX memberships_project ON memberships(project_id);
    CREATE TABLE sessions (
        id text PRIMARY KEY,
        user_id text NOT NULL,
        created_at timestamptz NOT NULL,
        seen_at timestamptz NOT NULL,
        project_id text NOT NULL DEFAULT ''
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
    """,
    # 13: the dashboard's email log filtered by recipient and by date
    """
    CREATE INDEX emails_project_to ON emails (project_id, lower(payload->'to'->>0), seq);
    CREATE INDEX emails_project_created ON emails (project_id, created_at);
    CREATE INDEX emails_project_test ON emails (project_id, test, seq);
    """,
    # 14: every save of a template is kept as a version (the dashboard's studio restores them)
    """
    CREATE TABLE template_versions (
        template_id text NOT NULL,
        number integer NOT NULL,
        name text NOT NULL,
        subject text NOT NULL,
        html text NOT NULL,
        text text,
        saved_at timestamptz NOT NULL,
        PRIMARY KEY (template_id, number)
    );
    INSERT INTO template_versions (template_id, number, name, subject, html, text, saved_at)
        SELECT id, 1, name, subject, html, text, updated_at FROM templates;
    """,
    # 15: each attempt of a webhook delivery, for the dashboard's deliveries log
    """
    CREATE TABLE webhook_attempts (
        delivery_id text NOT NULL,
        webhook_id text NOT NULL,
        number integer NOT NULL,
        at timestamptz NOT NULL,
        ok boolean NOT NULL,
        error text,
        PRIMARY KEY (delivery_id, number)
    );
    CREATE INDEX webhook_attempts_webhook ON webhook_attempts(webhook_id);
    CREATE INDEX webhook_deliveries_recent ON webhook_deliveries(webhook_id, seq);
    """,
    # 16: contact imports run as background jobs, a chunk of rows at a time
    """
    CREATE TABLE contact_imports (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        list_id text NOT NULL,
        filename text NOT NULL,
        header text NOT NULL,
        total integer NOT NULL,
        created_at timestamptz NOT NULL,
        status text NOT NULL,
        mapping text NOT NULL,
        chunks_done integer NOT NULL DEFAULT 0,
        imported integer NOT NULL DEFAULT 0,
        skipped integer NOT NULL DEFAULT 0,
        invalid_count integer NOT NULL DEFAULT 0,
        error text,
        finished_at timestamptz,
        chunks integer NOT NULL,
        lease_until timestamptz,
        token integer NOT NULL DEFAULT 0
    );
    CREATE INDEX contact_imports_project ON contact_imports(project_id, created_at);
    CREATE INDEX contact_imports_runnable ON contact_imports(created_at) WHERE status IN ('queued', 'running');
    CREATE TABLE import_chunks (
        import_id text NOT NULL,
        number integer NOT NULL,
        rows text NOT NULL,
        PRIMARY KEY (import_id, number)
    );
    CREATE TABLE import_invalid (
        import_id text NOT NULL,
        line integer NOT NULL,
        reason text NOT NULL,
        cell text NOT NULL,
        PRIMARY KEY (import_id, line)
    );
    """,
    # 17: campaigns scheduled to start later, and paused by a person (not by the account's status)
    """
    ALTER TABLE campaigns ADD COLUMN starts_at timestamptz;
    ALTER TABLE campaigns ADD COLUMN paused_by_user boolean NOT NULL DEFAULT false;
    """,
    # 18: the dashboard's contact search counts and pages over an index instead of the table
    """
    CREATE INDEX contacts_search ON contacts(project_id, list_id, search_key, seq);
    """,
    # 19: pacing per receiving domain group, and warm-up schedules of sending domains
    """
    CREATE TABLE pace_rules (
        name text PRIMARY KEY,
        per_minute integer NOT NULL,
        domains text NOT NULL
    );
    CREATE TABLE warmups (
        domain text PRIMARY KEY,
        started_on date NOT NULL,
        daily text NOT NULL
    );
    """,
    # 20: the quota charge in one function, for a single send and for a campaign's batch alike
    """
    CREATE FUNCTION autorelay_charge(
        p_project text, p_counters text[], p_periods text[], p_limits integer[], p_amount integer
    ) RETURNS void AS $$
    DECLARE
        charged integer;
    BEGIN
        FOR i IN 1 .. coalesce(array_length(p_counters, 1), 0) LOOP
            charged := NULL;
            IF p_amount <= p_limits[i] THEN
                INSERT INTO usage AS u (project_id, counter, period, count)
                VALUES (p_project, p_counters[i], p_periods[i], p_amount)
                ON CONFLICT (project_id, counter, period) DO UPDATE SET count = u.count + p_amount
                WHERE u.count + p_amount <= p_limits[i]
                RETURNING u.count INTO charged;
            END IF;
            IF charged IS NULL THEN
                RAISE EXCEPTION 'quota reached' USING ERRCODE = 'AR001', DETAIL = i::text;
            END IF;
        END LOOP;
    END
    $$ LANGUAGE plpgsql;
    CREATE OR REPLACE FUNCTION autorelay_add_email(
        p_id text, p_project text, p_status text, p_test boolean, p_payload jsonb,
        p_created timestamptz, p_due timestamptz,
        p_event_types text[], p_event_times timestamptz[], p_event_data jsonb[],
        p_counters text[], p_periods text[], p_limits integer[]
    ) RETURNS void AS $$
    BEGIN
        INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at)
        VALUES (p_id, p_project, p_status, p_test, p_payload, p_created, 'pending', p_due);
        INSERT INTO email_events (email_id, type, created_at, data)
        SELECT p_id, t, c, d FROM unnest(p_event_types, p_event_times, p_event_data) AS e(t, c, d);
        -- The usage rows are every send's hot spot: charged last, so each is locked for the rest
        -- of this function and the commit, never across a round trip to a busy client.
        PERFORM autorelay_charge(p_project, p_counters, p_periods, p_limits, 1);
    END
    $$ LANGUAGE plpgsql;
    """,
    # 21: rate-limit overrides keyed by the core's operation names instead of HTTP routes
    limits.OPERATION_NAMES,
    # 22: what an email is (bodies, attachments: written once) apart from its record (rewritten at
    # every step of delivery), so a step rewrites a small row instead of the bodies. The content
    # is JSON kept as text: nothing queries inside it, and text costs no parsing on insert.
    # autorelay_add_email learns to store it in 23 (migrations run in one transaction).
    """
    CREATE TABLE email_content (
        seq bigint PRIMARY KEY,  -- the email's seq
        content text NOT NULL
    );
    INSERT INTO email_content (seq, content)
    SELECT seq, jsonb_build_object(
        'html', payload -> 'html',
        'text', payload -> 'text',
        'attachments', coalesce(payload -> 'attachments', '[]'::jsonb),
        'raw', payload -> 'raw'
    )::text FROM emails;
    UPDATE emails SET payload = payload - 'html' - 'text' - 'attachments' - 'raw';
    """,
    # 23: the first recipient and the provider id as columns (as on SQLite, where indexes on
    # expressions of the payload were rewritten by every write of the payload); the hand-over and
    # campaign-delivery indexes go: leases have one partial index, hold and release go through
    # emails_campaign_status.
    """
    ALTER TABLE emails ADD COLUMN first_to text;
    ALTER TABLE emails ADD COLUMN provider_id text;
    UPDATE emails SET first_to = lower(payload -> 'to' ->> 0), provider_id = payload ->> 'provider_message_id';
    DROP INDEX emails_project_to;
    CREATE INDEX emails_project_to ON emails(project_id, first_to, seq);
    DROP INDEX emails_provider_id;
    CREATE INDEX emails_provider_id ON emails(provider_id) WHERE provider_id IS NOT NULL;
    DROP INDEX emails_campaign_delivery;
    DROP INDEX emails_handover;
    DROP INDEX emails_leased;
    CREATE INDEX emails_leases ON emails(lease_until) WHERE lease_until IS NOT NULL;
    DROP FUNCTION autorelay_add_email(
        text, text, text, boolean, jsonb, timestamptz, timestamptz, text[], timestamptz[], jsonb[],
        text[], text[], integer[]
    );
    CREATE FUNCTION autorelay_add_email(
        p_id text, p_project text, p_status text, p_test boolean, p_payload jsonb, p_content text,
        p_created timestamptz, p_due timestamptz,
        p_event_types text[], p_event_times timestamptz[], p_event_data jsonb[],
        p_counters text[], p_periods text[], p_limits integer[]
    ) RETURNS void AS $$
    DECLARE
        added bigint;
    BEGIN
        INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at, first_to)
        VALUES (p_id, p_project, p_status, p_test, p_payload, p_created, 'pending', p_due,
            lower(p_payload -> 'to' ->> 0))
        RETURNING seq INTO added;
        INSERT INTO email_content (seq, content) VALUES (added, p_content);
        INSERT INTO email_events (email_id, type, created_at, data)
        SELECT p_id, t, c, d FROM unnest(p_event_types, p_event_times, p_event_data) AS e(t, c, d);
        -- The usage rows are every send's hot spot: charged last, so each is locked for the rest
        -- of this function and the commit, never across a round trip to a busy client.
        PERFORM autorelay_charge(p_project, p_counters, p_periods, p_limits, 1);
    END
    $$ LANGUAGE plpgsql;
    """,
    # 24: the record keeps only what delivery steps and events rewrite (status, counters, last
    # error, provider id); the rest of what an email is joins its content (as on SQLite). The first
    # recipient comes from the caller now, lowercased as on SQLite, since `to` left the record.
    """
    UPDATE email_content c SET content = (c.content::jsonb || (m.payload - 'status' - 'opens' - 'clicks'
        - 'last_error' - 'provider_message_id'))::text
    FROM emails m WHERE m.seq = c.seq;
    UPDATE emails SET payload = (SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(payload)
        WHERE key IN ('status', 'opens', 'clicks', 'last_error', 'provider_message_id'));
    DROP FUNCTION autorelay_add_email(
        text, text, text, boolean, jsonb, text, timestamptz, timestamptz, text[], timestamptz[], jsonb[],
        text[], text[], integer[]
    );
    CREATE FUNCTION autorelay_add_email(
        p_id text, p_project text, p_status text, p_test boolean, p_payload jsonb, p_content text,
        p_first_to text, p_created timestamptz, p_due timestamptz,
        p_event_types text[], p_event_times timestamptz[], p_event_data jsonb[],
        p_counters text[], p_periods text[], p_limits integer[]
    ) RETURNS void AS $$
    DECLARE
        added bigint;
    BEGIN
        INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at, first_to)
        VALUES (p_id, p_project, p_status, p_test, p_payload, p_created, 'pending', p_due, p_first_to)
        RETURNING seq INTO added;
        INSERT INTO email_content (seq, content) VALUES (added, p_content);
        INSERT INTO email_events (email_id, type, created_at, data)
        SELECT p_id, t, c, d FROM unnest(p_event_types, p_event_times, p_event_data) AS e(t, c, d);
        -- The usage rows are every send's hot spot: charged last, so each is locked for the rest
        -- of this function and the commit, never across a round trip to a busy client.
        PERFORM autorelay_charge(p_project, p_counters, p_periods, p_limits, 1);
    END
    $$ LANGUAGE plpgsql;
    """,
    # 25: endpoints made by a test key hear only of test-mode mail; an endpoint's payload format.
    """
    ALTER TABLE webhooks ADD COLUMN test boolean NOT NULL DEFAULT false;
    ALTER TABLE webhooks ADD COLUMN format text NOT NULL DEFAULT 'autorelay';
    """,
    # 26: a lease names its holder (a process, unique per start), and holders beat: the leases of
    # one that fell silent end at once instead of when they run out. Beats are not worth a WAL
    # record: a database that crashed starts with no holders, and their rows wait for their lease.
    """
    ALTER TABLE emails ADD COLUMN holder text NOT NULL DEFAULT '';
    CREATE UNLOGGED TABLE holders (holder text PRIMARY KEY, beat_at timestamptz NOT NULL);
    """,
    # 27: the email log's search: the words of each email's subject, addresses and tags
    # (domain/search.py makes them for new mail) as a tsvector beside its content, under a GIN
    # index. Mail from before is indexed from its content, split at what is not a letter or digit
    # (accents are kept there: new mail has them folded).
    """
    ALTER TABLE email_content ADD COLUMN words tsvector;
    UPDATE email_content SET words = to_tsvector('simple', regexp_replace(lower(concat_ws(' ',
        content::jsonb ->> 'subject', content::jsonb ->> 'sender', content::jsonb ->> 'to',
        content::jsonb ->> 'cc', content::jsonb ->> 'bcc', content::jsonb ->> 'tags')), '[^[:alnum:]]+', ' ', 'g'));
    CREATE INDEX email_content_words ON email_content USING gin (words);
    DROP FUNCTION autorelay_add_email(
        text, text, text, boolean, jsonb, text, text, timestamptz, timestamptz, text[], timestamptz[], jsonb[],
        text[], text[], integer[]
    );
    CREATE FUNCTION autorelay_add_email(
        p_id text, p_project text, p_status text, p_test boolean, p_payload jsonb, p_content text, p_words text,
        p_first_to text, p_created timestamptz, p_due timestamptz,
        p_event_types text[], p_event_times timestamptz[], p_event_data jsonb[],
        p_counters text[], p_periods text[], p_limits integer[]
    ) RETURNS void AS $$
    DECLARE
        added bigint;
    BEGIN
        INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at, first_to)
        VALUES (p_id, p_project, p_status, p_test, p_payload, p_created, 'pending', p_due, p_first_to)
        RETURNING seq INTO added;
        INSERT INTO email_content (seq, content, words) VALUES (added, p_content, to_tsvector('simple', p_words));
        INSERT INTO email_events (email_id, type, created_at, data)
        SELECT p_id, t, c, d FROM unnest(p_event_types, p_event_times, p_event_data) AS e(t, c, d);
        -- The usage rows are every send's hot spot: charged last, so each is locked for the rest
        -- of this function and the commit, never across a round trip to a busy client.
        PERFORM autorelay_charge(p_project, p_counters, p_periods, p_limits, 1);
    END
    $$ LANGUAGE plpgsql;
    """,
    # 28: an operator may let one project's webhooks reach local addresses (Project.webhooks_local)
    """
    ALTER TABLE projects ADD COLUMN webhooks_local boolean NOT NULL DEFAULT false;
    """,
    # 29: contact pages that cost the same at any size (as on SQLite). How many contacts each list
    # has, per status, is kept by statement triggers (an import's batch moves each count once), and
    # `search` finds its substring through a pg_trgm index where the extension can be installed
    # (without it, search still works, reading the list). pg_trgm lives in public: test schemas
    # come and go, and an extension is installed once per database.
    """
    CREATE TABLE contact_counts (
        list_id text NOT NULL,
        status text NOT NULL,
        n integer NOT NULL,
        PRIMARY KEY (list_id, status)
    );
    INSERT INTO contact_counts (list_id, status, n) SELECT list_id, status, count(*) FROM contacts GROUP BY 1, 2;
    CREATE FUNCTION autorelay_count_contacts() RETURNS trigger AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO contact_counts (list_id, status, n)
            SELECT list_id, status, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (list_id, status) DO UPDATE SET n = contact_counts.n + excluded.n;
        ELSIF TG_OP = 'DELETE' THEN
            UPDATE contact_counts c SET n = c.n - o.k
            FROM (SELECT list_id, status, count(*) AS k FROM old_rows GROUP BY 1, 2) o
            WHERE c.list_id = o.list_id AND c.status = o.status;
        ELSE  -- only the rows whose list or status changed move a count
            UPDATE contact_counts c SET n = c.n - o.k
            FROM (SELECT o.list_id, o.status, count(*) AS k FROM old_rows o JOIN new_rows w ON w.seq = o.seq
                  WHERE (o.list_id, o.status) IS DISTINCT FROM (w.list_id, w.status) GROUP BY 1, 2) o
            WHERE c.list_id = o.list_id AND c.status = o.status;
            INSERT INTO contact_counts (list_id, status, n)
            SELECT w.list_id, w.status, count(*) FROM old_rows o JOIN new_rows w ON w.seq = o.seq
            WHERE (o.list_id, o.status) IS DISTINCT FROM (w.list_id, w.status) GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (list_id, status) DO UPDATE SET n = contact_counts.n + excluded.n;
        END IF;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER contacts_counted AFTER INSERT ON contacts REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION autorelay_count_contacts();
    CREATE TRIGGER contacts_uncounted AFTER DELETE ON contacts REFERENCING OLD TABLE AS old_rows
        FOR EACH STATEMENT EXECUTE FUNCTION autorelay_count_contacts();
    CREATE TRIGGER contacts_recounted AFTER UPDATE ON contacts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION autorelay_count_contacts();
    CREATE FUNCTION autorelay_uncount_list() RETURNS trigger AS $$
    BEGIN
        DELETE FROM contact_counts WHERE list_id = OLD.id;
        RETURN NULL;
    END
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER contact_lists_uncounted AFTER DELETE ON contact_lists
        FOR EACH ROW EXECUTE FUNCTION autorelay_uncount_list();
    DO $$
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'pg_trgm cannot be installed (%): contact search reads the list', SQLERRM;
    END
    $$;
    DO $$
    DECLARE
        home text;
    BEGIN
        SELECT extnamespace::regnamespace::text INTO home FROM pg_extension WHERE extname = 'pg_trgm';
        IF home IS NOT NULL THEN
            EXECUTE format('CREATE INDEX contacts_words ON contacts USING gin (search_key %s.gin_trgm_ops)', home);
        END IF;
    END
    $$;
    DROP INDEX contacts_search;
    """,
    # 30: group commit (adapters/batching.py). A batch of sends in one statement: every email, its content and
    # its events, then each project's charge for all of its emails at once (over a limit: AR001 as
    # in autorelay_add_email, and the whole batch is undone; its sends then run one by one). And a
    # batch of rate-limit hits, taken in order, each answered as autorelay_rate_hit answers it.
    # And a campaign's held emails under an index of their own: the reconciler's round releases
    # every running campaign (a crash between two writes must not strand held mail), which read
    # all of a campaign's rows, 90 ms a round at 100,000 recipients, to find none held.
    """
    CREATE INDEX emails_held ON emails(campaign_id, due_at) WHERE delivery = 'held';
    CREATE FUNCTION autorelay_add_emails(
        p_ids text[], p_projects text[], p_statuses text[], p_tests boolean[], p_payloads jsonb[],
        p_contents text[], p_words text[], p_first_tos text[], p_created timestamptz[], p_due timestamptz[],
        p_event_emails text[], p_event_types text[], p_event_times timestamptz[], p_event_data jsonb[],
        p_charge_projects text[], p_charge_counters text[], p_charge_periods text[], p_charge_limits integer[],
        p_charge_amounts integer[]
    ) RETURNS void AS $$
    BEGIN
        WITH added AS (
            INSERT INTO emails (id, project_id, status, test, payload, created_at, delivery, due_at, first_to)
            SELECT i, p, s, t, pl, c, 'pending', d, f
            FROM unnest(p_ids, p_projects, p_statuses, p_tests, p_payloads, p_created, p_due, p_first_tos)
                AS n(i, p, s, t, pl, c, d, f)
            RETURNING id, seq
        )
        INSERT INTO email_content (seq, content, words)
        SELECT added.seq, n.c, to_tsvector('simple', n.w)
        FROM added JOIN unnest(p_ids, p_contents, p_words) AS n(i, c, w) ON n.i = added.id;
        INSERT INTO email_events (email_id, type, created_at, data)
        SELECT * FROM unnest(p_event_emails, p_event_types, p_event_times, p_event_data);
        -- Charged last, as in autorelay_add_email: the usage rows are locked until the commit only.
        FOR i IN 1 .. coalesce(array_length(p_charge_projects, 1), 0) LOOP
            PERFORM autorelay_charge(p_charge_projects[i], ARRAY[p_charge_counters[i]],
                ARRAY[p_charge_periods[i]], ARRAY[p_charge_limits[i]], p_charge_amounts[i]);
        END LOOP;
    END
    $$ LANGUAGE plpgsql;
    CREATE FUNCTION autorelay_rate_hits(
        p_buckets text[], p_nows double precision[], p_counts integer[], p_windows double precision[]
    ) RETURNS TABLE (allowed boolean, used integer, oldest double precision) AS $$
    BEGIN
        FOR i IN 1 .. coalesce(array_length(p_buckets, 1), 0) LOOP
            RETURN QUERY SELECT * FROM autorelay_rate_hit(p_buckets[i], p_nows[i], p_counts[i], p_windows[i]);
        END LOOP;
    END
    $$ LANGUAGE plpgsql;
    """,  # 31: contact properties (domain/properties.py): what a project declares, and each contact's
    # values as one JSON object (only the values set; the defaults stand in for the rest on read).
    """
    CREATE TABLE contact_properties (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        key text NOT NULL,
        type text NOT NULL,
        default_value jsonb,
        created_at timestamptz NOT NULL,
        UNIQUE (project_id, key)
    );
    ALTER TABLE contacts ADD COLUMN properties jsonb NOT NULL DEFAULT '{}';
    """,
    # 32: what contacts did (domain/activity.py), by person (project, lower-cased address): the
    # events a project records and its campaign mail's engagement. Read by person (a contact's
    # timeline), by name over a time range (segments: did X at least N times in D days) and by
    # campaign. Saved segments (domain/segments.py); a campaign may target one instead of a list.
    """
    CREATE TABLE contact_events (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        email_key text NOT NULL,
        name text NOT NULL,
        occurred_at timestamptz NOT NULL,
        properties jsonb NOT NULL DEFAULT '{}',
        campaign_id text,
        email_id text
    );
    CREATE INDEX contact_events_person ON contact_events(project_id, email_key, occurred_at);
    CREATE INDEX contact_events_name ON contact_events(project_id, name, occurred_at, email_key);
    CREATE INDEX contact_events_campaign ON contact_events(campaign_id, name, email_key)
        WHERE campaign_id IS NOT NULL;
    CREATE TABLE segments (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        name text NOT NULL,
        filter jsonb NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (project_id, name)
    );
    ALTER TABLE campaigns ADD COLUMN segment_id text;
    """,
    # 33: topics (domain/topics.py) and each person's choices, by project and lower-cased address
    # like their events; a campaign may name the topic it belongs to.
    """
    CREATE TABLE topics (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        name text NOT NULL,
        description text NOT NULL DEFAULT '',
        default_subscription text NOT NULL,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        UNIQUE (project_id, name)
    );
    CREATE TABLE contact_topics (
        project_id text NOT NULL,
        email_key text NOT NULL,
        topic_id text NOT NULL,
        subscribed boolean NOT NULL,
        updated_at timestamptz NOT NULL,
        PRIMARY KEY (project_id, email_key, topic_id)
    );
    CREATE INDEX contact_topics_topic ON contact_topics(topic_id, email_key);
    ALTER TABLE campaigns ADD COLUMN topic_id text;
    """,
    # 34: A/B tests (domain/ab_tests.py): a campaign's test as JSON, and the contacts its winner
    # goes to, kept at launch until the winner is queued. Each email's variant rides in its record.
    """
    ALTER TABLE campaigns ADD COLUMN ab_test text;
    CREATE TABLE campaign_rest (
        seq bigserial PRIMARY KEY,
        campaign_id text NOT NULL,
        contact_id text NOT NULL,
        UNIQUE (campaign_id, contact_id)
    );
    """,
    # 35: journeys (domain/journeys.py): each version's definition, the runs of contacts through
    # them (claimed under leases, like the outbox) and the steps each run passed, at most once
    # (the unique key).
    """
    CREATE TABLE journeys (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL,
        definition text NOT NULL,
        status text NOT NULL,
        version integer NOT NULL,
        test boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL,
        enabled_at timestamptz,
        trigger_key text
    );
    CREATE INDEX journeys_project ON journeys(project_id, created_at);
    CREATE INDEX journeys_trigger ON journeys(project_id, trigger_key) WHERE status = 'active';
    CREATE TABLE journey_versions (
        journey_id text NOT NULL,
        version integer NOT NULL,
        definition text NOT NULL,
        created_at timestamptz NOT NULL,
        PRIMARY KEY (journey_id, version)
    );
    CREATE TABLE journey_runs (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        journey_id text NOT NULL,
        version integer NOT NULL,
        contact_id text NOT NULL,
        email_key text NOT NULL,
        entry_key text NOT NULL,
        entered_at timestamptz NOT NULL,
        step_id text,
        due_at timestamptz NOT NULL,
        state text NOT NULL,
        goal text,
        step_since timestamptz,
        waiting_event text,
        signal text,
        ended_at timestamptz,
        exit_reason text,
        attempt integer NOT NULL DEFAULT 0,
        lease_until timestamptz,
        UNIQUE (journey_id, email_key, entry_key)
    );
    CREATE INDEX journey_runs_due ON journey_runs(due_at) WHERE state = 'active';
    CREATE INDEX journey_runs_person ON journey_runs(project_id, email_key);
    CREATE INDEX journey_runs_entered ON journey_runs(journey_id, email_key, entered_at);
    CREATE TABLE journey_steps (
        seq bigserial PRIMARY KEY,
        run_id text NOT NULL,
        step_id text NOT NULL,
        journey_id text NOT NULL,
        version integer NOT NULL,
        at timestamptz NOT NULL,
        outcome text NOT NULL,
        detail text,
        email_id text,
        UNIQUE (run_id, step_id)
    );
    CREATE INDEX journey_steps_journey ON journey_steps(journey_id, version, step_id);
    """,
    # 36: inbound mail (domain/inbound.py): the names a project receives for (one project each)
    # and the messages received, a JSON payload beside what pages filter on.
    """
    CREATE TABLE receiving_domains (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        name text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL
    );
    CREATE INDEX receiving_domains_project ON receiving_domains(project_id);
    CREATE TABLE inbound_messages (
        seq bigserial PRIMARY KEY,
        id text NOT NULL UNIQUE,
        project_id text NOT NULL,
        received_at timestamptz NOT NULL,
        senders text NOT NULL,
        recipients text NOT NULL,
        subject text NOT NULL,
        payload jsonb NOT NULL
    );
    CREATE INDEX inbound_messages_project ON inbound_messages(project_id, seq);
    """,
    # 37: inbound routes (domain/inbound_routes.py) and DMARC aggregate reports (domain/dmarc.py),
    # a report once per project and reporter's report id.
    """
    CREATE TABLE inbound_routes (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        created_at timestamptz NOT NULL,
        payload jsonb NOT NULL
    );
    CREATE INDEX inbound_routes_project ON inbound_routes(project_id, created_at);
    CREATE TABLE dmarc_reports (
        id text PRIMARY KEY,
        project_id text NOT NULL,
        domain text NOT NULL,
        org_name text NOT NULL,
        report_id text NOT NULL,
        begins timestamptz NOT NULL,
        payload jsonb NOT NULL,
        UNIQUE (project_id, org_name, report_id)
    );
    CREATE INDEX dmarc_reports_domain ON dmarc_reports(project_id, domain, begins);
    CREATE INDEX domains_name ON domains(name);
    CREATE INDEX inbound_messages_received ON inbound_messages(received_at);
    """,
]


async def migrate(conn: AsyncConnection) -> int:
    """Bring the database (the connection's search_path schema) to the newest version; returns the
    version reached."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations"
            " (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
        row = await cursor.fetchone()
        current = row[0] if row else 0
        for version, script in enumerate(MIGRATIONS, start=1):
            if version > current:
                await conn.execute(script.encode())  # no parameters: several statements may run
                await conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
    return len(MIGRATIONS)
