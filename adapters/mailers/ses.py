"""The Amazon SES mailer (boto3, SES v2): raw messages, so the MIME and our headers stay ours; SES
signs with Easy DKIM for the domain identity it created (`CreateEmailIdentity`)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
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
from autorelay_core.policies.rate_limit import Limit
from autorelay_core.ports import DkimSetup, Handover, RateLimitStore

log = logging.getLogger("autorelay.ses")

# SES answers that retrying cannot fix (the message or the sender is refused).
_PERMANENT = {"MessageRejected", "MailFromDomainNotVerifiedException", "BadRequestException", "NotFoundException"}
# SES answers that the account is over its sending rate: not this email's failure.
_THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException"}
# How long the account's maximum send rate is trusted before SES is asked again.
QUOTA_TTL = 600.0


def ses_client(region: str, endpoint_url: str = "", *, api: str = "sesv2"):
    """A boto3 client; credentials come the usual AWS ways (environment, profile, instance role)."""
    config = Config(retries={"max_attempts": 2, "mode": "standard"}, connect_timeout=10, read_timeout=30)
    return boto3.client(api, region_name=region, endpoint_url=endpoint_url or None, config=config)


class SesMailer:
    """`limits` and `quota_client` (a classic "ses" client): keep every process sharing `limits`
    under the account's maximum send rate, read from SES (GetSendQuota) every ten minutes."""

    def __init__(
        self,
        client,
        keep: Callable[[Email, bytes], None] | None = None,
        *,
        quota_client=None,
        limits: RateLimitStore | None = None,
    ) -> None:
        self._client = client
        self._keep = keep  # a copy of each raw message that SES accepted (KeptMessages.keep)
        self._quota, self._limits = quota_client, limits
        self._rate: float | None = None
        self._rate_read_at = -math.inf
        region = getattr(getattr(client, "meta", None), "region_name", "") or ""
        self._bucket = f"ses:{region}:send"

    async def close(self) -> None:
        self._client.close()  # botocore's connection pool
        if self._quota is not None:
            self._quota.close()

    async def send(self, email: Email, sent_at: datetime, handover: Handover | None = None) -> str:
        message = build_message(email, sent_at)
        request = {
            "FromEmailAddress": split_mailbox(email.sender)[1],
            "Destination": {"ToAddresses": envelope_recipients(email)},
            "Content": {"Raw": {"Data": message}},
        }
        await self._keep_pace()
        await handed_over(handover)
        try:
            answer = await asyncio.to_thread(self._client.send_email, **request)
        except ClientError as error:
            raise ses_error(error) from error
        except BotoCoreError as error:  # connection, timeout, credentials lookup
            raise MailerError(f"SES unreachable: {error}", permanent=False) from error
        if self._keep is not None:
            self._keep(email, message)
        return answer["MessageId"]

    async def max_rate(self) -> float | None:
        """Messages per second SES allows this account; None when it cannot be read (then SES's
        own throttling answers still hold mail back, as deferrals)."""
        if self._quota is None:
            return None
        if time.monotonic() - self._rate_read_at < QUOTA_TTL:
            return self._rate
        try:
            answer = await asyncio.to_thread(self._quota.get_send_quota)
            self._rate = float(answer["MaxSendRate"]) or None
        except (ClientError, BotoCoreError, KeyError, ValueError) as error:
            log.warning("could not read the SES account's maximum send rate: %s", error)
            self._rate = None
        self._rate_read_at = time.monotonic()
        return self._rate

    async def _keep_pace(self) -> None:
        rate = await self.max_rate() if self._limits is not None else None
        if rate is None or self._limits is None:
            return
        count = max(1, math.floor(rate))
        limit = Limit(count, count / rate)  # 14/s: 14 a second; 0.5/s: one every 2 s
        for _ in range(3):  # a moment's wait is cheaper than giving the email back
            now = time.time()
            admission = await self._limits.hit(self._bucket, now, limit)
            if admission.allowed:
                return
            wait = (admission.oldest or now) + limit.window - now
            await asyncio.sleep(min(max(wait, 0.005), limit.window))
        raise MailerError(f"over the SES account's maximum send rate ({rate:g}/s)", permanent=False, throttled=True)


def ses_error(error: ClientError) -> MailerError:
    """SES's refusal as the core sees it: permanent, throttled (the account's rate: the email waits a
    moment without spending a retry) or temporary."""
    code = error.response.get("Error", {}).get("Code", "")
    text = error.response.get("Error", {}).get("Message", str(error))
    # The daily quota answers "Throttling" too, but waiting a second will not help it: retry later.
    throttled = code in _THROTTLED and "daily" not in text.lower()
    return MailerError(f"SES {code}: {text}", permanent=code in _PERMANENT, throttled=throttled)


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
