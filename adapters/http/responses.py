"""JSON responses and the wire format for times."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

from autorelay_core.policies.pagination import OffsetRequest


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 UTC with milliseconds and Z, like JavaScript's toISOString()."""
    if moment is None:
        return None
    # isoformat, not strftime: glibc's %Y does not pad years before 1000 to four digits.
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def pagination(page: OffsetRequest, total: int) -> dict[str, int]:
    """The reference's block for offset pages."""
    return {"total": total, "page": page.page, "pageSize": page.page_size}
