"""API keys: `ak_live_<64 hex>` or `ak_test_<64 hex>`, shown once, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime
from enum import StrEnum

from attrs import define

from autorelay_core.errors import Invalid

SCOPES = (
    "emails.send",
    "emails.read",
    "contacts.write",
    "contacts.read",
    "campaigns.write",
    "campaigns.read",
    "assets.write",
    "assets.read",
    "domains.write",
    "webhooks.write",
    "stats.read",
    "templates.write",
    "templates.read",
    "inbound.read",
    "inbound.write",
)
FULL = "full"

_KEY_SHAPE = re.compile(r"^ak_(live|test)_[0-9a-f]{64}$")


class KeyMode(StrEnum):
    LIVE = "live"
    TEST = "test"


def hash_key(plain: str) -> str:
    # A fast hash is right here: the key has 256 bits of entropy, so there is nothing to brute-force.
    return hashlib.sha256(plain.encode("ascii")).hexdigest()


def new_plain_key(mode: KeyMode) -> str:
    return f"ak_{mode.value}_{secrets.token_hex(32)}"


def looks_like_key(value: str) -> bool:
    return bool(_KEY_SHAPE.match(value))


def check_scopes(scopes: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not scopes:
        return (FULL,)
    unknown = [s for s in scopes if s != FULL and s not in SCOPES]
    if unknown:
        raise Invalid(f"unknown scope(s): {', '.join(unknown)}; known: full, {', '.join(SCOPES)}")
    return tuple(dict.fromkeys(scopes))


@define
class ApiKey:
    id: str
    project_id: str
    name: str
    mode: KeyMode
    key_hash: str
    last4: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None  # to the minute: written at most once a minute (authenticate)

    @property
    def is_test(self) -> bool:
        return self.mode is KeyMode.TEST

    def allows(self, scope: str) -> bool:
        return FULL in self.scopes or scope in self.scopes
