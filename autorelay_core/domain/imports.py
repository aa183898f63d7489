"""Contact imports from a file, run as a background job in chunks.

An import is uploaded as rows (the file's columns), mapped to contact fields (which column is the
email, the name, the company), then processed a chunk at a time by whichever process holds its
lease. A chunk's contacts get ids derived from the import and the row's line, so a chunk redone
after a crash recognises the contacts it already inserted and counts them once.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum

from attrs import define, field

CHUNK_ROWS = 1000
FIELDS = ("email", "name", "company")
# Invalid rows are reported with their line; past this many the rest are only counted.
MAX_REPORTED = 10_000


# A chunk of a file's rows as an import job keeps them: (line number, cells), in file order.
ImportRows = list[tuple[int, list[str]]]


class ImportStatus(StrEnum):
    MAPPING = "mapping"  # uploaded; waiting for the columns to be matched to fields
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"  # the list was deleted meanwhile, or a refusal no retry can fix


@define
class ContactImport:
    id: str
    project_id: str
    list_id: str
    filename: str
    header: list[str]
    total: int  # data rows in the file
    created_at: datetime
    status: ImportStatus = ImportStatus.MAPPING
    mapping: dict[str, int] = field(factory=dict)  # field -> column index
    chunks_done: int = 0
    imported: int = 0
    skipped: int = 0
    invalid_count: int = 0  # the rows themselves: ImportRepository.invalid_rows
    error: str | None = None
    finished_at: datetime | None = None

    @property
    def chunks(self) -> int:
        return -(-self.total // CHUNK_ROWS)

    @property
    def processed(self) -> int:
        return min(self.total, self.chunks_done * CHUNK_ROWS)

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)


@define
class ChunkResult:
    """What one chunk added to the import's counts."""

    imported: int = 0
    skipped: int = 0
    invalid: list[tuple[int, str, str]] = field(factory=list)


def contact_id_for(import_id: str, line: int) -> str:
    """The id the contact from this line of this import gets: the same every time the chunk runs."""
    digest = hashlib.sha256(f"{import_id}:{line}".encode()).hexdigest()[:24]
    return f"con_{digest}"


def guess_mapping(header: list[str], properties: tuple[str, ...] = ()) -> dict[str, int]:
    """Columns named like a field (any case, spaces and common synonyms) or like one of the
    project's contact properties (`properties`, their keys) map without asking."""
    names = {
        "email": {"email", "e-mail", "email address", "e-mail address", "mail", "address"},
        "name": {"name", "full name", "fullname", "first name", "contact name"},
        "company": {"company", "organisation", "organization", "company name", "org"},
    }
    mapping: dict[str, int] = {}
    for index, column in enumerate(header):
        key = column.strip().lower().replace("_", " ")
        for name, synonyms in names.items():
            if key in synonyms and name not in mapping:
                mapping[name] = index
        as_key = key.replace(" ", "_").replace("-", "_")
        if as_key in properties and as_key not in mapping and index not in mapping.values():
            mapping[as_key] = index
    return mapping
