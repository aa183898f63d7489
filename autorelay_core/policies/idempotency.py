"""Idempotency keys: what is checked, what is remembered, and for how long.

Scope is (project, key). The first request with a key claims it atomically; a repeat with the same
method, route and body gets the stored answer back unchanged, a repeat with anything else is refused
(422), and a repeat while the first is still running is told so (409). Answers the operation
produced itself are stored (2xx and 4xx from validation); 401, 429, a 409 for a request in flight
and 5xx are not, so the client can simply retry.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from attrs import frozen

from autorelay_core.errors import (
    AccountLocked,
    AutoRelayError,
    Forbidden,
    Invalid,
    NotFound,
    QuotaExceeded,
    TooLarge,
    Unprocessable,
)

RETENTION = timedelta(hours=24)
# A claim still "in flight" after this long belongs to a process that died mid-request.
IN_FLIGHT_LEASE = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
METHODS = frozenset({"POST", "PUT", "PATCH"})


def check_key(key: str) -> str:
    if not key.strip():
        raise Invalid("Idempotency-Key must not be empty", field="Idempotency-Key")
    if len(key) > MAX_KEY_LENGTH:
        raise Invalid(f"Idempotency-Key may be at most {MAX_KEY_LENGTH} characters", field="Idempotency-Key")
    return key


def fingerprint(target: str, body: bytes) -> str:
    """What "the same request" means: the same method, concrete path and query ("PUT
    /api/v1/contacts/con_1?x=1"), byte for byte the same body."""
    return hashlib.sha256(target.encode() + b"\n" + body).hexdigest()


# Refusals the same request always meets again: kept, so a retry with the key gets the same answer.
# Others may pass (missing credentials, a conflict with another request, a rate limit, the service
# being unavailable, a failure of ours): the key is released, and a retry runs the request again.
_LASTING = (Invalid, NotFound, Forbidden, AccountLocked, QuotaExceeded, TooLarge, Unprocessable)


def replayable(error: AutoRelayError | None) -> bool:
    """Whether an answer is kept for the key's retries: a success (no error), or a lasting refusal."""
    return error is None or isinstance(error, _LASTING)


@frozen
class StoredResponse:
    status: int
    content_type: str
    body: bytes


@frozen
class Existing:
    """Another request holds or held the key."""

    fingerprint: str
    response: StoredResponse | None  # None while that request is still running
