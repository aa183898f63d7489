"""uvicorn's HTTP protocol with deadlines for slow clients (slowloris).

uvicorn closes idle keep-alive connections, but a client that trickles its request line and headers
a byte at a time, or its body, holds the connection (and a slot of the server) for as long as it
likes, and uvicorn has no setting for it. Here each request must finish its head within
`header_timeout` seconds of its first byte, and its body within `body_timeout` of the end of the
head; past that the connection is closed.

This subclasses uvicorn's HttpToolsProtocol (not public API): its parser callbacks and the `loop`
and `transport` it keeps. uvicorn is pinned below the next minor that could change them
(pyproject.toml), and `deadline_protocol()` checks them: a uvicorn without them gets its own
protocol, with a warning that says what is lost (the keep-alive timeout and the connection limit
still hold). tests/contract/test_http_deadlines.py covers both, on asyncio and on uvloop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("autorelay.http")

# The parser callbacks the deadlines hook, and what HttpToolsProtocol.__init__ must set for them.
_CALLBACKS = ("connection_made", "connection_lost", "on_message_begin", "on_headers_complete", "on_message_complete")
_STATE = ("loop", "transport")


class DeadlineHttpProtocol(HttpToolsProtocol):
    header_timeout = 10.0
    body_timeout = 30.0
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout)  # a connection that never sends a request is closed too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self.body_timeout)

    def on_message_complete(self) -> None:
        self._disarm()  # the request is in: from here on it is the application's time
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def deadline_protocol(header_timeout: float, body_timeout: float, base: type[Any] = HttpToolsProtocol) -> type[Any]:
    """The protocol class for uvicorn's `http=`: DeadlineHttpProtocol with these timeouts, or, on a
    uvicorn whose HttpToolsProtocol (`base`) lacks what it hooks, `base` itself (and a warning)."""
    missing = [name for name in _CALLBACKS if not callable(getattr(base, name, None))]
    missing += [name for name in _STATE if not _sets(base, name)]
    if missing:
        log.warning(
            "this uvicorn's HttpToolsProtocol has no %s: slow clients are not cut off by "
            "AUTORELAY_HEADER_TIMEOUT_SECONDS/BODY_TIMEOUT_SECONDS (only uvicorn's keep-alive timeout "
            "and the connection limit apply); pin uvicorn as pyproject.toml does",
            ", ".join(missing),
        )
        return base
    timeouts = {"header_timeout": header_timeout, "body_timeout": body_timeout}
    return type(DeadlineHttpProtocol.__name__, (DeadlineHttpProtocol,), timeouts)


def _sets(cls: type[Any], name: str) -> bool:
    """Whether the class (or its __init__) gives instances this attribute."""
    if hasattr(cls, name):
        return True
    init = getattr(cls, "__init__", None)
    code = getattr(init, "__code__", None)
    return code is not None and name in code.co_names
