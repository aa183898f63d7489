"""What a file is, from its first bytes (the `filetype` library's signatures), never its name."""

from __future__ import annotations

import filetype


class SignatureDetector:
    def detect(self, head: bytes) -> str | None:
        kind = filetype.guess(head)
        return kind.mime if kind is not None else None
