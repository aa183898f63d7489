"""Contact exports from the dashboard, written so that a spreadsheet never runs a cell as a formula.
(Files coming in are read by autorelay_core.domain.csv_rows, the one reader of every door.)"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """A cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_line(cells: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([safe_cell(cell) for cell in cells])
    return buffer.getvalue()


def write_rows(header: list[str], rows: Iterable[Iterable[object]]) -> Iterator[str]:
    """CSV text, a line at a time (for a streamed download)."""
    yield csv_line(header)
    for row in rows:
        yield csv_line(row)
