"""What the relay answers when the core refuses a message: SMTP reply codes with the core's own
words, so that a client's log shows the real reason."""

from __future__ import annotations

from autorelay_core.errors import (
    AccountLocked,
    AutoRelayError,
    Conflict,
    Forbidden,
    Invalid,
    QuotaExceeded,
    RateLimited,
    TooLarge,
    Unavailable,
    Unprocessable,
)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:400]


def reply_for(error: AutoRelayError) -> str:
    message = _one_line(error.message)
    if isinstance(error, RateLimited):
        return f"451 4.7.1 {message} (retry in {error.retry_after} s)"
    if isinstance(error, Unavailable):
        return f"451 4.3.0 {message} (retry in {error.retry_after} s)"
    if isinstance(error, Conflict):  # the same Message-ID is being accepted right now
        return f"451 4.3.0 {message}"
    if isinstance(error, QuotaExceeded):
        return f"552 5.3.4 {message}"
    if isinstance(error, TooLarge):
        return f"552 5.3.4 {message}"
    if isinstance(error, AccountLocked):
        return f"554 5.7.1 {message}"
    if isinstance(error, Forbidden):
        return f"550 5.7.1 {message}"
    if isinstance(error, Invalid) and error.field == "from":
        return f"553 5.7.1 {message}"
    if isinstance(error, Unprocessable):
        return f"554 5.6.0 {message}"
    if isinstance(error, Invalid):
        return f"550 5.6.0 {message}"
    return f"451 4.3.0 {message}"
