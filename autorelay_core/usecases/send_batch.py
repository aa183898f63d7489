"""Send up to 100 emails in one call; each row stands or falls on its own."""

from __future__ import annotations

from attrs import frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.errors import AutoRelayError, Invalid
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.send_email import SendCommand, accept, build_email

MAX_BATCH = 100


@frozen
class BatchRow:
    id: str | None
    to: str | list[str] | None
    status: str  # "sent" (accepted for delivery) or "failed"
    error: str | None


@frozen
class BatchResult:
    batch_id: str
    rows: list[BatchRow]

    @property
    def sent(self) -> int:
        return sum(1 for row in self.rows if row.status == "sent")

    @property
    def failed(self) -> int:
        return len(self.rows) - self.sent


def check_envelope(rows: object) -> list[object]:
    if not isinstance(rows, list):
        raise Invalid("emails must be a list of email objects", field="emails")
    if not rows:
        raise Invalid("emails must contain at least one email", field="emails")
    if len(rows) > MAX_BATCH:
        raise Invalid(f"emails accepts at most {MAX_BATCH} rows, got {len(rows)}", field="emails")
    return rows


async def send_batch(deps: Deps, caller: Caller, rows: list[tuple[SendCommand | Invalid, object]]) -> BatchResult:
    """`rows` pairs each parsed command (or the parse error for that row) with the row's `to` as
    the caller wrote it, so that failed rows still say whom they were for."""
    check_envelope(rows)
    results = []
    for parsed, to in rows:
        shown_to = to if isinstance(to, (str, list)) else None
        try:
            if isinstance(parsed, Invalid):
                raise parsed
            email, billed = await build_email(deps, caller, parsed)
            await accept(deps, email, billed)
        except AutoRelayError as error:
            results.append(BatchRow(id=None, to=shown_to, status="failed", error=error.message))
            continue
        results.append(BatchRow(id=email.id, to=shown_to, status="sent", error=None))
    return BatchResult(batch_id=deps.ids.new("batch"), rows=results)
