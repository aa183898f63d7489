"""Assets: files a project uploads once and links from its emails (or attaches to them).

The category comes from the bytes (detected by the content detector port), never from the name or
the client's claimed type; only types a browser shows harmlessly are served inline.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from attrs import define

MAX_BYTES = 2 * 1024 * 1024
CATEGORIES = ("image", "pdf", "document", "video", "audio", "other")
UNKNOWN_TYPE = "application/octet-stream"

_DOCUMENTS = {
    "application/msword",
    "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/rtf",
    "application/epub+zip",
}
_DOCUMENT_PREFIXES = ("application/vnd.openxmlformats-officedocument.", "application/vnd.oasis.opendocument.")
# Shown in the browser; everything else is served as a download, so that no upload (HTML, SVG,
# anything unknown) can ever run script on AutoRelay's origin.
_INLINE = {
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
    "image/avif",
    "image/bmp",
    "image/x-icon",
    "application/pdf",
    "video/mp4",
    "video/webm",
    "audio/mpeg",
    "audio/ogg",
    "audio/mp4",
    "audio/aac",
    "audio/x-wav",
}


def category_of(content_type: str) -> str:
    if content_type == "application/pdf":
        return "pdf"
    if content_type in _DOCUMENTS or content_type.startswith(_DOCUMENT_PREFIXES):
        return "document"
    family = content_type.split("/", 1)[0]
    return family if family in ("image", "video", "audio") else "other"


def served_inline(content_type: str) -> bool:
    return content_type in _INLINE


def safe_name(raw: str | None) -> str:
    """The file name without any path, control or quoting characters, at most 200 characters
    (extension kept); "file" when nothing usable is left."""
    name = unicodedata.normalize("NFC", (raw or "").replace("\\", "/").rsplit("/", 1)[-1])
    kept = "".join(
        ch if (ch.isalnum() or ch in "._- ()") and unicodedata.category(ch)[0] != "C" else "_" for ch in name
    )
    kept = " ".join(kept.split()).lstrip(".")  # no hidden files, no runs of spaces
    if not kept.strip("._- "):
        return "file"
    if len(kept) > 200:
        stem, dot, extension = kept.rpartition(".")
        kept = (stem[: 200 - len(extension) - 1] + dot + extension) if dot and len(extension) <= 16 else kept[:200]
    return kept


@define
class Asset:
    id: str
    project_id: str
    name: str
    content_type: str
    category: str
    size: int
    key: str  # where the blob store keeps it
    created_at: datetime
