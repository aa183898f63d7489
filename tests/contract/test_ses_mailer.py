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
    stored, _ = await get_email(deps, key.project_id, sent.id)
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

    await mark_verified(deps, key.project_id, "never-verified-in-ses.test")
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
    domain = await create_domain(deps, key.project_id, "mail.shop.test")
    assert len(domain.dkim_tokens) == 3 and not domain.dkim_private_key
    cnames = [r for r in records(deps, domain) if r.type == "CNAME"]
    assert [(r.name, r.value) for r in cnames] == [
        (f"{t}._domainkey.mail.shop.test", f"{t}.dkim.amazonses.com") for t in domain.dkim_tokens
    ]
    identities = [i["IdentityName"] for i in client.list_email_identities()["EmailIdentities"]]
    assert "mail.shop.test" in identities
