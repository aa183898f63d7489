"""Dashboard users: people (not API keys) who sign in with an email and a password, members of one
or more projects with a role, and their server-side sessions.

Nothing secret is stored in the clear: the password as an argon2id hash (PasswordHasher port), a
session as the SHA-256 of its cookie's random token, a sign-in link not at all (it is a signed
token naming the user and their `link_version`, which every use or new link moves on).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from attrs import define, frozen

from autorelay_core.errors import Invalid

LINK_LIFETIME = timedelta(hours=24)
SESSION_IDLE = timedelta(hours=2)  # signed out after this long without a request
SESSION_LIFETIME = timedelta(days=7)  # and after this long whatever happens
SEEN_EVERY = timedelta(minutes=1)  # a session's last-seen time is written at most this often
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # argon2 takes any length; a bound keeps a stranger's megabyte off the hasher


class Role(StrEnum):
    OWNER = "owner"  # manages keys, members and settings
    MEMBER = "member"  # uses the rest


@define
class User:
    id: str
    email: str  # stored as given, compared lower-cased
    created_at: datetime
    password_hash: str | None = None  # None until the user sets one through a sign-in link
    link_version: int = 0


@frozen
class Membership:
    user_id: str
    project_id: str
    role: Role


@define
class Session:
    id: str  # SHA-256 of the cookie's token
    user_id: str
    created_at: datetime
    seen_at: datetime
    project_id: str = ""  # the project the pages show (switchable among the user's memberships)

    def expired(self, now: datetime) -> bool:
        return now - self.seen_at > SESSION_IDLE or now - self.created_at > SESSION_LIFETIME

    def due_for_touch(self, now: datetime) -> bool:
        return now - self.seen_at >= SEEN_EVERY


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def session_id(token: str) -> str:
    # A fast hash is right here: the token has 256 bits of entropy, nothing to brute-force.
    return hashlib.sha256(token.encode()).hexdigest()


def check_password(password: object) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise Invalid(f"the password needs at least {MIN_PASSWORD} characters", field="password")
    if len(password) > MAX_PASSWORD:
        raise Invalid(f"the password may have at most {MAX_PASSWORD} characters", field="password")
    return password
