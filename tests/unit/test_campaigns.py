"""Campaign drafts over the memory adapters: required fields, checks, the draft lock, stats."""

from __future__ import annotations

import pytest

from autorelay_core.domain.campaigns import CampaignStatus
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_campaigns as uc
from autorelay_core.usecases.manage_contacts import create_list
from autorelay_core.usecases.read_stats import read_stats
from tests.unit.test_send_email import live_key


async def draft(deps, key, **fields):
    target = await create_list(deps, key, "Subscribers")
    values = {"name": "Spring", "subject": "Hi {{ name }}", "from_email": "news@unverified.test"}
    values |= {"list_id": target.id, "content": "<p>Hello {{ name }}</p><a href='{{ unsubscribe_url }}'>x</a>"}
    return await uc.create_campaign(deps, key, uc.CampaignInput(**(values | fields)))


async def test_a_draft_is_checked_and_may_name_an_unverified_domain(deps):
    key = await live_key(deps)
    campaign = await draft(deps, key)
    assert campaign.status is CampaignStatus.DRAFT and campaign.id.startswith("cmp_")
    with pytest.raises(Invalid, match="a sender is required") as refused:
        await uc.create_campaign(deps, key, uc.CampaignInput("n", "s", None, campaign.list_id, "<p>c</p>"))
    assert refused.value.field == "from_email"
    with pytest.raises(Invalid, match="the sender must be an address, or a name and an address"):
        await draft(deps, key, from_email="not-an-address")
    named = await draft(deps, key, from_email="  Acme News <news@acme.test> ")
    assert named.from_email == "Acme News <news@acme.test>"
    with pytest.raises(Invalid, match="content"):
        await draft(deps, key, content="<p>{{ broken </p>")
    with pytest.raises(NotFound):
        await draft(deps, key, list_id="lst_missing")


async def test_a_launched_campaign_is_locked_and_only_drafts_can_be_deleted(deps):
    key = await live_key(deps)
    campaign = await draft(deps, key)
    edited = await uc.update_campaign(deps, key, campaign.id, uc.CampaignInput(subject="New"))
    assert edited.subject == "New" and edited.content == campaign.content
    edited.status = CampaignStatus.SENDING  # what launching does
    await deps.storage.campaigns.update(edited)
    with pytest.raises(Conflict, match="locked"):
        await uc.update_campaign(deps, key, campaign.id, uc.CampaignInput(subject="Again"))
    with pytest.raises(Conflict, match=r"^Only draft campaigns can be deleted$"):
        await uc.delete_campaign(deps, key, campaign.id)
    other = await draft(deps, key)
    await uc.delete_campaign(deps, key, other.id)
    with pytest.raises(NotFound):
        await uc.get_campaign(deps, key, other.id)
    page = await uc.list_campaigns(deps, key, "sending", OffsetRequest(1, 20))
    assert [c.id for c in page.items] == [campaign.id]
    with pytest.raises(Invalid, match="status must be one of"):
        await uc.list_campaigns(deps, key, "done", OffsetRequest(1, 20))
    stats = await read_stats(deps, key)
    assert (stats.campaigns.total, stats.campaigns.sending, stats.campaigns.completed) == (1, 1, 0)


