"""Time, ids, secrets, the queue, rendering and metrics: the services every use case may call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


class IdGenerator(Protocol):
    def new(self, prefix: str) -> str:
        """A new unguessable id `<prefix>_<hex digits>`, at most 40 of them; never repeats."""


class Sealer(Protocol):
    """Symmetric authenticated encryption with the server secret, for the few things that must be
    stored but not readable there (an OTP email's body waiting in the outbox)."""

    def seal(self, text: str) -> str: ...

    def open(self, sealed: str) -> str: ...


class Signer(Protocol):
    """Tokens signed with the server secret (HMAC): anyone may read what is inside, nobody can forge
    or alter it. `purpose` keeps the tokens of one use from being accepted by another."""

    def sign(self, purpose: str, fields: tuple[str, ...]) -> str: ...

    def unsign(self, purpose: str, token: str) -> tuple[str, ...] | None:
        """The fields, or None for a token that was not signed by us for this purpose."""


class PasswordHasher(Protocol):
    """Slow, salted password hashes (argon2id). CPU-bound: run through Offload."""

    def hash(self, password: str) -> str: ...

    def verify(self, hashed: str, password: str) -> bool:
        """Constant in time whatever is wrong; False for a wrong password or a damaged hash."""


class JobQueue(Protocol):
    def wake(self, eta: datetime | None = None) -> None:
        """Make sure a delivery pass over the outbox starts at `eta` (or soon) somewhere.

        Cheap and non-blocking: adapters may coalesce many wakes into one pass, provided a pass
        starts after every wake. A pass may run more than once or be lost; outbox claims and the
        reconciler make either harmless."""


class TemplateEngine(Protocol):
    def variables(self, source: str) -> set[str]:
        """The variables `source` uses. Invalid (naming the line) if it does not parse."""

    def render(self, source: str, data: dict[str, Any], *, strict: bool, html: bool = True) -> str:
        """Render in a sandbox (no code, no attribute access), HTML-escaping values when `html`.
        strict: Invalid naming any variable missing from `data`; otherwise a missing variable
        renders as an empty string. Bounded: a render past the engine's output, loop or time
        limits is Invalid naming the limit. CPU-bound: run it through Offload."""


class Metrics(Protocol):
    """Counts for operators (the Prometheus adapter exports them). Cheap and non-blocking: called
    on the send and delivery paths."""

    def email_accepted(self, *, test: bool, count: int = 1) -> None: ...

    def email_finished(self, outcome: str, *, mailer: str, latency: float | None = None) -> None:
        """outcome: sent, failed, bounced or deferred; latency: seconds from accepted (or the
        scheduled time) to handed over, for sent mail."""

    def rate_limited(self, endpoint: str) -> None: ...

    def webhook_attempt(self, *, ok: bool) -> None: ...

    def report_ignored(self, count: int) -> None:
        """Addresses a bounce or complaint report named that were not recipients of its email."""


class HtmlToText(Protocol):
    def convert(self, html: str) -> str:
        """A readable plain-text version of an HTML body, in time and memory that stay modest for
        any body (large ones may lose their layout). CPU-bound: run it through Offload."""


class Offload(Protocol):
    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` off the event loop, with few such calls at once (rendering and HTML
        conversion of tenant input), so that one costly template neither stalls the requests
        nor, run a hundred times at once, the memory."""
