"""DKIM with dkimpy: a key pair per sending domain (for mailers that sign themselves: SMTP, log),
and the signer the SMTP mailer runs every message through."""

from __future__ import annotations

import base64
import secrets

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from autorelay_core.domain.addresses import split_mailbox
from autorelay_core.domain.emails import Email
from autorelay_core.ports import DkimSetup, DomainRepository, Sealer

# Signed when present. List-Unsubscribe(-Post) are what mailbox providers check on bulk mail.
SIGNED_HEADERS = [
    b"From", b"To", b"Cc", b"Reply-To", b"Subject", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type",
    b"List-Unsubscribe", b"List-Unsubscribe-Post",
]  # fmt: skip


class OwnKeys:
    """Domain provisioning for mailers that sign with our own key: RSA 2048, selector per domain."""

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    async def provision(self, name: str) -> DkimSetup:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public_der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return DkimSetup(
            selector=f"ar{secrets.token_hex(4)}",
            public_key=base64.b64encode(public_der).decode(),
            private_key=self._sealer.seal(private_pem),
        )


class DkimSigner:
    """Prepends a DKIM-Signature made with the sender domain's key, when the project has one."""

    def __init__(self, domains: DomainRepository, sealer: Sealer) -> None:
        self._domains, self._sealer = domains, sealer

    async def __call__(self, email: Email, message: bytes) -> bytes:
        name = split_mailbox(email.sender)[1].rsplit("@", 1)[-1].lower()
        domain = await self._domains.get_by_name(email.project_id, name)
        if domain is None or not domain.dkim_selector or not domain.dkim_private_key:
            return message
        private_pem = self._sealer.open(domain.dkim_private_key).encode()
        head = b"\r\n" + message.split(b"\r\n\r\n", 1)[0].lower()  # the header block, not the body
        present = [h for h in SIGNED_HEADERS if b"\r\n" + h.lower() + b":" in head]
        signature = dkim.sign(
            message, domain.dkim_selector.encode(), name.encode(), private_pem, include_headers=present
        )
        return signature + message
