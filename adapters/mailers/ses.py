"""The Amazon SES mailer (boto3, SES v2): raw messages, so the MIME and our headers stay ours; SES
signs with Easy DKIM for the domain identity it created (`CreateEmailIdentity`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from adapters.mailers.handover import handed_over
from adapters.mailers.mime import build_message, envelope_recipients
from autorelay_core.domain.addresses import split_mailbox
from autorelay_core.domain.emails import Email
from autorelay_core.errors import Invalid, MailerError
from autorelay_core.ports import DkimSetup, Handover

# SES answers that retrying cannot fix (the message or the sender is refused).
_PERMANENT = {"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "NotFoundException"}


def ses_client(region: str, endpoint_url: str = "", *, api: str = "sesv2"):
    """A boto3 client; credentials come the usual AWS ways (environment, profile, instance role)."""
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=10, read_timeout=30)
    return boto3.client(api, region_name=region, endpoint_url=endpoint_url or None, config=config)


class SesMailer:
    def __init__(self, client, keep: Callable[[Email, bytes], None] | None = None) -> None:
        self._client = client
        self._keep = keep  # a copy of each raw message that SES accepted (KeptMessages.keep)

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        message = build_message(email, sent_at)
        request = {
            "FromEmailAddress": split_mailbox(email.sender)[1],
            "Destination": {"ToAddresses": envelope_recipients(email)},
            "Content": {"Raw": {"Data": message}},
        }
        await handed_over(handover)
        try:
            answer = await asyncio.to_thread(self._client.send_email, **request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            text = error.response.get("Error", {}).get("Message", str(error))
            raise MailerError(f"SES {code}: {text}", permanent=code in _PERMANENT) from error
        except BotoCoreError as error:  # connection, timeout, credentials lookup
            raise MailerError(f"SES unreachable: {error}", permanent=False) from error
        if self._keep is not None:
            self._keep(email, message)
        return answer["MessageId"]


class SesIdentities:
    """Domain provisioning with SES: an email identity with Easy DKIM; its three tokens are CNAMEs."""

    def __init__(self, client, classic_client) -> None:
        self._client, self._classic = client, classic_client

    async def provision(self, name: str) -> DkimSetup:
        try:
            try:
                answer = await asyncio.to_thread(self._client.create_email_identity, EmailIdentity=name)
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "AlreadyExistsException":
                    raise
                answer = await asyncio.to_thread(self._client.get_email_identity, EmailIdentity=name)
            tokens = answer.get("DkimAttributes", {}).get("Tokens", [])
            if not tokens:
                # Some SES endpoints (moto among them) leave the tokens out of that answer; the
                # classic VerifyDomainDkim returns the same identity's Easy DKIM tokens.
                classic = await asyncio.to_thread(self._classic.verify_domain_dkim, Domain=name)
                tokens = classic.get("DkimTokens", [])
        except (ClientError, BotoCoreError) as error:
            raise Invalid(f"SES could not set up the domain {name}: {error}", field="domain") from error
        return DkimSetup(tokens=tuple(tokens))
