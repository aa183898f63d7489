"""VERP return paths: each message's envelope sender names the email, so a bounce or a complaint
that comes back as mail says which email it is about.

`b+<email id>-<tag>@<bounce domain>`, where the tag is an HMAC of the email id with a key derived
from the server secret: a forged or altered address names no email. The local part stays under
RFC 5321's 64 octets (an email id is 35 characters, the tag 16).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

PREFIX = "b+"
_LOCAL = re.compile(r"^b\+(em_[0-9a-f]{1,40})-([a-z2-7]{16})$")


def _tag(email_id: str, key: bytes) -> str:
    digest = hmac.new(key, email_id.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:16]


def verp_address(email_id: str, key: bytes, domain: str) -> str:
    return f"{PREFIX}{email_id}-{_tag(email_id, key)}@{domain}"


def read_verp(address: str, key: bytes, domain: str) -> str | None:
    """The email id a return path names, or None (another domain, another shape, a wrong tag)."""
    local, _, at = address.strip().strip("<>").rpartition("@")
    if not domain or at.lower() != domain.lower():
        return None
    found = _LOCAL.match(local.lower())
    if found is None:
        return None
    email_id, tag = found.groups()
    return email_id if hmac.compare_digest(tag, _tag(email_id, key)) else None
