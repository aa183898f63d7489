"""Plain-text alternatives generated from HTML with inscriptis (keeps layout, tables and links)."""

from __future__ import annotations

from inscriptis import get_text
from inscriptis.model.config import ParserConfig


class InscriptisText:
    def __init__(self) -> None:
        self._config = ParserConfig(display_links=True)

    def convert(self, html: str) -> str:
        if not html.strip():
            return ""
        return get_text(html, self._config).strip() + "\n"
