"""CSV in and out of the dashboard: uploaded files read with the stdlib's csv module (the delimiter
sniffed, UTF-8 with or without a BOM, else Latin-1), and exports written so that a spreadsheet
never runs a cell as a formula."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from autorelay_core.errors import Invalid

MAX_CELL = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def read_rows(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and each data row with its line in the file (blank lines skipped). CPU-bound:
    run it through Offload."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    if "\x00" in text:
        raise Invalid("This is not a CSV file (it holds binary data)", field="file")
    sample = text[: 64 * 1024]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    ended = 0  # the line the previous record ended on: a record's line is where it starts
    try:
        for cells in reader:
            start, ended = ended + 1, reader.line_num
            if not any(cell.strip() for cell in cells):
                continue
            cells = [cell[:MAX_CELL] for cell in cells]
            if header is None:
                header = [cell.strip() or f"Column {n + 1}" for n, cell in enumerate(cells)]
            else:
                rows.append((start, cells))
    except csv.Error as error:
        raise Invalid(f"The file is not valid CSV near line {reader.line_num}: {error}", field="file") from None
    if header is None:
        raise Invalid("The file is empty", field="file")
    return header, rows


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