async def test_launch_sends_each_subscribed_contact_one_rendered_message_at_the_pace(deps, mailer, clock):
    from datetime import timedelta

    from attrs import evolve

    from autorelay_core.domain.contacts import ContactStatus
    from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, get_contact

    deps = evolve(deps, config=evolve(deps.config, campaign_rate=2.0))
    key = await live_key(deps)
    campaign = await draft(deps, key, from_email="news@acme.test")
    people = {}
    for name in ("Ann", "Bob", "Cy", "Dee", "Eve", "Flo"):
        people[name] = await create_contact(
            deps, key, ContactInput(f"{name.lower()}@example.com", campaign.list_id, name)
        )
    left_out = {"Cy": ContactStatus.UNSUBSCRIBED, "Dee": ContactStatus.BOUNCED, "Eve": ContactStatus.COMPLAINED}
    for name, status in (*left_out.items(), ("Flo", ContactStatus.PENDING)):
        contact = await get_contact(deps, key, people[name].id)
        contact.status = status
        await deps.storage.contacts.update(contact)

    launched = await uc.launch_campaign(deps, key, campaign.id)
    assert launched.status is CampaignStatus.SENDING and launched.total == 2
    with pytest.raises(Conflict, match="already launched"):
        await uc.launch_campaign(deps, key, campaign.id)
    await deps.queue.drain()
    assert [m.to for m in mailer.sent] == [("ann@example.com",)], "the second is due half a second later"
    clock.advance(seconds=1)
    from autorelay_core.usecases.deliver_email import drain

    await drain(deps)
    assert sorted(m.subject for m in mailer.sent) == ["Hi Ann", "Hi Bob"]
    assert "Hello Bob" in next(m for m in mailer.sent if m.subject == "Hi Bob").html
    live = await uc.progress(deps, await uc.get_campaign(deps, key, campaign.id))
    assert live.campaign.status is CampaignStatus.COMPLETED and (live.campaign.sent, live.campaign.failed) == (2, 0)
    assert (await uc.get_campaign(deps, key, campaign.id)).status is CampaignStatus.COMPLETED
    assert timedelta(seconds=0.5) in {m.scheduled_at - launched.launched_at for m in mailer.sent if m.scheduled_at}


async def test_a_live_campaign_needs_a_verified_sender_domain_at_launch(deps):
    key = await live_key(deps)
    campaign = await draft(deps, key)  # news@unverified.test
    with pytest.raises(Invalid, match=r"unverified\.test"):
        await uc.launch_campaign(deps, key, campaign.id)
    assert (await uc.get_campaign(deps, key, campaign.id)).status is CampaignStatus.DRAFT


async def _launched_to(deps, key, *names, **fields):
    from autorelay_core.usecases.manage_contacts import ContactInput, create_contact

    campaign = await draft(deps, key, from_email="news@acme.test", **fields)
    for name in names:
        await create_contact(deps, key, ContactInput(f"{name.lower()}@example.com", campaign.list_id, name))
    return await uc.launch_campaign(deps, key, campaign.id)


async def test_each_message_carries_its_own_working_unsubscribe_link_and_headers(deps, mailer, clock):
    from urllib.parse import parse_qs, urlsplit

    from autorelay_core.usecases.manage_contacts import get_contact
    from autorelay_core.usecases.unsubscribe import unsubscribe

    key = await live_key(deps)
    launched = await _launched_to(deps, key, "Ann", "Bob")
    clock.advance(seconds=1)  # the second is due 1/100 s after the first
    await deps.queue.drain()
    assert len(mailer.sent) == 2
    tokens = set()
    for message in mailer.sent:
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        https, mailto = message.headers["List-Unsubscribe"].split(", ")
        url = https.strip("<>")
        assert url.startswith(deps.config.unsubscribe_url + "?token=")
        assert f"href='{url}'" in message.html, "{{unsubscribe_url}} is the same link"
        token = parse_qs(urlsplit(url).query)["token"][0]
        assert mailto.startswith("<mailto:unsubscribe@localhost?subject=unsubscribe%20") and token in mailto
        tokens.add(token)
    assert len(tokens) == 2, "one token per contact"

    bob = next(m for m in mailer.sent if m.to == ("bob@example.com",))
    token = parse_qs(urlsplit(bob.headers["List-Unsubscribe"].split(", ")[0].strip("<>")).query)["token"][0]
    first = await unsubscribe(deps, token)
    assert first.changed and not (await unsubscribe(deps, token)).changed, "repeating is harmless"
    assert (await get_contact(deps, key, first.contact_id)).status == "unsubscribed"
    assert (await uc.get_campaign(deps, key, launched.id)).unsubscribed == 1

    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]
    for bad in (tampered, token[:-5], "", None, 42, "x" * 5000):
        with pytest.raises(Invalid, match="unsubscribe token is not valid"):
            await unsubscribe(deps, bad)


