"""Test helpers: a controllable clock, a recording mailer, and core deps over memory adapters."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from adapters.blobs.detect import SignatureDetector
from adapters.limits.memory import MemoryRateLimits
from adapters.mailers.dkim import OwnKeys
from adapters.mailers.handover import handed_over
from adapters.queue.asyncio_queue import AsyncioJobQueue
from adapters.rendering.jinja import JinjaTemplates
from adapters.rendering.text import InscriptisText
from adapters.storage.memory.store import MemoryStorage
from adapters.system.clock_ids import RandomIds
from adapters.system.offload import ThreadOffload
from adapters.system.passwords import Argon2Passwords
from adapters.system.sealing import FernetSealer
from adapters.system.signing import SecretSigner
from adapters.webhooks.payloads import JsonNotices
from adapters.webhooks.poster import outcome_of
from autorelay_core.domain.emails import Email
from autorelay_core.domain.webhooks import PostOutcome
from autorelay_core.ports import Storage
from autorelay_core.usecases.context import CoreConfig, Deps
from autorelay_core.usecases.deliver_email import drain

OFFLOAD = ThreadOffload()  # one pool for every test's deps, as one process has one


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime(2026, 5, 25, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


class RecordingMailer:
    """A mailer port double for unit tests: records what it was asked to send, and can be told to
    fail the next calls (transient or permanent)."""

    def __init__(self) -> None:
        self.sent: list[Email] = []
        self.failures: list[Exception] = []

    async def send(self, email: Email, sent_at: datetime, handover=None) -> str:
        if self.failures:
            raise self.failures.pop(0)
        await handed_over(handover)  # as every real mailer does: LeaseLost when the claim ended
        self.sent.append(email)
        return f"provider-{len(self.sent)}"

    async def close(self) -> None:
        return None


class NoDns:
    """A DNS resolver port double that finds nothing (no record is published)."""

    async def txt(self, name: str) -> list[str]:
        return []

    async def cname(self, name: str) -> list[str]:
        return []

    async def addresses(self, name: str) -> list[str]:
        return []


class RecordingPoster:
    """A webhook poster port double: records what it was asked to post and answers `statuses` in
    turn (200 once they run out)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.posted: list[tuple[str, str, str]] = []  # (url, address, body)

    async def post(self, target, address, secret, delivery, sent_at, shape="autorelay") -> PostOutcome:
        self.posted.append((target.url, address, delivery.body))
        return outcome_of(self.statuses.pop(0) if self.statuses else 200)

    async def close(self) -> None:
        return None


class MemoryBlobs:
    """A blob store port double keeping the bytes in a dict."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str, bool]] = {}

    async def put(self, key: str, data: bytes, content_type: str, *, inline: bool, filename: str) -> None:
        self.files[key] = (data, content_type, inline)

    async def get(self, key: str) -> bytes | None:
        return self.files[key][0] if key in self.files else None

    async def delete(self, key: str) -> None:
        self.files.pop(key, None)

    def url(self, key: str) -> str:
        return f"https://files.example.com/{key}"


class ManualQueue:
    """Records wakes; the test decides when (and whether) delivery passes run."""

    def __init__(self) -> None:
        self.wakes: list[datetime | None] = []

    def wake(self, eta: datetime | None = None) -> None:
        self.wakes.append(eta)


def make_deps(storage: Storage | None = None, *, queue=None, clock: FakeClock | None = None, mailer=None) -> Deps:
    clock = clock or FakeClock()
    mailer = mailer or RecordingMailer()
    if queue is None:
        queue = AsyncioJobQueue(lambda: drain(deps), clock)  # `deps` is bound below, before any pass
    deps = Deps(
        storage=storage or MemoryStorage(),
        mailer=mailer,
        test_mailer=mailer,
        queue=queue,
        clock=clock,
        ids=RandomIds(),
        templates=JinjaTemplates(),
        html_to_text=InscriptisText(),
        rate_limits=MemoryRateLimits(),
        sealer=FernetSealer(b"0" * 32),
        signer=SecretSigner(b"0" * 32),
        domain_provisioner=OwnKeys(FernetSealer(b"0" * 32)),
        dns=NoDns(),
        webhook_poster=RecordingPoster(),
        notice_format=JsonNotices(),
        blobs=MemoryBlobs(),
        content_types=SignatureDetector(),
        offload=OFFLOAD,
        passwords=Argon2Passwords(),
        config=CoreConfig(),
    )
    return deps


async def eventually(condition, within: float = 2.0) -> bool:
    """Wait on the event loop until `condition()` holds (True) or `within` seconds pass (False)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.005)
    return True


def closed_within(sock, seconds: float) -> float:
    """How long the server took to close the connection (reading and dropping what it sends);
    AssertionError when it is still open after `seconds`."""
    import time

    sock.settimeout(seconds)
    started = time.monotonic()
    try:
        while sock.recv(1024):
            pass
    except TimeoutError:
        raise AssertionError(f"still open after {seconds} s") from None
    return time.monotonic() - started
