"""The SES mailer and SES domain identities against moto in server mode: real HTTP to a local
SES v2 endpoint, nothing mocked in process."""

from __future__ import annotations

import email
import email.policy

import pytest

from adapters.mailers.kept import KeptMessages
from adapters.mailers.ses import SesIdentities, SesMailer, ses_client
from autorelay_core.domain.emails import EmailStatus
from autorelay_core.errors import MailerError
from autorelay_core.usecases.deliver_email import deliver_email
from autorelay_core.usecases.manage_domains import create_domain, records
from autorelay_core.usecases.read_emails import get_email
from autorelay_core.usecases.send_email import send_email
from tests.ses_server import SesServer
from tests.support import ManualQueue, make_deps
from tests.unit.test_send_email import command, live_key


@pytest.fixture(scope="module")
def ses():
    with SesServer() as running:
        yield running


async def test_a_send_through_ses_gets_its_message_id_and_arrives_raw(ses, clock, tmp_path):
    client = ses_client("us-east-1", ses.url)
    ses.verify_identity("acme.test")
    kept = KeptMessages(tmp_path / "messages", days=7)
    deps = make_deps(clock=clock, mailer=SesMailer(client, keep=kept.keep), queue=ManualQueue())
    key = await live_key(deps)
    sent = await send_email(deps, key, command(to=["a@example.com", "b@example.com"], subject="Via SES"))
    assert await deliver_email(deps, sent.id) == "sent"
    stored, _ = await get_email(deps, key, sent.id)
    assert stored.status is EmailStatus.SENT and stored.provider_message_id
    (raw,) = [m for m in ses.sent_messages() if m["MessageId"] == stored.provider_message_id]
    message = email.message_from_string(raw["RawData"], policy=email.policy.default)
    assert message["Message-ID"] == sent.message_id and message["Subject"] == "Via SES"
    assert message.get_content_type() == "multipart/alternative"
    assert kept.get(sent.id).decode() == raw["RawData"], "the dashboard's copy is what SES took"


async def test_an_unverified_sender_is_a_permanent_failure(ses, clock):
    mailer = SesMailer(ses_client("us-east-1", ses.url))
    deps = make_deps(clock=clock, mailer=mailer, queue=ManualQueue())
    key = await live_key(deps)
    from autorelay_core.usecases.manage_domains import mark_verified

    await mark_verified(deps, key, "never-verified-in-ses.test")
    sent = await send_email(deps, key, command(from_="x@never-verified-in-ses.test"))
    with pytest.raises(MailerError) as refused:
        await mailer.send(sent, clock.now())
    assert refused.value.permanent and "MessageRejected" in refused.value.message


async def test_a_domain_gets_three_dkim_tokens_as_cnames(ses, clock):
    from attrs import evolve

    client = ses_client("us-east-1", ses.url)
    classic = ses_client("us-east-1", ses.url, api="ses")
    deps = evolve(make_deps(clock=clock, queue=ManualQueue()), domain_provisioner=SesIdentities(client, classic))
    key = await live_key(deps)
    domain = await create_domain(deps, key, "mail.shop.test")
    assert len(domain.dkim_tokens) == 3 and not domain.dkim_private_key
    cnames = [r for r in records(deps, domain) if r.type == "CNAME"]
    assert [(r.name, r.value) for r in cnames] == [
        (f"{t}._domainkey.mail.shop.test", f"{t}.dkim.amazonses.com") for t in domain.dkim_tokens
    ]
    identities = [i["IdentityName"] for i in client.list_email_identities()["EmailIdentities"]]
    assert "mail.shop.test" in identities


async def test_senders_sharing_a_rate_store_keep_under_the_accounts_maximum_send_rate(ses, clock):
    # moto's account allows 1 message a second; two mailers (two processes) share one rate store.
    import time

    from adapters.limits.memory import MemoryRateLimits

    ses.verify_identity("acme.test")
    shared = MemoryRateLimits()
    classic = ses_client("us-east-1", ses.url, api="ses")
    mailers = [SesMailer(ses_client("us-east-1", ses.url), quota_client=classic, limits=shared) for _ in range(2)]
    assert await mailers[0].max_rate() == 1.0
    deps = make_deps(clock=clock, queue=ManualQueue())
    key = await live_key(deps)
    emails = [await send_email(deps, key, command(subject=f"paced {n}")) for n in range(4)]
    before = len(ses.sent_messages())
    started = time.monotonic()
    import asyncio

    async def send(mailer, email):
        while True:  # as the outbox does with an email given back for the rate, a moment later
            try:
                return await mailer.send(email, clock.now())
            except MailerError as error:
                assert error.throttled, error
                throttled.append(email.id)

    throttled: list[str] = []
    ids = await asyncio.gather(*(send(mailers[n % 2], e) for n, e in enumerate(emails)))
    elapsed = time.monotonic() - started
    assert len(set(ids)) == 4 and len(ses.sent_messages()) == before + 4
    assert elapsed >= 2.9, f"4 messages at 1/s took only {elapsed:.2f} s"


def test_ses_throttling_is_a_deferral_and_its_daily_quota_an_ordinary_retry():
    from botocore.exceptions import ClientError

    from adapters.mailers.ses import ses_error

    def answer(code: str, message: str) -> MailerError:
        return ses_error(ClientError({"Error": {"Code": code, "Message": message}}, "SendEmail"))

    rate = answer("Throttling", "Maximum sending rate exceeded.")
    assert rate.throttled and not rate.permanent
    assert answer("TooManyRequestsException", "Too many requests").throttled
    daily = answer("Throttling", "Daily message quota exceeded.")
    assert not daily.throttled and not daily.permanent
    rejected = answer("MessageRejected", "Email address is not verified.")
    assert rejected.permanent and not rejected.throttled
