"""Returned mail, however it arrived (the inbound listener, a polled mailbox): the reports in it,
each handed to the core's feedback rule for the email its VERP address names. An address whose
signature does not check out names nothing, so a forged report changes nothing.

Strangers write this mail, so it is read on a thread of its own (never the API's offload pool,
which renders tenants' templates), within a budget (reports.Budget), a few messages waiting at
most (the listener answers 451 beyond: the sender tries again later), and with one log line per
message whatever it holds. A message that cannot be read is kept for an operator, not lost."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from adapters.returned_mail.reports import BUDGET, COMPLAINT, HARD, Budget, NotReadable, read_reports
from autorelay_core.domain.verp import read_verp
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.provider_feedback import Feedback, record_returned

log = logging.getLogger("autorelay.inbound")

KINDS = {HARD: Feedback.PERMANENT_BOUNCE, COMPLAINT: Feedback.COMPLAINT}
KEPT_BYTES = 50 * 1024 * 1024  # unread messages kept at most (the oldest go first)


class Intake:
    def __init__(
        self, deps: Deps, *, keep_dir: Path | None = None, budget: Budget = BUDGET, max_waiting: int = 4
    ) -> None:
        self.deps, self.keep_dir, self.budget, self.max_waiting = deps, keep_dir, budget, max_waiting
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="autorelay-inbound")
        self._waiting = 0

    @property
    def busy(self) -> bool:
        """As many messages wait to be read as may: take no more for now."""
        return self._waiting >= self.max_waiting

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def take(self, content: bytes, addressed_to: Iterable[str], *, keep: bool = True) -> int:
        """Record what the message reports; `addressed_to`: where it was delivered (the envelope's
        recipients, or a mailbox's Delivered-To and To headers). Returns how many emails it changed
        or confirmed; 0 for auto-replies, unrelated mail and forgeries. Safe to repeat: a report
        recorded once is not recorded again. `keep`: keep a message that cannot be read (a
        mailbox keeps its own)."""
        self._waiting += 1
        loop = asyncio.get_running_loop()
        try:
            reports = await loop.run_in_executor(self._executor, read_reports, content, self.budget)
        except Exception as error:  # over the budget, or a parser bug: not read, but never lost
            where = await loop.run_in_executor(self._executor, self._keep, content) if keep else "left in the mailbox"
            if isinstance(error, NotReadable):
                log.info("inbound: a message was not read (%s); %s", error, where)
            else:
                log.warning("inbound: a message could not be read (%s); %s", type(error).__name__, where)
            return 0
        finally:
            self._waiting -= 1
        return await self._record(reports, list(addressed_to))

    async def _record(self, reports: list, addresses: list[str]) -> int:
        config = self.deps.config
        taken, foreign = 0, 0
        for report in reports:
            named = {read_verp(a, config.verp_key, config.bounce_domain) for a in addresses[:50]}
            if report.return_path:
                named.add(read_verp(report.return_path, config.verp_key, config.bounce_domain))
            for email_id in filter(None, named):
                kind = KINDS.get(report.kind, Feedback.TRANSIENT_BOUNCE)
                if await record_returned(self.deps, email_id, kind, report.recipients, report.detail):
                    taken += 1
            if not any(named):
                foreign += 1
        if reports:  # one line a message, however many reports it holds
            log.info(
                "inbound: %d report(s), %d recorded, %d naming no email of ours (forged or foreign); first: %s %.200s",
                len(reports), taken, foreign, reports[0].kind, reports[0].detail,
            )  # fmt: skip
        return taken

    def _keep(self, content: bytes) -> str:
        if self.keep_dir is None:
            return "not kept (no folder for unread mail)"
        self.keep_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{hashlib.sha256(content).hexdigest()[:12]}.eml"
        path = self.keep_dir / name
        path.write_bytes(content)
        path.chmod(0o600)
        kept = sorted(self.keep_dir.glob("*.eml"))
        total = sum(p.stat().st_size for p in kept)
        for old in kept:
            if total <= KEPT_BYTES or old == path:
                break
            total -= old.stat().st_size
            old.unlink()
        return f"kept as {path}"
