"""One-time codes: 6 digits from the OS CSPRNG, valid 10 minutes, single use, 5 wrong tries and the
code is dead. Stored only as an HMAC (keyed with the server secret) and compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from attrs import define

DIGITS = 6
LIFETIME = timedelta(minutes=10)
MAX_WRONG = 5
PURPOSES = ("subscribe", "login", "verify", "reset")


@define
class OtpCode:
    id: str
    project_id: str
    email_key: str
    purpose: str
    code_hash: str
    created_at: datetime
    expires_at: datetime
    wrong: int = 0
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and self.wrong < MAX_WRONG and now < self.expires_at


def new_code() -> str:
    return f"{secrets.randbelow(10**DIGITS):0{DIGITS}d}"


def code_hash(key: bytes, project_id: str, email_key: str, purpose: str, code: str) -> str:
    """The code bound to who it was sent to and why, so a stored hash is useless anywhere else."""
    message = "\x1f".join((project_id, email_key, purpose, code)).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same_hash(stored: str, presented: str) -> bool:
    return hmac.compare_digest(stored.encode(), presented.encode())
