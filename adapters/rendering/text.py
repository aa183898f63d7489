"""Plain-text alternatives generated from HTML with inscriptis (keeps layout, tables and links).

inscriptis builds a layout model of the whole document: about 90 MB and 0.75 s for 0.5 MB of table
cells. Bodies past LAYOUT_LIMIT get their text without layout instead, read in one pass by lxml's
event parser (the parser inscriptis uses; linear, nothing kept but the text), so no body can make a
conversion costly. (The standard library's HTMLParser is no fallback: it is quadratic on "<a<a<a".)
"""

from __future__ import annotations

from inscriptis import get_text
from inscriptis.model.config import ParserConfig
from lxml import etree

LAYOUT_LIMIT = 256 * 1024
_BLOCKS = frozenset(
    "address article aside blockquote br dd div dl dt footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p "
    "pre section table td th tr ul".split()
)
_HIDDEN = frozenset({"script", "style", "head", "title", "template"})


class _TextOnly:
    """An lxml parser target: keeps the visible text, a line break around each block."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.hidden = 0

    def start(self, tag: str, attrib: object) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def end(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def data(self, text: str) -> None:
        if not self.hidden:
            self.parts.append(text)

    def close(self) -> str:
        lines = (" ".join(line.split()) for line in "".join(self.parts).splitlines())
        return "\n".join(line for line in lines if line)


def text_without_layout(html: str) -> str:
    parser = etree.HTMLParser(target=_TextOnly())
    parser.feed(html)
    return parser.close()


class InscriptisText:
    def __init__(self) -> None:
        self._config = ParserConfig(display_links=True)

    def convert(self, html: str) -> str:
        if not html.strip():
            return ""
        if len(html) > LAYOUT_LIMIT:
            return text_without_layout(html) + "\n"
        return get_text(html, self._config).strip() + "\n"
