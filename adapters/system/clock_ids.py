"""The real clock and the real id generator."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class RandomIds:
    """`<prefix>_` + 24 base32 characters: 120 random bits from the OS CSPRNG."""

    def new(self, prefix: str) -> str:
        return f"{prefix}_{base64.b32encode(secrets.token_bytes(15)).decode('ascii').lower()}"
