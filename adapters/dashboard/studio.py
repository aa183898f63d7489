"""What the template studio does to HTML on its way in and out of the visual editor.

Email clients ignore most <style> sheets, so a save inlines the editor's CSS into style attributes
(css-inline, a well-kept Rust inliner) and keeps only at-rules (media queries) in the head. Remote
stylesheets are never fetched: a tenant's <link> must not make the server request a URL.
"""

from __future__ import annotations

import re

import css_inline

# Bounds what one save can make the inliner chew through; the result is checked again by the
# template rules (MAX_TEMPLATE_CHARS).
MAX_EDITOR_CHARS = 2 * 1024 * 1024

_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=True, keep_link_tags=False)
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S | re.I)

STARTER = (
    '<table role="presentation" style="width:100%;max-width:600px;margin:0 auto;'
    'font-family:Arial,Helvetica,sans-serif;color:#1c2330">'
    '<tr><td style="padding:24px">'
    '<h1 style="font-size:24px;margin:0 0 12px">Hello {{ name }}</h1>'
    '<p style="font-size:16px;line-height:1.5;margin:0">Write your message here.</p>'
    "</td></tr></table>"
)


_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.I)
# The inliner applies the editor's `* { box-sizing: ... }` to every element, <head> and <meta>
# included; a style there means nothing and clutters the source a person reads.
_HEAD_STYLE = re.compile(r"(<(?:html|head|meta|title|link|style)\b[^>]*?)\s+style=\"[^\"]*\"", re.I)


def email_safe(html: str, css: str) -> str:
    """The editor's HTML and CSS as one document with the CSS inlined: one doctype, no styles on
    the head's elements. CPU-bound: run it through Offload."""
    document = (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{css}</style></head><body>{html}</body></html>"
    )
    inlined = _DOCTYPE.sub("", _INLINER.inline(document), count=1)
    head, body_start, rest = inlined.partition("<body")
    return "<!doctype html>" + _HEAD_STYLE.sub(r"\1", head) + body_start + rest


_TAG = re.compile(r"<[^>]*>")


def has_content(html: str) -> bool:
    """Whether the editor's body shows anything: text (a variable counts) or an image."""
    text = _TAG.sub(" ", html).replace("&nbsp;", " ")
    return bool(text.strip()) or "<img" in html.lower()


def for_editor(html: str) -> tuple[str, str]:
    """A stored template split back into what the editor loads: the body's content and the CSS
    left in <style> elements (the media queries a save kept)."""
    found = _BODY.search(html)
    body = found.group(1) if found else html
    css = "\n".join(_STYLE.findall(html[: found.start()] if found else ""))
    return body, css
