"""`autorelay contacts import FILE.csv --list ID`: an operator's bulk import, with a progress bar.

The file is read as the dashboard's upload is read (autorelay_core.domain.csv_rows: the delimiter
sniffed, UTF-8 or Latin-1, columns named like email, name or company in any case), streamed, so
a file of any size fits. Rows go in batches of 1,000, each batch atomic, through the same use case
as POST /contacts/import.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.csv_rows import encoding_of, mapped_rows, stream_rows
from autorelay_core.domain.imports import guess_mapping
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_contacts, manage_properties
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.import_contacts import MAX_COLUMNS

BATCH = 1_000


async def import_file(deps: Deps, caller: Caller, list_id: str, path: Path) -> tuple[int, int, list[str]]:
    """Returns (imported, skipped, problems as 'line N: why')."""
    await manage_contacts.find_list(deps, caller, list_id)  # fail before reading the file
    imported = skipped = 0
    problems: list[str] = []
    batch: list[tuple[int, dict]] = []
    with path.open("rb") as handle:
        total = max(0, sum(1 for _ in handle) - 1)
        handle.seek(0)
        encoding = encoding_of(handle)
        try:
            header, rows = stream_rows(handle, encoding, max_columns=MAX_COLUMNS)
            keys = tuple(p.key for p in await manage_properties.list_properties(deps, caller))
            contacts = mapped_rows(header, rows, guess_mapping(header, keys))
        except Invalid as error:
            raise Invalid(f"{path}: {error.message}") from None
        with tqdm(total=total, unit=" contacts", file=sys.stderr, disable=None) as bar:

            async def flush() -> None:
                nonlocal imported, skipped
                result = await manage_contacts.import_contacts(deps, caller, list_id, [row for _, row in batch])
                imported += result.imported
                skipped += result.skipped
                problems.extend(f"line {batch[index][0]}: {message}" for index, message in result.errors)
                bar.update(len(batch))
                batch.clear()

            for numbered in contacts:
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