async def test_a_token_from_another_server_secret_or_purpose_is_refused(deps):
    from adapters.system.signing import SecretSigner
    from autorelay_core.usecases.unsubscribe import unsubscribe

    fields = ("prj_x", "con_x", "lst_x", "cmp_x")
    with pytest.raises(Invalid):
        await unsubscribe(deps, SecretSigner(b"1" * 32).sign("unsubscribe", fields))
    with pytest.raises(Invalid):
        await unsubscribe(deps, deps.signer.sign("tracking", fields))
    assert not (await unsubscribe(deps, deps.signer.sign("unsubscribe", fields))).changed, "valid, nobody to change"


def test_tokens_signed_by_earlier_releases_still_verify():
    """Earlier releases signed with itsdangerous's stock serializer (zlib-compressed when shorter);
    links in mail already sent carry such tokens."""
    import hashlib

    from itsdangerous import URLSafeSerializer

    from adapters.system.signing import SecretSigner

    secret = b"s" * 32
    stock = URLSafeSerializer(secret, salt="autorelay:click", signer_kwargs={"digest_method": hashlib.sha256})
    fields = ("prj_x", "em_x", "https://example.com/" + "a" * 300)  # long enough to be compressed
    old = stock.dumps(list(fields))
    assert old.startswith(".")
    signer = SecretSigner(secret)
    assert signer.unsign("click", old) == fields
    assert signer.unsign("click", signer.sign("click", fields)) == fields
    assert stock.loads(signer.sign("click", fields)) == list(fields)
    assert signer.unsign("open", old) is None


async def test_content_without_the_link_gets_a_footer_with_it(deps, mailer):
    key = await live_key(deps)
    await _launched_to(deps, key, "Ann", content="<html><body><p>Hi {{ name }}</p></body></html>")
    await deps.queue.drain()
    (message,) = mailer.sent
    url = message.headers["List-Unsubscribe"].split(", ")[0].strip("<>")
    assert message.html.index(f'href="{url}"') < message.html.index("</body>")


async def test_launch_charges_every_recipient_to_the_quota_or_refuses_the_whole_campaign(deps):
    from attrs import evolve

    from autorelay_core.errors import QuotaExceeded

    deps = evolve(deps, config=evolve(deps.config, monthly_quota=3))
    key = await live_key(deps)
    with pytest.raises(QuotaExceeded, match="4 more emails"):
        await _launched_to(deps, key, "Ann", "Bob", "Cy", "Dee")
    page = await uc.list_campaigns(deps, key, "draft", OffsetRequest(1, 20))
    assert len(page.items) == 1, "the refused campaign stays a draft"
    assert (await deps.storage.campaign_mail.statuses(page.items[0].id)) == {}
    launched = await _launched_to(deps, key, "Eve", "Fay", "Gus")
    assert launched.total == 3


async def test_a_campaign_pauses_while_the_account_is_not_active_and_resumes_after(deps, mailer, clock):
    from attrs import evolve

    from autorelay_core.domain.projects import AccountStatus
    from autorelay_core.usecases.deliver_email import drain
    from autorelay_core.usecases.manage_reputation import operator_action

    deps = evolve(deps, config=evolve(deps.config, campaign_rate=1.0))
    key = await live_key(deps)
    launched = await _launched_to(deps, key, "Ann", "Bob", "Cy")
    await deps.queue.drain()
    assert len(mailer.sent) == 1, "one a second: the first is due now"
    await operator_action(deps, key.project_id, AccountStatus.FLAGGED, "review")
    assert (await uc.get_campaign(deps, key, launched.id)).status is CampaignStatus.PAUSED
    clock.advance(minutes=30)
    await drain(deps)
    await uc.finish_campaigns(deps)
    assert len(mailer.sent) == 1, "nothing goes out while paused"
    assert (await uc.get_campaign(deps, key, launched.id)).status is CampaignStatus.PAUSED

    await operator_action(deps, key.project_id, AccountStatus.ACTIVE, "reviewed")
    assert (await uc.get_campaign(deps, key, launched.id)).status is CampaignStatus.SENDING
    await drain(deps)
    assert len(mailer.sent) == 2, "resumed at the same pace: the next now, the last a second later"
    clock.advance(seconds=1)
    await drain(deps)
    finished = await uc.finish_campaigns(deps)
    assert len(mailer.sent) == 3 and [c.status for c in finished] == [CampaignStatus.COMPLETED]


