"""Amazon SNS messages, checked as AWS documents it before anything in them is believed: the topic
is one we were told to trust, the signing certificate comes over HTTPS from an SNS host
(sns.<region>.amazonaws.com) and the signature (version 1: SHA1withRSA, 2: SHA256withRSA) over
the message's canonical string verifies with it."""

from __future__ import annotations

import base64
import re
import ssl
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from autorelay_core.errors import Forbidden

_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
    "UnsubscribeConfirmation": ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"),
}
_HASHES = {"1": hashes.SHA1, "2": hashes.SHA256}


def canonical(message: dict[str, Any]) -> bytes:
    fields = _SIGNED[message["Type"]]
    return "".join(f"{name}\n{message[name]}\n" for name in fields if name in message).encode()


def sns_url(url: object, what: str) -> str:
    """The URL if it is HTTPS on an SNS host; Forbidden otherwise."""
    parts = urlsplit(url if isinstance(url, str) else "")
    if parts.scheme != "https" or not _SNS_HOST.match(parts.hostname or "") or parts.port not in (None, 443):
        raise Forbidden(f"the {what} is not an HTTPS URL on an sns.<region>.amazonaws.com host")
    return url  # type: ignore[return-value]


class SnsVerifier:
    """`connect_to` (host:port) and `ca_file` let tests and air-gapped setups serve the SNS host
    from elsewhere; the URL checks, TLS host name checks and signatures stay the same."""

    def __init__(self, topics: set[str], *, connect_to: str = "", ca_file: str = "") -> None:
        self.topics = topics
        self._connect_to = connect_to
        self._tls = ssl.create_default_context(cafile=ca_file or None)
        self._certs: dict[str, x509.Certificate] = {}

    async def verify(self, message: dict[str, Any]) -> None:
        if message.get("Type") not in _SIGNED or not isinstance(message.get("Signature"), str):
            raise Forbidden("not an SNS message")
        if message.get("TopicArn") not in self.topics:
            raise Forbidden("the TopicArn is not one this server accepts (AUTORELAY_SES_TOPIC_ARNS)")
        algorithm = _HASHES.get(str(message.get("SignatureVersion")))
        if algorithm is None:
            raise Forbidden("unknown SignatureVersion")
        certificate = await self._certificate(sns_url(message.get("SigningCertURL"), "SigningCertURL"))
        key = certificate.public_key()
        if not isinstance(key, rsa.RSAPublicKey):  # SNS signs with RSA; anything else is not SNS
            raise Forbidden("the SNS signing certificate does not hold an RSA key")
        try:
            signature = base64.b64decode(message["Signature"], validate=True)
            key.verify(signature, canonical(message), padding.PKCS1v15(), algorithm())
        except (InvalidSignature, ValueError, KeyError, TypeError) as error:
            raise Forbidden("the SNS signature does not verify") from error

    async def confirm(self, message: dict[str, Any]) -> None:
        """Visit the SubscribeURL: the subscription starts delivering to us."""
        await self._get(sns_url(message.get("SubscribeURL"), "SubscribeURL"))

    async def _certificate(self, url: str) -> x509.Certificate:
        if url not in self._certs:
            if not urlsplit(url).path.endswith(".pem"):
                raise Forbidden("the SigningCertURL is not a .pem certificate")
            try:
                self._certs[url] = x509.load_pem_x509_certificate(await self._get(url))
            except ValueError as error:
                raise Forbidden("the signing certificate is not a PEM certificate") from error
        return self._certs[url]

    async def _get(self, url: str) -> bytes:
        parts = urlsplit(url)
        target, extensions, headers = url, {}, {}
        if self._connect_to:
            target = urlunsplit(parts._replace(netloc=self._connect_to))
            extensions = {"sni_hostname": parts.hostname}
            headers = {"Host": parts.netloc}
        async with httpx.AsyncClient(verify=self._tls, timeout=10, follow_redirects=False) as client:
            try:
                response = await client.get(target, headers=headers, extensions=extensions)
            except httpx.HTTPError as error:
                raise Forbidden(f"could not fetch {url}: {error}") from error
        if response.status_code != 200:
            raise Forbidden(f"{url} answered {response.status_code}")
        return response.content
