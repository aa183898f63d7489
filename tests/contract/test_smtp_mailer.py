"""The SMTP mailer against a real SMTP server on loopback (aiosmtpd with STARTTLS and AUTH), through
the delivery use case: what a send, a hard bounce and a transient refusal do end to end."""

from __future__ import annotations

import email
import email.policy

import pytest

from adapters.mailers.smtp import SmtpMailer, SmtpSettings
from autorelay_core.domain.contacts import ContactStatus
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.usecases import manage_contacts
from autorelay_core.usecases.deliver_email import deliver_email, reconcile_outbox
from autorelay_core.usecases.read_emails import get_email
from autorelay_core.usecases.send_email import send_email
from tests.smtp_sink import PASSWORD, USER, Sink
from tests.support import ManualQueue, make_deps
from tests.unit.test_send_email import command, live_key


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def sink(request):
    with Sink(pipelining=request.param) as running:
        yield running


def _settings(sink) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1",
        port=sink.port,
        security="starttls",
        username=USER,
        password=PASSWORD,
        timeout=10,
        tls_context=sink.client_context(),
    )


@pytest.fixture
def smtp_deps(sink, clock):
    return make_deps(clock=clock, mailer=SmtpMailer(_settings(sink)), queue=ManualQueue())


async def test_a_send_arrives_over_starttls_with_auth_as_valid_multipart(smtp_deps, sink):
    key = await live_key(smtp_deps)
    sent = await send_email(smtp_deps, key, command(to=["alice@example.com", "bob@example.com"]))
    assert await deliver_email(smtp_deps, sent.id) == "sent"
    (envelope,) = sink.messages
    assert envelope.mail_from == "noreply@acme.test" and envelope.rcpt_tos == ["alice@example.com", "bob@example.com"]
    message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert message["Message-ID"] == sent.message_id
    assert message.get_content_type() == "multipart/alternative"
    html = message.get_body(("html",)).get_content().strip()
    assert html.startswith("<p>Hello</p>") and "/api/v1/track/open/" in html  # tracking is on by default
    stored, _ = await get_email(smtp_deps, key, sent.id)
    assert stored.status is EmailStatus.SENT and stored.provider_message_id.startswith("2.0.0 Ok: queued as")
    # The connection is kept for the next message.
    again = await send_email(smtp_deps, key, command())
    assert await deliver_email(smtp_deps, again.id) == "sent"
    assert sink.connections == 1


async def test_a_550_at_rcpt_bounces_suppresses_and_the_next_send_never_connects(smtp_deps, sink):
    key = await live_key(smtp_deps)
    target = await manage_contacts.create_list(smtp_deps, key, "L")
    contact = await manage_contacts.create_contact(
        smtp_deps, key, manage_contacts.ContactInput("Gone@example.com", target.id)
    )
    sink.plans["gone@example.com"] = ["550 5.1.1 No such user"]
    first = await send_email(smtp_deps, key, command(to="gone@example.com"))
    assert await deliver_email(smtp_deps, first.id) == "bounced"
    stored, events = await get_email(smtp_deps, key, first.id)
    assert stored.status is EmailStatus.BOUNCED and "550" in stored.last_error
    assert [e.type.value for e in events] == ["queued", "bounced"]
    (entry,) = await smtp_deps.storage.suppressions.matching(key.project_id, ["gone@example.com"])
    assert entry.reason.value == "bounce"
    assert (await manage_contacts.get_contact(smtp_deps, key, contact.id)).status is ContactStatus.BOUNCED

    connections = sink.connections
    second = await send_email(smtp_deps, key, command(to="GONE@example.com"))
    assert await deliver_email(smtp_deps, second.id) == "failed"
    stored, _ = await get_email(smtp_deps, key, second.id)
    assert stored.status is EmailStatus.FAILED and "suppressed" in stored.last_error
    assert sink.connections == connections and len(sink.messages) == 0


async def test_a_451_is_retried_after_the_backoff_and_then_sent(smtp_deps, sink, clock):
    key = await live_key(smtp_deps)
    sink.plans["busy@example.com"] = ["451 4.7.1 Try again later"]
    sent = await send_email(smtp_deps, key, command(to="busy@example.com"))
    assert await deliver_email(smtp_deps, sent.id) == "retry"
    stored, _ = await get_email(smtp_deps, key, sent.id)
    assert stored.status is EmailStatus.QUEUED and "451" in stored.last_error
    assert await deliver_email(smtp_deps, sent.id) == "skipped", "not due before the backoff"
    clock.advance(seconds=10)
    assert await deliver_email(smtp_deps, sent.id) == "sent"
    assert [m.rcpt_tos for m in sink.messages] == [["busy@example.com"]]


async def test_wrong_credentials_and_a_dead_server_are_transient(sink, clock):
    from autorelay_core.errors import MailerError

    good = dict(host="127.0.0.1", port=sink.port, tls_context=sink.client_context(), timeout=3)
    mailer = SmtpMailer(SmtpSettings(**good, username=USER, password="wrong"))
    deps = make_deps(clock=clock, mailer=mailer, queue=ManualQueue())
    key = await live_key(deps)
    sent = await send_email(deps, key, command())
    with pytest.raises(MailerError) as refused:
        await mailer.send(sent, clock.now())
    assert not refused.value.permanent and "SMTP" in refused.value.message
    assert "wrong" not in refused.value.message, "the password never appears in an error"
    from tests.e2e.server import free_port

    nobody = SmtpMailer(SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2))
    with pytest.raises(MailerError) as down:
        await nobody.send(sent, clock.now())
    assert not down.value.permanent


