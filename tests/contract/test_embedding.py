"""The facade for applications that embed the core (composition.AutoRelay), over every storage:
memory, SQLite and, when AUTORELAY_TEST_POSTGRES_URL is set, PostgreSQL. What an embedder sees:
mail accepted with no key, delivered by the background work `open` starts, the API's rules."""

from __future__ import annotations

import asyncio

import pytest

from autorelay_core.domain.emails import EmailStatus, EventType
from autorelay_core.domain.keys import KeyMode
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.send_email import SendCommand
from composition import AutoRelay, Settings
from tests.backends import POSTGRES_URL, drop_postgres_schema, new_postgres_schema
from tests.support import RecordingMailer

BACKENDS = ["memory", "sqlite"] + (["postgres"] if POSTGRES_URL else [])
SANDBOX = "App <hello@autorelay.net>"


@pytest.fixture(params=BACKENDS)
def settings(request, tmp_path):
    schema, shared = None, {}
    if request.param == "memory":
        url = "memory://"
    elif request.param == "sqlite":
        url = ""  # the default: SQLite in the data folder
    else:
        schema, url = new_postgres_schema()
        shared = {"secret_key": "s" * 64}  # every process on a shared database needs the same one
    yield Settings.defaults(data_dir=tmp_path / "data", database_url=url, heartbeat_seconds=0.2, **shared)
    if schema:
        drop_postgres_schema(schema)


async def test_an_application_sends_with_no_key_and_the_mail_leaves(settings):
    async with await AutoRelay.open(settings, project="shop") as relay:
        email = await relay.send(to="ann@example.com", from_=SANDBOX, subject="Your order", html="<p>Shipped</p>")
        assert email.status is EmailStatus.QUEUED and email.project_id == relay.caller.project_id
        assert (await relay.wait(email.id)).status is EmailStatus.SENT
        _, events = await relay.get(email.id)
        assert [e.type for e in events] == [EventType.QUEUED, EventType.SENT]
    written = (settings.mail_dir / f"{email.id}.eml").read_text()
    assert "Subject: Your order" in written and "To: ann@example.com" in written


async def test_the_apis_rules_hold_for_an_embedded_caller(settings):
    async with await AutoRelay.open(settings) as relay:
        with pytest.raises(Invalid, match="not a verified domain") as refused:
            await relay.send(to="ann@example.com", from_="me@unverified.example", subject="Hi", html="<p>Hi</p>")
        assert refused.value.field == "from"
        with pytest.raises(Invalid, match="subject"):
            await relay.send(to="ann@example.com", from_=SANDBOX, html="<p>Hi</p>")
        with pytest.raises(NotFound):
            await relay.send(to="ann@example.com", from_=SANDBOX, template_id="tpl_missing")
        with pytest.raises(NotFound):
            await relay.get("em_of_someone_else")


async def test_own_mailer_templates_and_a_batch_beyond_the_apis_rate_limit(settings):
    mailer = RecordingMailer()
    async with await AutoRelay.open(settings, mailer=mailer) as relay:
        await relay.domains.trust("shop.example")
        template = await relay.templates.create("receipt", "Receipt {{ number }}", "<p>Total {{ total }}</p>")
        # The API allows 100 sends a minute per key; the embedding application sets its own pace.
        commands = [
            SendCommand(
                to=f"c{n}@example.com",
                from_="shop@shop.example",
                template_id=template.id,
                data={"number": n, "total": "9.50"},
            )
            for n in range(100)
        ]
        first = await relay.batch(commands)
        second = await relay.batch(
            [*commands[:20], SendCommand(to="not an address", from_="shop@shop.example", subject="x", html="x")]
        )
        assert [row.status for row in first.rows] == ["sent"] * 100
        assert [row.status for row in second.rows] == ["sent"] * 20 + ["failed"]
        for row in first.rows + second.rows[:20]:
            assert (await relay.wait(row.id, within=60)).status is EmailStatus.SENT
    assert len(mailer.sent) == 120
    assert sorted(e.subject for e in mailer.sent)[:2] == ["Receipt 0", "Receipt 0"]
    assert "Total 9.50" in (mailer.sent[0].html or "")


async def test_test_mode_never_reaches_the_applications_mailer(settings):
    mailer = RecordingMailer()
    async with await AutoRelay.open(settings, mailer=mailer, mode=KeyMode.TEST) as relay:
        email = await relay.send(to="ann@example.com", from_="any@where.example", subject="Hi", html="<p>Hi</p>")
        assert (await relay.wait(email.id)).status is EmailStatus.SENT
        assert email.test
    assert mailer.sent == []
    assert (settings.mail_dir / f"{email.id}.eml").is_file()


async def test_a_campaign_to_a_list(settings):
    mailer = RecordingMailer()
    async with await AutoRelay.open(settings, mailer=mailer) as relay:
        await relay.domains.trust("news.example")
        members = await relay.contacts.create_list("newsletter")
        for name in ("ann", "bob"):
            await relay.contacts.add(members.id, f"{name}@example.com", name=name.title())
        campaign = await relay.campaigns.create(
            "June", "News for {{ name }}", "news@news.example", members.id, "<p>Hi {{ name }}</p>"
        )
        launched = await relay.campaigns.launch(campaign.id)
        assert launched.status.value in {"sending", "sent"}
        for _ in range(200):
            if len(mailer.sent) == 2:
                break
            await asyncio.sleep(0.05)
    assert sorted(e.subject for e in mailer.sent) == ["News for Ann", "News for Bob"]
    assert all("unsubscribe" in (e.html or "") for e in mailer.sent)


async def test_reopening_finds_the_same_project_and_its_data(settings):
    if settings.database_url == "memory://":
        pytest.skip("an in-memory database ends with its process")
    async with await AutoRelay.open(settings, project="crm") as relay:
        template = await relay.templates.create("hello", "Hello", "<p>Hello</p>")
        project_id = relay.caller.project_id
    async with await AutoRelay.open(settings, project="crm") as again:
        assert again.caller.project_id == project_id
        assert (await again.templates.get(template.id)).name == "hello"
    async with await AutoRelay.open(settings, project=project_id) as by_id:  # by its id: not a new project
        assert by_id.caller.project_id == project_id


async def test_a_locked_account_changes_nothing_through_the_facade_either(settings):
    from autorelay_core.domain.projects import AccountStatus
    from autorelay_core.errors import AccountLocked
    from autorelay_core.usecases.manage_reputation import operator_action

    async with await AutoRelay.open(settings, project="spammy") as relay:
        sent = await relay.send(to="ann@example.com", from_=SANDBOX, subject="Before", html="<p>x</p>")
        await operator_action(relay.deps, "spammy", AccountStatus.SUSPENDED, "complaints")
        with pytest.raises(AccountLocked, match="complaints"):
            await relay.send(to="ann@example.com", from_=SANDBOX, subject="After", html="<p>x</p>")
        with pytest.raises(AccountLocked):
            await relay.templates.create("t", "s", "<p>x</p>")
        assert (await relay.get(sent.id))[0].subject == "Before"  # reading is still allowed
