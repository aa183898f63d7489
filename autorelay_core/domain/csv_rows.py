"""Contact files, read one way wherever they arrive (the dashboard's upload, `autorelay contacts
import`, a text/csv body on POST /contacts/import): the stdlib's csv module with the delimiter
sniffed (comma, semicolon, tab or bar), UTF-8 with or without a BOM, else Latin-1, blank lines
skipped, each row with the line of the file it starts on. Columns become fields by
`imports.guess_mapping` (email, e-mail, Name, Company, ...)."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from autorelay_core.domain.imports import FIELDS
from autorelay_core.errors import Invalid

MAX_CELL = 1000
DELIMITERS = ",;\t|"


Row = tuple[int, list[str]]  # the line of the file a record starts on, and its cells


def read_rows(data: bytes, *, max_rows: int, max_columns: int) -> tuple[list[str], list[Row]]:
    """The header and each data row of a file held in memory (an upload), read as a stream that
    stops at the first limit: more than `max_rows` rows, a line of more than `max_columns` cells, a
    cell longer than the csv module reads (128 KiB). A row keeps the header's width of cells, each
    cut to MAX_CELL characters, so what is kept is bounded by the limits whatever the file holds.
    CPU-bound: run it through Offload."""
    if b"\x00" in data:
        raise Invalid("This is not a CSV file (it holds binary data)", field="file")
    try:  # decoded as it is read, never whole; a file that is not UTF-8 is read again as Latin-1
        return _listed(io.BytesIO(data), "utf-8-sig", max_rows, max_columns)
    except UnicodeDecodeError:
        return _listed(io.BytesIO(data), "latin-1", max_rows, max_columns)


def _listed(stream: BinaryIO, encoding: str, max_rows: int, max_columns: int) -> tuple[list[str], list[Row]]:
    header, records = stream_rows(stream, encoding, max_columns=max_columns)
    rows: list[Row] = []
    for row in records:
        if len(rows) == max_rows:
            raise Invalid(f"The file has more than {max_rows:,} rows; at most {max_rows:,} per import", field="file")
        rows.append(row)
    return header, rows


def encoding_of(stream: BinaryIO) -> str:
    """ "utf-8-sig" for a file that is UTF-8 throughout (a BOM or not), else "latin-1" (which
    reads any bytes): one pass in blocks, then back to the start."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while block := stream.read(1024 * 1024):
            if b"\x00" in block:
                raise Invalid("This is not a CSV file (it holds binary data)", field="file")
            decoder.decode(block)
        decoder.decode(b"", final=True)
        return "utf-8-sig"
    except UnicodeDecodeError:
        return "latin-1"
    finally:
        stream.seek(0)


def stream_rows(stream: BinaryIO, encoding: str, *, max_columns: int) -> tuple[list[str], Iterator[Row]]:
    """The header, and the data rows as they are read (a file of any size in constant memory)."""
    sample = stream.read(64 * 1024).decode(encoding, "ignore")
    stream.seek(0)
    reader = csv.reader(io.TextIOWrapper(stream, encoding=encoding, newline=""), _dialect(sample))
    records = _records(reader, max_columns)
    for _, cells in records:
        header = [cell.strip()[:MAX_CELL] or f"Column {n + 1}" for n, cell in enumerate(cells)]
        return header, ((line, [cell[:MAX_CELL] for cell in cells[: len(header)]]) for line, cells in records)
    raise Invalid("The file is empty", field="file")


def _dialect(sample: str) -> type[csv.Dialect] | csv.Dialect:
    """The stdlib's Sniffer on the sample's non-blank lines (a blank line between rows makes it give
    up); failing that, the delimiter the header line holds most of; failing that, commas."""
    lines = [line for line in sample.splitlines()[:-1] or sample.splitlines() if line.strip()]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS)
    except csv.Error:
        pass
    header = lines[0] if lines else ""
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    if counts[best] == 0:
        return csv.excel

    class Found(csv.excel):
        delimiter = best

    return Found


def _records(reader: Any, max_columns: int) -> Iterator[Row]:
    ended = 0  # the line the previous record ended on: a record's line is where it starts
    try:
        for cells in reader:
            start, ended = ended + 1, reader.line_num
            if len(cells) > max_columns:
                raise Invalid(f"Line {start} has {len(cells):,} cells; at most {max_columns} per line", field="file")
            if any(cell.strip() for cell in cells):
                yield start, cells
    except csv.Error as error:
        raise Invalid(f"The file is not valid CSV near line {reader.line_num}: {error}", field="file") from None


def mapped_rows(
    header: list[str], rows: Iterable[Row], mapping: dict[str, int]
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, {field: value}) for each row, by a column mapping (field -> column index, as
    `imports.guess_mapping` makes one); empty cells are left out, so a field is given or absent.
    Columns mapped to contact properties come as the row's `properties`."""
    if "email" not in mapping:
        found = ", ".join(header) or "nothing"
        raise Invalid(f"The header row has no email column (found: {found})", field="file")
    return _mapped(rows, mapping)


def _mapped(rows: Iterable[Row], mapping: dict[str, int]) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, cells in rows:
        given = {name: cells[index].strip() for name, index in mapping.items() if index < len(cells)}
        row: dict[str, Any] = {name: value for name, value in given.items() if value and name in FIELDS}
        properties = {name: value for name, value in given.items() if value and name not in FIELDS}
        if properties:  # columns mapped onto contact properties, as an import row carries them
            row["properties"] = properties
        yield line, row
