"""Versioned SQLite schema. Each entry runs once, in order; PRAGMA user_version records progress.

Never edit a migration that has shipped: append a new one.
"""

from __future__ import annotations

import sqlite3

from adapters.storage.rows import limits

MIGRATIONS: list[str] = [
    # 1: the spine
    """
    CREATE TABLE projects (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        status TEXT NOT NULL,
        status_reason TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL
    );
    CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL REFERENCES projects(id),
        name TEXT NOT NULL,
        mode TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        last4 TEXT NOT NULL,
        scopes TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    );
    CREATE INDEX api_keys_project ON api_keys(project_id);
    CREATE TABLE emails (
        -- Plain rowid (no AUTOINCREMENT): emails are never deleted, so seq only grows.
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        status TEXT NOT NULL,
        test INTEGER NOT NULL DEFAULT 0,
        payload TEXT NOT NULL,
        created_at TEXT NOT NULL,
        delivery TEXT NOT NULL,
        due_at REAL NOT NULL,
        lease_until REAL,
        attempts INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX emails_project_seq ON emails(project_id, seq);
    CREATE INDEX emails_project_status_seq ON emails(project_id, status, seq);
    CREATE INDEX emails_outbox ON emails(delivery, due_at);
    CREATE TABLE email_events (
        seq INTEGER PRIMARY KEY,
        email_id TEXT NOT NULL,
        type TEXT NOT NULL,
        created_at TEXT NOT NULL,
        data TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX email_events_email ON email_events(email_id, seq);
    CREATE INDEX email_events_recent ON email_events(type, created_at);
    CREATE TABLE templates (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        subject TEXT NOT NULL,
        html TEXT NOT NULL,
        text TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX templates_project ON templates(project_id, created_at);
    """,
    # 2: request policies
    """
    CREATE TABLE rate_hits (
        bucket TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE INDEX rate_hits_bucket ON rate_hits(bucket, at);
    -- How many rows rate_hits holds per bucket, so a check never counts them one by one.
    CREATE TABLE rate_counts (
        bucket TEXT PRIMARY KEY,
        used INTEGER NOT NULL
    );
    CREATE TABLE limit_overrides (
        project_id TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        count INTEGER NOT NULL,
        window REAL NOT NULL,
        PRIMARY KEY (project_id, endpoint)
    );
    CREATE TABLE idempotency (
        project_id TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        claimed_at REAL NOT NULL,
        status INTEGER,
        content_type TEXT,
        body BLOB,
        PRIMARY KEY (project_id, key)
    );
    CREATE INDEX idempotency_age ON idempotency(claimed_at);
    CREATE TABLE usage (
        project_id TEXT NOT NULL,
        counter TEXT NOT NULL,
        period TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (project_id, counter, period)
    );
    CREATE TABLE domains (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        verified_at TEXT,
        UNIQUE (project_id, name)
    );
    """,
    # 3: contacts, lists and one-time codes
    """
    CREATE TABLE contact_lists (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        double_opt_in INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX contact_lists_project ON contact_lists(project_id, created_at);
    CREATE TABLE contacts (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        list_id TEXT NOT NULL,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL,
        -- lower-cased email and name, what `search` matches (lower-cased in Python: all of Unicode)
        search_key TEXT NOT NULL,
        name TEXT,
        company TEXT,
        status TEXT NOT NULL,
        created_at TEXT NOT NULL,
        UNIQUE (list_id, email_key)
    );
    CREATE INDEX contacts_page ON contacts(project_id, list_id, seq);
    CREATE INDEX contacts_status_page ON contacts(project_id, list_id, status, seq);
    CREATE INDEX contacts_address ON contacts(project_id, email_key);
    CREATE TABLE otp_codes (
        project_id TEXT NOT NULL,
        email_key TEXT NOT NULL,
        purpose TEXT NOT NULL,
        id TEXT NOT NULL,
        code_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        wrong INTEGER NOT NULL DEFAULT 0,
        used_at TEXT,
        PRIMARY KEY (project_id, email_key, purpose)
    );
    """,
    # 4: the suppression list
    """
    CREATE TABLE suppressions (
        project_id TEXT NOT NULL,
        email_key TEXT NOT NULL,
        email TEXT NOT NULL,
        reason TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        PRIMARY KEY (project_id, email_key)
    );
    """,
    # 5: DKIM for sending domains
    """
    ALTER TABLE domains ADD COLUMN dkim_selector TEXT NOT NULL DEFAULT '';
    ALTER TABLE domains ADD COLUMN dkim_public_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE domains ADD COLUMN dkim_private_key TEXT NOT NULL DEFAULT '';
    ALTER TABLE domains ADD COLUMN dkim_tokens TEXT NOT NULL DEFAULT '[]';
    """,
    # 6: find an email by the id its mailer gave it (SES feedback names only that)
    """
    CREATE INDEX emails_provider_id ON emails(json_extract(payload, '$.provider_message_id'));
    """,
    # 7: campaigns
    """
    CREATE TABLE campaigns (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        subject TEXT NOT NULL,
        from_email TEXT NOT NULL,
        list_id TEXT NOT NULL,
        content TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        status TEXT NOT NULL,
        launched_at TEXT,
        total INTEGER NOT NULL DEFAULT 0,
        sent INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX campaigns_page ON campaigns(project_id, seq);
    CREATE INDEX campaigns_status_page ON campaigns(project_id, status, seq);
    """,
    # 8: campaign mail in the outbox, once per (campaign, contact)
    """
    ALTER TABLE emails ADD COLUMN campaign_id TEXT;
    ALTER TABLE emails ADD COLUMN contact_id TEXT;
    CREATE UNIQUE INDEX emails_campaign_contact ON emails(campaign_id, contact_id) WHERE campaign_id IS NOT NULL;
    CREATE INDEX emails_campaign_status ON emails(campaign_id, status) WHERE campaign_id IS NOT NULL;
    """,
    # 9: contacts who unsubscribed through a campaign's link; outbox states 'held' (a paused
    # campaign's mail) and 'handover' (being handed to the next hop)
    """
    ALTER TABLE campaigns ADD COLUMN unsubscribed INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX emails_campaign_delivery ON emails(campaign_id, delivery) WHERE campaign_id IS NOT NULL;
    CREATE INDEX emails_handover ON emails(lease_until) WHERE delivery = 'handover';
    """,
    # 10: webhook endpoints and their delivery outbox (times as epoch seconds); engagement tracking
    """
    CREATE TABLE webhooks (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        url TEXT NOT NULL,
        events TEXT NOT NULL,
        secret TEXT NOT NULL,
        active INTEGER NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX webhooks_project ON webhooks(project_id, active);
    CREATE TABLE webhook_deliveries (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        webhook_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        event_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        body TEXT NOT NULL,
        created_at REAL NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        replay_count INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        last_attempt_at REAL,
        resolved_at REAL,
        due_at REAL,
        lease_until REAL,
        UNIQUE (event_id, webhook_id)
    );
    CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, due_at);
    CREATE INDEX webhook_deliveries_failures ON webhook_deliveries(webhook_id, seq) WHERE error IS NOT NULL;
    ALTER TABLE projects ADD COLUMN track_opens INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE projects ADD COLUMN track_clicks INTEGER NOT NULL DEFAULT 1;
    """,
    # 11: assets (the bytes live in the blob store)
    """
    CREATE TABLE assets (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        content_type TEXT NOT NULL,
        category TEXT NOT NULL,
        size INTEGER NOT NULL,
        key TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX assets_page ON assets(project_id, seq);
    CREATE INDEX assets_category_page ON assets(project_id, category, seq);
    """,
    # 12: what happens to an email left uncertain by a worker that stopped mid hand-over
    """
    ALTER TABLE projects ADD COLUMN resend_uncertain_transactional INTEGER NOT NULL DEFAULT 1;
    ALTER TABLE projects ADD COLUMN resend_uncertain_campaigns INTEGER NOT NULL DEFAULT 0;
    """,
    # 13: dashboard users, their project memberships and sessions; when a key was last used
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        email_key TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        password_hash TEXT,
        link_version INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE memberships (
        user_id TEXT NOT NULL,
        project_id TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (user_id, project_id)
    );
    CREATE INDEX memberships_project ON memberships(project_id);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        project_id TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX sessions_user ON sessions(user_id);
    ALTER TABLE api_keys ADD COLUMN last_used_at TEXT;
    """,
    # 14: the dashboard's email log filtered by recipient and by date
    """
    CREATE INDEX emails_project_to ON emails(project_id, lower(json_extract(payload, '$.to[0]')), seq);
    CREATE INDEX emails_project_created ON emails(project_id, created_at);
    CREATE INDEX emails_project_test ON emails(project_id, test, seq);
    """,
    # 15: every save of a template is kept as a version (the dashboard's studio restores them)
    """
    CREATE TABLE template_versions (
        template_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        name TEXT NOT NULL,
        subject TEXT NOT NULL,
        html TEXT NOT NULL,
        text TEXT,
        saved_at TEXT NOT NULL,
        PRIMARY KEY (template_id, number)
    );
    INSERT INTO template_versions (template_id, number, name, subject, html, text, saved_at)
        SELECT id, 1, name, subject, html, text, updated_at FROM templates;
    """,
    # 16: each attempt of a webhook delivery, for the dashboard's deliveries log
    """
    CREATE TABLE webhook_attempts (
        delivery_id TEXT NOT NULL,
        webhook_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        at REAL NOT NULL,
        ok INTEGER NOT NULL,
        error TEXT,
        PRIMARY KEY (delivery_id, number)
    );
    CREATE INDEX webhook_attempts_webhook ON webhook_attempts(webhook_id);
    CREATE INDEX webhook_deliveries_recent ON webhook_deliveries(webhook_id, seq);
    """,
    # 17: contact imports run as background jobs, a chunk of rows at a time
    """
    CREATE TABLE contact_imports (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        list_id TEXT NOT NULL,
        filename TEXT NOT NULL,
        header TEXT NOT NULL,
        total INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        mapping TEXT NOT NULL,
        chunks_done INTEGER NOT NULL DEFAULT 0,
        imported INTEGER NOT NULL DEFAULT 0,
        skipped INTEGER NOT NULL DEFAULT 0,
        invalid_count INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        finished_at TEXT,
        chunks INTEGER NOT NULL,
        lease_until REAL,
        token INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX contact_imports_project ON contact_imports(project_id, created_at);
    CREATE INDEX contact_imports_runnable ON contact_imports(created_at) WHERE status IN ('queued', 'running');
    CREATE TABLE import_chunks (
        import_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        rows TEXT NOT NULL,
        PRIMARY KEY (import_id, number)
    );
    CREATE TABLE import_invalid (
        import_id TEXT NOT NULL,
        line INTEGER NOT NULL,
        reason TEXT NOT NULL,
        cell TEXT NOT NULL,
        PRIMARY KEY (import_id, line)
    );
    """,
    # 18: campaigns scheduled to start later, and paused by a person (not by the account's status)
    """
    ALTER TABLE campaigns ADD COLUMN starts_at TEXT;
    ALTER TABLE campaigns ADD COLUMN paused_by_user INTEGER NOT NULL DEFAULT 0;
    """,
    # 19: the dashboard's contact search counts and pages over an index instead of the table
    """
    CREATE INDEX contacts_search ON contacts(project_id, list_id, search_key, seq);
    """,
    # 20: pacing per receiving domain group, and warm-up schedules of sending domains
    """
    CREATE TABLE pace_rules (
        name TEXT PRIMARY KEY,
        per_minute INTEGER NOT NULL,
        domains TEXT NOT NULL
    );
    CREATE TABLE warmups (
        domain TEXT PRIMARY KEY,
        started_on TEXT NOT NULL,
        daily TEXT NOT NULL
    );
    """,
    # 21: rate-limit overrides keyed by the core's operation names instead of HTTP routes
    limits.OPERATION_NAMES,
    # 22: what an email is (bodies, attachments: written once) apart from its record (rewritten at
    # every step of delivery), so a step rewrites a small row instead of the bodies
    """
    CREATE TABLE email_content (
        seq INTEGER PRIMARY KEY,  -- the email's seq
        content TEXT NOT NULL
    );
    INSERT INTO email_content (seq, content)
    SELECT seq, json_object(
        'html', json(payload -> '$.html'),
        'text', json(payload -> '$.text'),
        'attachments', json(coalesce(payload -> '$.attachments', '[]')),
        'raw', json(payload -> '$.raw')
    ) FROM emails;
    UPDATE emails SET payload = json_remove(payload, '$.html', '$.text', '$.attachments', '$.raw');
    """,
    # 23: indexes a delivery step does not have to rewrite. Each step changed `delivery` or the
    # payload, and every index naming them was rewritten with it (the outbox's, the campaign's, the
    # hand-over's, and the first recipient's and provider id's, which are expressions of the
    # payload): about seven pages, seven WAL frames, per message. Now the first recipient and the
    # provider id are columns, a hand-over rewrites no index, and the due and leased rows have
    # partial indexes of their own. A campaign's hold and release go through emails_campaign_status.
    """
    ALTER TABLE emails ADD COLUMN first_to TEXT;
    ALTER TABLE emails ADD COLUMN provider_id TEXT;
    UPDATE emails SET first_to = lower(json_extract(payload, '$.to[0]')),
        provider_id = json_extract(payload, '$.provider_message_id');
    DROP INDEX emails_project_to;
    CREATE INDEX emails_project_to ON emails(project_id, first_to, seq);
    DROP INDEX emails_provider_id;
    CREATE INDEX emails_provider_id ON emails(provider_id) WHERE provider_id IS NOT NULL;
    DROP INDEX emails_outbox;
    DROP INDEX emails_campaign_delivery;
    DROP INDEX emails_handover;
    CREATE INDEX emails_due ON emails(due_at) WHERE delivery = 'pending';
    CREATE INDEX emails_leases ON emails(lease_until) WHERE lease_until IS NOT NULL;
    """,
    # 24: the record keeps only what delivery steps and events rewrite (status, counters, last
    # error, provider id); the rest of what an email is (addresses, subject, headers, tags, ...)
    # joins its content, so a record is a hundred bytes and dozens share each page a step rewrites.
    # json_set keeps every value as it was (false, null, nested tags); a key a row from before the
    # field existed lacks gets the field's default.
    """
    UPDATE email_content SET content = (
        SELECT json_set(email_content.content,
            '$.id', json(payload -> '$.id'),
            '$.project_id', json(payload -> '$.project_id'),
            '$.message_id', json(payload -> '$.message_id'),
            '$.sender', json(payload -> '$.sender'),
            '$.to', json(payload -> '$.to'),
            '$.subject', json(payload -> '$.subject'),
            '$.created_at', json(payload -> '$.created_at'),
            '$.cc', coalesce(json(payload -> '$.cc'), json('[]')),
            '$.bcc', coalesce(json(payload -> '$.bcc'), json('[]')),
            '$.reply_to', coalesce(json(payload -> '$.reply_to'), json('[]')),
            '$.headers', coalesce(json(payload -> '$.headers'), json('{}')),
            '$.tags', coalesce(json(payload -> '$.tags'), json('{}')),
            '$.template_id', json(payload -> '$.template_id'),
            '$.test', coalesce(json(payload -> '$.test'), json('false')),
            '$.scheduled_at', json(payload -> '$.scheduled_at'),
            '$.to_was_list', coalesce(json(payload -> '$.to_was_list'), json('false')),
            '$.sealed', coalesce(json(payload -> '$.sealed'), json('false')),
            '$.campaign_id', json(payload -> '$.campaign_id'),
            '$.contact_id', json(payload -> '$.contact_id'),
            '$.return_path', json(payload -> '$.return_path')
        ) FROM emails WHERE emails.seq = email_content.seq
    );
    UPDATE emails SET payload = json_object(
        'status', json(payload -> '$.status'),
        'opens', json(payload -> '$.opens'),
        'clicks', json(payload -> '$.clicks'),
        'last_error', json(payload -> '$.last_error'),
        'provider_message_id', json(payload -> '$.provider_message_id')
    );
    """,
    # 25: endpoints made by a test key hear only of test-mode mail; an endpoint's payload format.
    """
    ALTER TABLE webhooks ADD COLUMN test INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE webhooks ADD COLUMN format TEXT NOT NULL DEFAULT 'autorelay';
    """,
    # 26: a lease names its holder (a process, unique per start), and holders beat: the leases of
    # one that fell silent end at once instead of when they run out.
    """
    ALTER TABLE emails ADD COLUMN holder TEXT NOT NULL DEFAULT '';
    CREATE TABLE holders (holder TEXT PRIMARY KEY, beat_at REAL NOT NULL);
    """,
    # 27: the email log's search. An FTS5 index under each email's seq holds the words of its
    # subject, addresses and tags (domain/search.py makes them for new mail); without its own copy
    # of the text (content=''): emails are never deleted, and the log shows rows from `emails`.
    # Mail from before is indexed from its content, the tokenizer splitting and folding as
    # search.words does.
    """
    CREATE VIRTUAL TABLE email_words USING fts5(words, content='', tokenize='unicode61 remove_diacritics 2');
    INSERT INTO email_words (rowid, words)
    SELECT seq, coalesce(content ->> '$.subject', '') || ' ' || coalesce(content ->> '$.sender', '') || ' '
        || coalesce(content ->> '$.to', '') || ' ' || coalesce(content ->> '$.cc', '') || ' '
        || coalesce(content ->> '$.bcc', '') || ' ' || coalesce(content ->> '$.tags', '')
    FROM email_content;
    """,
    # 28: an operator may let one project's webhooks reach local addresses (Project.webhooks_local)
    """
    ALTER TABLE projects ADD COLUMN webhooks_local INTEGER NOT NULL DEFAULT 0;
    """,
    # 29: contact pages that cost the same at any size. How many contacts each list has, per status,
    # is kept by triggers (every write path counts, imports included), where pages counted the
    # list's index on every view; and `search` finds its substring through a trigram index (FTS5,
    # over the contacts' own search_key) instead of reading every key of the list.
    """
    CREATE TABLE contact_counts (
        list_id TEXT NOT NULL,
        status TEXT NOT NULL,
        n INTEGER NOT NULL,
        PRIMARY KEY (list_id, status)
    ) WITHOUT ROWID;
    INSERT INTO contact_counts (list_id, status, n)
    SELECT list_id, status, count(*) FROM contacts GROUP BY list_id, status;
    CREATE TRIGGER contacts_counted AFTER INSERT ON contacts BEGIN
        INSERT INTO contact_counts (list_id, status, n) VALUES (NEW.list_id, NEW.status, 1)
        ON CONFLICT (list_id, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER contacts_uncounted AFTER DELETE ON contacts BEGIN
        UPDATE contact_counts SET n = n - 1 WHERE list_id = OLD.list_id AND status = OLD.status;
    END;
    CREATE TRIGGER contacts_recounted AFTER UPDATE OF list_id, status ON contacts
    WHEN OLD.list_id IS NOT NEW.list_id OR OLD.status IS NOT NEW.status BEGIN
        UPDATE contact_counts SET n = n - 1 WHERE list_id = OLD.list_id AND status = OLD.status;
        INSERT INTO contact_counts (list_id, status, n) VALUES (NEW.list_id, NEW.status, 1)
        ON CONFLICT (list_id, status) DO UPDATE SET n = n + 1;
    END;
    CREATE TRIGGER contact_lists_uncounted AFTER DELETE ON contact_lists BEGIN
        DELETE FROM contact_counts WHERE list_id = OLD.id;
    END;
    CREATE VIRTUAL TABLE contacts_words USING fts5(
        search_key, content='contacts', content_rowid='seq', tokenize='trigram'
    );
    INSERT INTO contacts_words (contacts_words) VALUES ('rebuild');
    CREATE TRIGGER contacts_words_in AFTER INSERT ON contacts BEGIN
        INSERT INTO contacts_words (rowid, search_key) VALUES (NEW.seq, NEW.search_key);
    END;
    CREATE TRIGGER contacts_words_out AFTER DELETE ON contacts BEGIN
        INSERT INTO contacts_words (contacts_words, rowid, search_key) VALUES ('delete', OLD.seq, OLD.search_key);
    END;
    CREATE TRIGGER contacts_words_changed AFTER UPDATE OF search_key ON contacts
    WHEN OLD.search_key IS NOT NEW.search_key BEGIN
        INSERT INTO contacts_words (contacts_words, rowid, search_key) VALUES ('delete', OLD.seq, OLD.search_key);
        INSERT INTO contacts_words (rowid, search_key) VALUES (NEW.seq, NEW.search_key);
    END;
    DROP INDEX contacts_search;
    """,
    # 30: a campaign's held emails under an index of their own (as on PostgreSQL): the reconciler's
    # round releases every running campaign, which read all of a campaign's rows to find none held.
    """
    CREATE INDEX emails_held ON emails(campaign_id, due_at) WHERE delivery = 'held';
    """,
    # 31: contact properties (domain/properties.py): what a project declares, and each contact's
    # values as one JSON object (only the values set; the defaults stand in for the rest on read).
    """
    CREATE TABLE contact_properties (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        key TEXT NOT NULL,
        type TEXT NOT NULL,
        default_value TEXT,
        created_at TEXT NOT NULL,
        UNIQUE (project_id, key)
    );
    ALTER TABLE contacts ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
    """,
    # 32: what contacts did (domain/activity.py), by person (project, lower-cased address): the
    # events a project records and its campaign mail's engagement. Read by person (a contact's
    # timeline), by name over a time range (segments: did X at least N times in D days) and by
    # campaign. Saved segments (domain/segments.py); a campaign may target one instead of a list.
    """
    CREATE TABLE contact_events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        email_key TEXT NOT NULL,
        name TEXT NOT NULL,
        occurred_at TEXT NOT NULL,
        properties TEXT NOT NULL DEFAULT '{}',
        campaign_id TEXT,
        email_id TEXT
    );
    CREATE INDEX contact_events_person ON contact_events(project_id, email_key, occurred_at);
    CREATE INDEX contact_events_name ON contact_events(project_id, name, occurred_at, email_key);
    CREATE INDEX contact_events_campaign ON contact_events(campaign_id, name, email_key)
        WHERE campaign_id IS NOT NULL;
    CREATE TABLE segments (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        filter TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (project_id, name)
    );
    ALTER TABLE campaigns ADD COLUMN segment_id TEXT;
    """,
    # 33: topics (domain/topics.py) and each person's choices, by project and lower-cased address
    # like their events; a campaign may name the topic it belongs to.
    """
    CREATE TABLE topics (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        default_subscription TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (project_id, name)
    );
    CREATE TABLE contact_topics (
        project_id TEXT NOT NULL,
        email_key TEXT NOT NULL,
        topic_id TEXT NOT NULL,
        subscribed INTEGER NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (project_id, email_key, topic_id)
    );
    CREATE INDEX contact_topics_topic ON contact_topics(topic_id, email_key);
    ALTER TABLE campaigns ADD COLUMN topic_id TEXT;
    """,
    # 34: A/B tests (domain/ab_tests.py): a campaign's test as JSON, and the contacts its winner
    # goes to, kept at launch until the winner is queued. Each email's variant rides in its record.
    """
    ALTER TABLE campaigns ADD COLUMN ab_test TEXT;
    CREATE TABLE campaign_rest (
        seq INTEGER PRIMARY KEY,
        campaign_id TEXT NOT NULL,
        contact_id TEXT NOT NULL,
        UNIQUE (campaign_id, contact_id)
    );
    """,
    # 35: journeys (domain/journeys.py): each version's definition, the runs of contacts through
    # them (claimed under leases, like the outbox: times are epoch seconds) and the steps each run
    # passed, at most once (the unique key).
    """
    CREATE TABLE journeys (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL,
        definition TEXT NOT NULL,
        status TEXT NOT NULL,
        version INTEGER NOT NULL,
        test INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        enabled_at REAL,
        trigger_key TEXT
    );
    CREATE INDEX journeys_project ON journeys(project_id, created_at);
    CREATE INDEX journeys_trigger ON journeys(project_id, trigger_key) WHERE status = 'active';
    CREATE TABLE journey_versions (
        journey_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        definition TEXT NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (journey_id, version)
    );
    CREATE TABLE journey_runs (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        journey_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        contact_id TEXT NOT NULL,
        email_key TEXT NOT NULL,
        entry_key TEXT NOT NULL,
        entered_at REAL NOT NULL,
        step_id TEXT,
        due_at REAL NOT NULL,
        state TEXT NOT NULL,
        goal TEXT,
        step_since REAL,
        waiting_event TEXT,
        signal TEXT,
        ended_at REAL,
        exit_reason TEXT,
        attempt INTEGER NOT NULL DEFAULT 0,
        lease_until REAL,
        UNIQUE (journey_id, email_key, entry_key)
    );
    CREATE INDEX journey_runs_due ON journey_runs(due_at) WHERE state = 'active';
    CREATE INDEX journey_runs_person ON journey_runs(project_id, email_key);
    CREATE INDEX journey_runs_entered ON journey_runs(journey_id, email_key, entered_at);
    CREATE TABLE journey_steps (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL,
        step_id TEXT NOT NULL,
        journey_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        at REAL NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT,
        email_id TEXT,
        UNIQUE (run_id, step_id)
    );
    CREATE INDEX journey_steps_journey ON journey_steps(journey_id, version, step_id);
    """,
    # 36: inbound mail (domain/inbound.py): the names a project receives for (one project each)
    # and the messages received, a JSON payload beside what pages filter on (senders, recipients
    # and subject; ' a b ' lists of lower-case addresses).
    """
    CREATE TABLE receiving_domains (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        name TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL
    );
    CREATE INDEX receiving_domains_project ON receiving_domains(project_id);
    CREATE TABLE inbound_messages (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        project_id TEXT NOT NULL,
        received_at REAL NOT NULL,
        senders TEXT NOT NULL,
        recipients TEXT NOT NULL,
        subject TEXT NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX inbound_messages_project ON inbound_messages(project_id, seq);
    """,
    # 37: inbound routes (domain/inbound_routes.py) and DMARC aggregate reports (domain/dmarc.py),
    # a report once per project and reporter's report id.
    """
    CREATE TABLE inbound_routes (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        payload TEXT NOT NULL
    );
    CREATE INDEX inbound_routes_project ON inbound_routes(project_id, created_at);
    CREATE TABLE dmarc_reports (
        id TEXT PRIMARY KEY,
        project_id TEXT NOT NULL,
        domain TEXT NOT NULL,
        org_name TEXT NOT NULL,
        report_id TEXT NOT NULL,
        begins REAL NOT NULL,
        payload TEXT NOT NULL,
        UNIQUE (project_id, org_name, report_id)
    );
    CREATE INDEX dmarc_reports_domain ON dmarc_reports(project_id, domain, begins);
    CREATE INDEX domains_name ON domains(name);
    CREATE INDEX inbound_messages_received ON inbound_messages(received_at);
    """,
]


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the database to the newest version; returns the version reached. Safe to run from
    several processes at once: each step runs under an exclusive write lock and rechecks."""
    for target, script in enumerate(MIGRATIONS, start=1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            (current,) = conn.execute("PRAGMA user_version").fetchone()
            if current < target:
                for statement in statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)


def statements(script: str) -> list[str]:
    """The script's statements, split where SQLite's own parser says one is complete (a ";" inside
    a string literal or a trigger body does not end one). executescript() would commit our
    transaction, so migrations run statement by statement instead."""
    found, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            found.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"an incomplete statement at the end of a migration: {pending.strip()[:80]!r}")
    return found
