"""The suppression list as a person or a key changes it: adding an address by hand, lifting one
(the bounces and complaints that put most there come through provider_feedback)."""

from __future__ import annotations

from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.headers import one_line_problem
from autorelay_core.domain.suppressions import Suppression, SuppressionReason
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.context import Deps


async def lift_suppression(deps: Deps, caller: Caller, address: str) -> str:
    """Take `address` off the project's list (compared lower-cased, as stored); NotFound when it
    was not on it. Returns the address as given, stripped."""
    project_id = caller.project_id
    address = address.strip()
    if not await deps.storage.suppressions.remove(project_id, address.lower()):
        raise NotFound(f"{address} is not suppressed")
    return address


async def add_suppression(deps: Deps, caller: Caller, address: str, note: str = "") -> bool:
    """Suppress `address` for the project (no email is sent to it from now on); False when it was
    suppressed already (it keeps its first entry and reason)."""
    checked = check_address(address, "email")
    problem = one_line_problem(note)
    if problem is not None:
        raise Invalid(f"the note {problem}", field="note")
    project_id = caller.project_id
    if await deps.storage.suppressions.matching(project_id, [checked.lower()]):
        return False
    entry = Suppression(project_id, checked, SuppressionReason.MANUAL, deps.clock.now(), note.strip()[:200])
    await deps.storage.suppressions.add(entry)
    return True


async def suppression_page(deps: Deps, caller: Caller, limit: int, after: str | None) -> list[Suppression]:
    """Up to `limit` suppressions in address order, after the address `after`."""
    project_id = caller.project_id
    return await deps.storage.suppressions.page(project_id, limit, after)
