"""The token signer (itsdangerous): its fast serializer signs exactly as itsdangerous's own, so tokens
made by either verify with the other; tampering is refused; and if a release changed what the fast
path leans on, the signer falls back to the stock serializer and keeps working."""

from __future__ import annotations

import hashlib
import logging

from itsdangerous import URLSafeSerializer

from adapters.system import signing
from adapters.system.signing import SecretSigner

SECRET = b"s" * 32


def _stock(purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(SECRET, salt=f"autorelay:{purpose}", signer_kwargs={"digest_method": hashlib.sha256})


def test_fast_tokens_are_the_stock_serializers_tokens():
    signer = SecretSigner(SECRET)
    token = signer.sign("unsubscribe", ("em_1", "a@example.com"))
    assert _stock("unsubscribe").loads(token) == ["em_1", "a@example.com"]
    assert signer.unsign("unsubscribe", _stock("unsubscribe").dumps(["em_2", "b@example.com"])) == (
        "em_2",
        "b@example.com",
    )
    assert signer.unsign("track", token) is None  # another purpose's salt
    assert signer.unsign("unsubscribe", token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None


def test_a_release_that_breaks_the_fast_path_gets_the_stock_serializer(monkeypatch, caplog):
    def changed(self, obj):  # what a changed itsdangerous might make of the override
        return b"not what it used to be"

    monkeypatch.setattr(signing._TokenSerializer, "dump_payload", changed)
    with caplog.at_level(logging.WARNING, logger="autorelay"):
        signer = SecretSigner(SECRET)
        token = signer.sign("unsubscribe", ("em_1", "a@example.com"))
    assert "using its own" in caplog.text
    assert _stock("unsubscribe").loads(token) == ["em_1", "a@example.com"]
    assert signer.unsign("unsubscribe", token) == ("em_1", "a@example.com")
