"""Core errors -> HTTP statuses, in exactly one place for every door that speaks HTTP (the API, the
Resend-compatible API, the dashboard)."""

from __future__ import annotations

from autorelay_core import errors

STATUS = {
    errors.Invalid: 400,
    errors.Unauthenticated: 401,
    errors.QuotaExceeded: 402,
    errors.Forbidden: 403,
    errors.AccountLocked: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.TooLarge: 413,
    errors.Unprocessable: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
}


def status_of(error: errors.AutoRelayError) -> int:
    """The status for a core error; 500 for one no door should meet (a bug to log)."""
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 500)
