"""Posting webhook deliveries over HTTP(S) with httpx, signed two ways.

The core has already resolved and checked the host (the SSRF guard); this connects to exactly that
address and presents the host name in the Host header, in TLS SNI and for the certificate check, so
a DNS answer that changes between the check and the connection (rebinding) is never used.

Signatures: `X-Webhook-Signature` is the hex HMAC-SHA256 of the raw body keyed with the endpoint's
secret as given (`whsec_...`, UTF-8), as the API reference describes; the Standard Webhooks headers
are made by the `standardwebhooks` library (HMAC over "id.timestamp.body" with the base64 part of
the secret), so receivers can verify with any Standard Webhooks library and reject replays. An
endpoint in Resend's format gets Resend's payload shape, signed the same way under Svix's header
names (`svix-id`, `svix-timestamp`, `svix-signature`), which Resend's SDKs' `webhooks.verify` checks.
"""

from __future__ import annotations

import hashlib
import hmac
import ssl
from datetime import datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook as StandardWebhook

from adapters.webhooks.payloads import resend_body
from autorelay_core.domain.webhooks import TIMEOUT_SECONDS, PostOutcome, WebhookDelivery
from autorelay_core.errors import WebhookError
from autorelay_core.policies.ssrf import Target, literal_address


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpWebhookPoster:
    def __init__(self, *, ca_file: str = "", timeout: float = TIMEOUT_SECONDS) -> None:
        context = ssl.create_default_context(cafile=ca_file or None)
        # No keep-alive: connections are made to an address for one host name; reusing one for
        # another host on the same address would skip that host's certificate check. No proxies
        # from the environment: they would connect somewhere the guard never checked.
        self._client = httpx.AsyncClient(
            verify=context,
            follow_redirects=False,
            timeout=timeout,
            trust_env=False,
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self._timeout = timeout

    async def post(
        self,
        target: Target,
        address: str,
        secret: str,
        delivery: WebhookDelivery,
        sent_at: datetime,
        shape: str = "autorelay",
    ) -> PostOutcome:
        text = resend_body(delivery.body) if shape == "resend" else delivery.body
        body = text.encode()
        standard = StandardWebhook(secret).sign(delivery.event_id, sent_at, text)
        parts = urlsplit(target.url)
        default_port = 443 if target.scheme == "https" else 80
        shown_host = f"[{target.host}]" if ":" in target.host else target.host
        headers = {
            "Host": shown_host if target.port == default_port else f"{shown_host}:{target.port}",
            "Content-Type": "application/json",
            "User-Agent": "AutoRelay-Webhooks/1",
            "X-Webhook-Signature": signature(secret, body),
            "X-Webhook-Id": delivery.event_id,
            "X-Webhook-Event": delivery.event_type,
            "webhook-id": delivery.event_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": standard,
        }
        if shape == "resend":  # Resend signs with Svix: the same scheme under Svix's header names
            headers |= {"svix-id": delivery.event_id, "svix-timestamp": headers["webhook-timestamp"]}
            headers["svix-signature"] = standard
        connect_to = f"[{address}]" if ":" in address else address
        url = f"{target.scheme}://{connect_to}:{target.port}{parts.path or '/'}"
        if parts.query:
            url += f"?{parts.query}"
        extensions = {}
        if target.scheme == "https" and literal_address(target.host) is None:
            extensions["sni_hostname"] = target.host  # also the name the certificate must carry
        try:
            # Streamed: the first bytes of the answer are read for the deliveries log (what the
            # endpoint said, whether it took the event or not); the rest is never downloaded,
            # whatever its size.
            async with self._client.stream("POST", url, content=body, headers=headers, extensions=extensions) as reply:
                return outcome_of(reply.status_code, await _first_bytes(reply, ANSWER_SHOWN))
        except httpx.TimeoutException:
            raise WebhookError(f"no answer within {self._timeout:g} s") from None
        except httpx.HTTPError as error:
            raise WebhookError(f"{type(error).__name__}: {error}"[:300] or type(error).__name__) from None

    async def close(self) -> None:
        await self._client.aclose()


ANSWER_SHOWN = 300  # bytes of an answer's body kept in the deliveries log


async def _first_bytes(reply: httpx.Response, limit: int) -> bytes:
    kept = b""
    try:
        async for chunk in reply.aiter_raw():
            kept += chunk
            if len(kept) >= limit:
                break
    except httpx.HTTPError:
        pass  # what came before the failure is still worth showing
    return kept[:limit]


def outcome_of(status: int, answer: bytes = b"") -> PostOutcome:
    """A 2xx delivers; 410 Gone means the endpoint is gone for good; anything else is retried.
    `answer`: the first bytes of the endpoint's body, shown in the deliveries log on one line."""
    said = " ".join("".join(c if c.isprintable() else " " for c in answer.decode("utf-8", "replace")).split())
    detail = f"HTTP {status}" + (f": {said}" if said else "")
    return PostOutcome(delivered=200 <= status < 300, gone=status == 410, detail=detail)