async def test_the_reconciler_pauses_a_campaign_whose_account_changed_elsewhere(deps, mailer):
    from autorelay_core.domain.projects import AccountStatus

    key = await live_key(deps)
    launched = await _launched_to(deps, key, "Ann")
    # As another process (or a crash right after the status write) would leave it: not followed yet.
    await deps.storage.projects.set_status(key.project_id, AccountStatus.SUSPENDED, "audit")
    (paused,) = await uc.finish_campaigns(deps)
    assert paused.status is CampaignStatus.PAUSED
    await deps.queue.drain()
    assert mailer.sent == []
    await deps.storage.projects.set_status(key.project_id, AccountStatus.ACTIVE, "ok")
    await uc.finish_campaigns(deps)
    await deps.queue.drain()
    assert [m.to for m in mailer.sent] == [("ann@example.com",)]
    assert (await uc.get_campaign(deps, key, launched.id)).status is CampaignStatus.SENDING


async def test_the_text_part_is_converted_once_and_rendered_for_each_contact(deps, mailer, clock):
    from autorelay_core.usecases.deliver_email import drain

    key = await live_key(deps)
    content = "<h1>Hi {{ name }}</h1><p>{% if name %}Dear {{ name }}{% endif %} &amp; co</p>"
    await _launched_to(deps, key, "Ann", "Bob", content=content)
    await drain(deps)
    clock.advance(seconds=1)
    await drain(deps)
    texts = {m.to[0]: m.text for m in mailer.sent}
    for name in ("Ann", "Bob"):
        sent = next(m for m in mailer.sent if m.to == (f"{name.lower()}@example.com",))
        assert sent.text == texts[sent.to[0]] and sent.text is not None
        assert f"Hi {name}" in sent.text and f"Dear {name} & co" in sent.text and "{{" not in sent.text
        link = next(value for value in sent.headers.values() if "https" in value or "http" in value)
        assert link.split(">")[0].lstrip("<") in sent.text  # this contact's own unsubscribe link
    # What a per-message conversion of the contact's HTML gives (the text is the same words):
    assert deps.html_to_text.convert(mailer.sent[0].html).split() == mailer.sent[0].text.split()


def test_content_whose_tags_do_not_survive_conversion_is_converted_per_message(deps):
    # A tag split by markup (`{{ na<b>me</b> }}`) cannot be rendered from the text; fall back.
    assert uc.text_template(deps, "<p>{{ na<b>me</b> }}</p>") is None
    assert uc.text_template(deps, "<p>Hi {{ name }}</p>") == "Hi {{ name }}\n"


