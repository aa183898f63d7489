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


def read_rows(data: bytes, *, max_rows: int, max_columns: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and each data row with its line in the file (blank lines skipped), read as a
    stream that stops at the first limit: more than `max_rows` rows, a line of more than
    `max_columns` cells, a cell longer than the csv module reads (128 KiB). A row keeps the
    header's width of cells, each cut to MAX_CELL characters, so what is kept is bounded by the
    limits whatever the file holds. CPU-bound: run it through Offload."""
    if b"\x00" in data:
        raise Invalid("This is not a CSV file (it holds binary data)", field="file")
    try:  # decoded as it is read, never whole; a file that is not UTF-8 is read again as Latin-1
        return _read(data, "utf-8-sig", max_rows, max_columns)
    except UnicodeDecodeError:
        return _read(data, "latin-1", max_rows, max_columns)


def _read(data: bytes, encoding: str, max_rows: int, max_columns: int) -> tuple[list[str], list[tuple[int, list[str]]]]:
    sample = data[: 64 * 1024].decode(encoding, "ignore")
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline=""), dialect)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    ended = 0  # the line the previous record ended on: a record's line is where it starts
    try:
        for cells in reader:
            start, ended = ended + 1, reader.line_num
            if len(cells) > max_columns:
                raise Invalid(f"Line {start} has {len(cells):,} cells; at most {max_columns} per line", field="file")
            if not any(cell.strip() for cell in cells):
                continue
            if header is None:
                header = [cell.strip()[:MAX_CELL] or f"Column {n + 1}" for n, cell in enumerate(cells)]
                continue
            if len(rows) == max_rows:
                raise Invalid(
                    f"The file has more than {max_rows:,} rows; at most {max_rows:,} per import", field="file"
                )
            rows.append((start, [cell[:MAX_CELL] for cell in cells[: len(header)]]))
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
