"""Received mail for the projects' receiving domains: read in a process of its own (so a hostile
message costs the API's process no CPU time, and a read over its time budget is ended by ending
that process), then handed to the core (`receive_mail.receive`).

At most `max_waiting` messages wait to be read; the listener answers 451 beyond, and the sender
tries again later (the same back-pressure as returned mail)."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import Pool

from adapters.inbound_mail.reader import Envelope, Unreadable, read_mail
from adapters.inbound_mail.verify import use_nameserver
from autorelay_core.domain.dmarc import is_rua
from autorelay_core.domain.inbound import ReadMail
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.receive_mail import receive

log = logging.getLogger("autorelay.inbound")

# Reading and checking one message (SPF, DKIM and DMARC wait on DNS, 3 s a lookup at most).
READ_SECONDS = 20.0


class Receiver:
    def __init__(
        self,
        deps: Deps,
        *,
        read_seconds: float = READ_SECONDS,
        max_waiting: int = 4,
        nameserver: str = "",
        authserv_id: str = "autorelay",
    ) -> None:
        """`nameserver`: where the reading process looks SPF, DKIM and DMARC records up ("" for the
        system's); `authserv_id`: the name its Authentication-Results give for this server."""
        self.deps, self.read_seconds, self.max_waiting = deps, read_seconds, max_waiting
        self.nameserver, self.authserv_id = nameserver, authserv_id
        self._waiting = 0
        self._pool: Pool | None = None
        self._lock = threading.Lock()
        # One read at a time: a read over its budget ends the reading process, and only its own.
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="autorelay-receive")

    @property
    def busy(self) -> bool:
        return self._waiting >= self.max_waiting

    def close(self) -> None:
        self._end_reader()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _end_reader(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.terminate()
                self._pool = None

    async def take(
        self, raw: bytes, envelope_from: str, recipients: list[str], *, client_address: str = "", helo: str = ""
    ) -> str:
        """Read and store the message; returns the SMTP reply for DATA."""
        self._waiting += 1
        try:
            reports = any(is_rua(r) for r in recipients)
            envelope = Envelope(client_address, envelope_from, helo, self.authserv_id, reports)
            mail = await asyncio.get_running_loop().run_in_executor(self._executor, self._read, raw, envelope)
        except Unreadable as error:
            log.info("inbound: a message from %s refused: %s", client_address or "?", error)
            if error.temporary:
                return f"451 4.3.0 Message not read: {error}; try again later"
            return f"554 5.6.0 Message refused: {error}"
        finally:
            self._waiting -= 1
        try:
            stored = await receive(
                self.deps, mail, raw, envelope_from, recipients, client_address=client_address, helo=helo
            )
        except Exception as error:  # the store is down: the sender keeps the message and tries again
            log.warning("inbound: a message could not be stored (%s); answered 451", type(error).__name__)
            return "451 4.3.0 The message could not be stored; try again later"
        log.info("inbound: a message of %d bytes stored for %d project(s)", len(raw), len(stored))
        return "250 2.0.0 OK"

    def _read(self, raw: bytes, envelope: Envelope) -> ReadMail:
        pool = self._reader()
        result = pool.apply_async(read_mail, (raw, envelope))
        try:
            return result.get(self.read_seconds)
        except multiprocessing.TimeoutError:
            self._end_reader()  # the reading process is ended with what it was reading
            raise Unreadable(f"not read within {self.read_seconds:g} s", temporary=True) from None
        except Unreadable:
            raise
        except Exception as error:  # the parser's own failure on a malformed message
            raise Unreadable(f"the message could not be read ({type(error).__name__})") from error

    def _reader(self) -> Pool:
        with self._lock:
            if self._pool is None:
                # spawn: a fork of a process running threads and an event loop may copy a held lock.
                context = multiprocessing.get_context("spawn")
                self._pool = context.Pool(1, use_nameserver, (self.nameserver,), maxtasksperchild=200)
            return self._pool