async def test_a_person_pauses_and_resumes_and_the_account_never_resumes_it_for_them(deps, mailer, clock):
    from attrs import evolve

    from autorelay_core.domain.projects import AccountStatus
    from autorelay_core.usecases.deliver_email import drain
    from autorelay_core.usecases.manage_reputation import operator_action

    deps = evolve(deps, config=evolve(deps.config, campaign_rate=1.0))
    key = await live_key(deps)
    launched = await _launched_to(deps, key, "Ann", "Bob", "Cy")
    await deps.queue.drain()
    assert len(mailer.sent) == 1
    paused = await uc.pause_campaign(deps, key, launched.id)
    assert paused.status is CampaignStatus.PAUSED and paused.paused_by_user
    clock.advance(minutes=5)
    await drain(deps)
    await uc.finish_campaigns(deps)  # the account is active: still paused, by the person
    await operator_action(deps, key.project_id, AccountStatus.FLAGGED, "review")
    await operator_action(deps, key.project_id, AccountStatus.ACTIVE, "reviewed")
    await drain(deps)
    assert len(mailer.sent) == 1 and (await uc.get_campaign(deps, key, launched.id)).paused_by_user

    resumed = await uc.resume_campaign(deps, key, launched.id)
    assert resumed.status is CampaignStatus.SENDING and not resumed.paused_by_user
    with pytest.raises(Conflict, match="not paused by a person"):
        await uc.resume_campaign(deps, key, launched.id)
    await drain(deps)
    clock.advance(seconds=1)
    await drain(deps)
    assert len(mailer.sent) == 3
    done = (await uc.progress(deps, await uc.get_campaign(deps, key, launched.id))).campaign
    assert done.status is CampaignStatus.COMPLETED
    with pytest.raises(Conflict, match="Only a sending campaign"):
        await uc.pause_campaign(deps, key, launched.id)


async def test_a_scheduled_launch_sends_nothing_before_its_time(deps, mailer, clock):
    from datetime import timedelta

    from autorelay_core.usecases.deliver_email import drain

    key = await live_key(deps)
    campaign = await draft(deps, key, from_email="news@acme.test")
    from autorelay_core.usecases.manage_contacts import ContactInput, create_contact

    await create_contact(deps, key, ContactInput("ann@example.com", campaign.list_id, "Ann"))
    with pytest.raises(Invalid, match="days ahead"):
        await uc.launch_campaign(deps, key, campaign.id, starts_at=clock.now() + timedelta(days=400))
    starts = clock.now() + timedelta(hours=2)
    launched = await uc.launch_campaign(deps, key, campaign.id, starts_at=starts)
    assert launched.status is CampaignStatus.SENDING and launched.starts_at == starts
    assert (await uc.get_campaign(deps, key, campaign.id)).starts_at == starts
    await drain(deps)
    assert mailer.sent == []
    # A pause and resume before the start keeps the schedule.
    await uc.pause_campaign(deps, key, campaign.id)
    await uc.resume_campaign(deps, key, campaign.id)
    await drain(deps)
    assert mailer.sent == []
    clock.advance(hours=2)
    await drain(deps)
    assert [m.to for m in mailer.sent] == [("ann@example.com",)]


async def test_every_contact_field_is_a_variable_in_campaign_mail_and_its_previews(deps, mailer):
    from autorelay_core.usecases.manage_contacts import ContactInput, create_contact

    key = await live_key(deps)
    content = "<p>{{ name }} at {{ company }} ({{ email }})</p><a href='{{ unsubscribe_url }}'>x</a>"
    campaign = await draft(deps, key, from_email="news@acme.test", content=content, subject="For {{ company }}")
    ann = await create_contact(deps, key, ContactInput("ann@example.com", campaign.list_id, "Ann", "Acme Ltd"))
    assert set(uc.CAMPAIGN_VARIABLES) == {*uc.CONTACT_VARIABLES, "unsubscribe_url", "preferences_url"}
    assert all(hasattr(ann, name) for name in uc.CONTACT_VARIABLES), "every variable is a field of the contact"
    subject, html = uc.render_for(deps, campaign, ann)
    assert subject == "For Acme Ltd" and "Ann at Acme Ltd (ann@example.com)" in html
    await uc.launch_campaign(deps, key, campaign.id)
    await deps.queue.drain()
    (sent,) = mailer.sent
    assert sent.subject == "For Acme Ltd" and "Ann at Acme Ltd (ann@example.com)" in sent.html
