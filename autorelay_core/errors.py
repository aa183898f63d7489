"""One error hierarchy for the whole core.

Errors carry data, never HTTP status codes: the HTTP adapter maps each type to a status in one place.
"""

from __future__ import annotations


class AutoRelayError(Exception):
    """Base of every error the core raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Invalid(AutoRelayError):
    """The caller sent something that breaks a rule; `field` names the offending input when known."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class CodeRejected(Invalid):
    """A one-time code that does not verify: wrong, expired, used up or never sent."""


class NotFound(AutoRelayError):
    """The object does not exist, or belongs to another project (never leak which)."""


class Conflict(AutoRelayError):
    """The request clashes with the current state of an object."""


class InFlight(Conflict):
    """The same Idempotency-Key is held by a request still running."""


class Unprocessable(AutoRelayError):
    """Well-formed but unusable: an idempotency key reused with a different request."""


class Unauthenticated(AutoRelayError):
    """No key, a malformed key, an unknown key or a revoked key."""


class Forbidden(AutoRelayError):
    """The key is valid but may not do this (missing scope)."""


class AccountLocked(AutoRelayError):
    """The project's reputation state blocks the request."""

    def __init__(self, message: str, *, account_status: str) -> None:
        super().__init__(message)
        self.account_status = account_status


class QuotaExceeded(AutoRelayError):
    """A plan or sandbox quota would be exceeded; nothing was sent."""


class RateLimited(AutoRelayError):
    """Too many requests in the window; retry after `retry_after` whole seconds.
    `policy` names the limit that was hit: (name, count, window seconds)."""

    def __init__(self, message: str, *, retry_after: int, policy: tuple[str, int, float] | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.policy = policy


class Unavailable(AutoRelayError):
    """A backend (the database, the queue) cannot answer now: locked, down or out of connections.
    Nothing was done; the same request may be retried after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooLarge(AutoRelayError):
    """A body, upload or attachment is over its size limit."""


class MailerError(AutoRelayError):
    """Raised by mailer adapters. `permanent` failures are not retried; `bounced` names the
    recipients the next hop refused for good (a hard bounce), which are then suppressed;
    `throttled`: the provider refused the call for its sending rate (the email waits a moment and
    goes again, without spending one of its retries)."""

    def __init__(
        self, message: str, *, permanent: bool, bounced: tuple[str, ...] = (), throttled: bool = False
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.bounced = bounced
        self.throttled = throttled


class LeaseLost(MailerError):
    """Raised at the hand-over when the email's claim has ended (its lease ran out and the
    reconciler or another worker took the row): nothing left, and this holder records nothing.
    Not a failure of the email: it spends none of its retries and tells the pacer nothing."""

    def __init__(self) -> None:
        super().__init__("the email's lease ran out before it was handed over; another worker has it", permanent=False)


class WebhookError(AutoRelayError):
    """Raised by the webhook poster when an endpoint gave no answer (refused, timed out, TLS)."""
