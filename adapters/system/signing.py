"""Signed tokens (unsubscribe links, later tracking links) with itsdangerous: HMAC-SHA256 over a
compact URL-safe payload, keyed from the server secret with a salt per purpose."""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, URLSafeSerializer


class SecretSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializers: dict[str, URLSafeSerializer] = {}

    def _for(self, purpose: str) -> URLSafeSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = URLSafeSerializer(
                self._secret, salt=f"autorelay:{purpose}", signer_kwargs={"digest_method": hashlib.sha256}
            )
            self._serializers[purpose] = serializer
        return serializer

    def sign(self, purpose: str, fields: tuple[str, ...]) -> str:
        return self._for(purpose).dumps(list(fields))

    def unsign(self, purpose: str, token: str) -> tuple[str, ...] | None:
        try:
            fields = self._for(purpose).loads(token)
        except (BadSignature, UnicodeError, ValueError):
            return None
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            return None
        return tuple(fields)
