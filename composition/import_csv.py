"""`autorelay contacts import FILE.csv --list ID`: an operator's bulk import, with a progress bar.

The file needs a header row with an `email` column; `name` and `company` are used when present
(column names are matched case-insensitively; other columns are ignored). Rows go in batches of
1,000, each batch atomic, through the same use case as POST /contacts/import.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path

from tqdm import tqdm

from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_contacts
from autorelay_core.usecases.context import Deps

BATCH = 1_000


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number where it begins, row) for each data row."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = {name.strip().lower(): name for name in reader.fieldnames or []}
        if "email" not in columns:
            raise Invalid(f"{path}: the header row has no 'email' column (found: {', '.join(columns) or 'nothing'})")
        start = reader.line_num + 1  # where the row begins: a quoted field may span lines
        for row in reader:
            picked = {field: row[columns[field]] for field in ("email", "name", "company") if field in columns}
            yield start, {k: v for k, v in picked.items() if v not in (None, "")}
            start = reader.line_num + 1


async def import_file(deps: Deps, project_id: str, list_id: str, path: Path) -> tuple[int, int, list[str]]:
    """Returns (imported, skipped, problems as 'line N: why')."""
    await manage_contacts.find_list(deps, project_id, list_id)  # fail before reading the file
    with path.open(newline="", encoding="utf-8-sig") as handle:
        total = max(0, sum(1 for _ in handle) - 1)
    imported = skipped = 0
    problems: list[str] = []
    batch: list[tuple[int, dict[str, str]]] = []
    with tqdm(total=total, unit=" contacts", file=sys.stderr, disable=None) as bar:

        async def flush() -> None:
            nonlocal imported, skipped
            result = await manage_contacts.import_contacts(deps, project_id, list_id, [row for _, row in batch])
            imported += result.imported
            skipped += result.skipped
            problems.extend(f"line {batch[index][0]}: {message}" for index, message in result.errors)
            bar.update(len(batch))
            batch.clear()

        for numbered in _rows(path):
            hostile = manage_contacts.hostile_field(0, numbered[1])
            if hostile is not None:  # reported by line, like the API names the row; not imported
                problems.append(f"line {numbered[0]}: {hostile.message.removeprefix('contacts[0].')}")
                bar.update(1)
                continue
            batch.append(numbered)
            if len(batch) == BATCH:
                await flush()
        if batch:
            await flush()
    return imported, skipped, problems