async def test_the_end_of_data_waits_for_the_hand_over_record(smtp_deps, sink):
    """The hand-over is recorded with the whole message already at the server, before the final
    "."; the message exists at the server only after it. A refused hand-over (lost lease) leaves
    the server nothing."""
    from autorelay_core.errors import MailerError

    key = await live_key(smtp_deps)
    sent = await send_email(smtp_deps, key, command())
    email_ = (await get_email(smtp_deps, key, sent.id))[0]
    seen_at_hand_over = []

    async def refuse(then) -> bool:
        seen_at_hand_over.append(len(sink.messages))
        return False

    with pytest.raises(MailerError, match="lease ran out"):
        await smtp_deps.mailer.send(email_, smtp_deps.clock.now(), refuse)
    assert seen_at_hand_over == [0] and sink.messages == [], "the server dropped the transaction"

    async def accept(then) -> bool:
        seen_at_hand_over.append(len(sink.messages))
        then()
        return True

    await smtp_deps.mailer.send(email_, smtp_deps.clock.now(), accept)
    assert seen_at_hand_over == [0, 0] and len(sink.messages) == 1
    # Through the delivery use case the outbox row passes through 'handover' and ends 'sent'.
    assert await deliver_email(smtp_deps, sent.id) == "sent"
    assert len(sink.messages) == 2


async def _stopped_after_the_hand_over(deps, clock):
    """An email whose worker recorded the hand-over and was killed before the final "."."""
    key = await live_key(deps)
    sent = await send_email(deps, key, command())
    now = clock.now()
    claim = await deps.storage.outbox.claim(sent.id, now, now + deps.config.lease)
    assert await deps.storage.outbox.handover(claim)  # ... and the worker is killed here
    clock.advance(seconds=deps.config.lease.total_seconds() + 1)
    await reconcile_outbox(deps)
    return key, sent


async def test_a_worker_stopped_after_the_hand_over_leaves_it_uncertain_and_it_is_resent(smtp_deps, sink, clock):
    """Never silently `sent`: by default (transactional mail) it is sent again, same Message-ID."""
    key, sent = await _stopped_after_the_hand_over(smtp_deps, clock)
    stored, events = await get_email(smtp_deps, key, sent.id)
    assert stored.status is EmailStatus.UNCERTAIN and sink.messages == []
    assert [e.type.value for e in events] == ["queued", "uncertain"] and "stopped" in events[-1].data["note"]
    assert await deliver_email(smtp_deps, sent.id) == "sent"
    stored, events = await get_email(smtp_deps, key, sent.id)
    assert stored.status is EmailStatus.SENT and [e.type.value for e in events] == ["queued", "uncertain", "sent"]
    assert len(sink.messages) == 1 and f"Message-ID: {sent.message_id}".encode() in sink.messages[0].content
    clock.advance(seconds=3600)
    await reconcile_outbox(smtp_deps)
    assert len(await smtp_deps.storage.emails.events(sent.id)) == 3 and len(sink.messages) == 1


async def test_a_project_may_hold_uncertain_mail_for_the_operator(smtp_deps, sink, clock):
    from autorelay_core.usecases.uncertain import list_uncertain, resend_uncertain

    key, sent = await _stopped_after_the_hand_over(smtp_deps, clock)  # the reconciler already resent it
    assert await deliver_email(smtp_deps, sent.id) == "sent"
    await smtp_deps.storage.projects.set_uncertain_policy(key.project_id, transactional=False, campaigns=False)
    second = await send_email(smtp_deps, key, command())
    now = clock.now()
    claim = await smtp_deps.storage.outbox.claim(second.id, now, now + smtp_deps.config.lease)
    assert await smtp_deps.storage.outbox.handover(claim)
    clock.advance(seconds=smtp_deps.config.lease.total_seconds() + 1)
    await reconcile_outbox(smtp_deps)
    assert await deliver_email(smtp_deps, second.id) == "skipped"  # held: no worker takes it
    assert [e.id for e in await list_uncertain(smtp_deps, key)] == [second.id]
    await resend_uncertain(smtp_deps, key, second.id)
    assert await deliver_email(smtp_deps, second.id) == "sent"
    assert len(sink.messages) == 2 and await list_uncertain(smtp_deps, key) == []


async def test_the_kept_copy_is_exactly_what_the_server_received(sink, tmp_path):
    from adapters.mailers.kept import KeptMessages

    kept = KeptMessages(tmp_path / "messages", days=7)
    deps = make_deps(mailer=SmtpMailer(_settings(sink), keep=kept.keep), queue=ManualQueue())
    key = await live_key(deps)
    sent = await send_email(deps, key, command())
    assert await deliver_email(deps, sent.id) == "sent"
    (envelope,) = sink.messages
    assert kept.get(sent.id) == envelope.original_content, "byte for byte what the server took"
    assert kept.get("em_unknown") is None
    kept.flush()
    assert oct(next((tmp_path / "messages").iterdir()).stat().st_mode & 0o777) == "0o700"
    files = list((tmp_path / "messages").glob("*/*"))
    assert {f.suffix for f in files} == {".log", ".idx"}
    assert all(oct(f.stat().st_mode & 0o777) == "0o600" for f in files)
    await deps.mailer.close()
