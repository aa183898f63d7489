"""Sealing with the server secret: Fernet (AES-128-CBC + HMAC-SHA256, from `cryptography`)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


def derive(secret: bytes, purpose: str) -> bytes:
    """A separate 32-byte key per use of the one server secret."""
    return hmac.new(secret, f"autorelay:{purpose}".encode(), hashlib.sha256).digest()


class FernetSealer:
    def __init__(self, secret: bytes) -> None:
        self._fernet = Fernet(base64.urlsafe_b64encode(derive(secret, "seal")))

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise ValueError("sealed with another server secret (AUTORELAY_SECRET_KEY changed?)") from None
