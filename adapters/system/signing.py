"""Signed tokens (unsubscribe links, later tracking links) with itsdangerous: HMAC-SHA256 over a
compact URL-safe payload, keyed from the server secret with a salt per purpose."""

from __future__ import annotations

import hashlib
import logging

from itsdangerous import BadSignature, URLSafeSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.serializer import Serializer
from itsdangerous.signer import Signer

log = logging.getLogger("autorelay")


class _TokenSerializer(URLSafeSerializer):
    """A token is signed for every tracked link and open pixel of every message, so its cost counts.
    URLSafeSerializer tries zlib on each payload (kept only when shorter, which a few ids never
    are) and builds a new Signer per call; together that was two thirds of the time. Loading is
    itsdangerous's own, so tokens signed either way verify.

    It overrides two methods and skips a level of itsdangerous's serializer (not promised across
    releases; bounded <3 in pyproject.toml): `_serializer` checks it against the stock serializer
    and falls back to the stock one if a release changed what these lean on. An upstream option to
    skip compression and reuse the signer would remove this class."""

    def dump_payload(self, obj: object) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))

    def make_signer(self, salt: str | bytes | None = None) -> Signer:
        if salt is not None and salt != self.salt:
            return super().make_signer(salt)
        signer = self.__dict__.get("_signer")
        if signer is None:
            signer = self.__dict__["_signer"] = super().make_signer(salt)
        return signer


def _serializer(secret: bytes, salt: str) -> URLSafeSerializer:
    """The fast serializer if it signs exactly as the stock one (checked once per purpose), else
    the stock one."""
    options = {"digest_method": hashlib.sha256}
    stock = URLSafeSerializer(secret, salt=salt, signer_kwargs=options)
    fast = _TokenSerializer(secret, salt=salt, signer_kwargs=options)
    probe = ["em_probe", "a@example.com"]
    try:
        agrees = stock.loads(fast.dumps(probe)) == probe and fast.loads(stock.dumps(probe)) == probe
    except Exception:  # whatever a changed release raises
        agrees = False
    if not agrees:
        log.warning("itsdangerous signs differently than the fast token serializer expects: using its own")
        return stock
    return fast


class SecretSigner:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret
        self._serializers: dict[str, URLSafeSerializer] = {}

    def _for(self, purpose: str) -> URLSafeSerializer:
        serializer = self._serializers.get(purpose)
        if serializer is None:
            serializer = self._serializers[purpose] = _serializer(self._secret, f"autorelay:{purpose}")
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
