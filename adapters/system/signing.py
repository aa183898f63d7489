"""Signed tokens (unsubscribe links, later tracking links) with itsdangerous: HMAC-SHA256 over a
compact URL-safe payload, keyed from the server secret with a salt per purpose."""

from __future__ import annotations

import hashlib

from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer
from itsdangerous.signer import Signer


class _TokenSerializer(URLSafeSerializer):
    """A token is signed for every tracked link and open pixel of every message, so its cost counts.
    URLSafeSerializer tries zlib on each payload (kept only when shorter, which a few ids never
    are) and builds a new Signer per call; together that was two thirds of the time. Loading is
    itsdangerous's own, so tokens signed either way verify."""

    def dump_payload(self, obj: object) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        signer = self.__dict__.get("_signer")
        if signer is None:
            signer = self.__dict__["_signer"] = super().make_signer(salt)
        return signer


class SecretSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializers: dict[str, _TokenSerializer] = {}

    def _for(self, purpose: str) -> _TokenSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = _TokenSerializer(
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
