"""What may go into a message header: one line of text, and header names as RFC 5322 defines them.

Checked twice: when a value enters the system (400 naming the field), and on every rendered
header right before a message is built, since a template, an older row or a new code path could
still produce a line break there; such a message fails instead of being sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# Every character Python's email package (str.splitlines) treats as ending a line. Any of them in a
# header value would either be refused when the message is built or split the header in two.
LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")
# Unicode's control characters (Cc: C0, DEL, C1), the two line breaks outside them, and lone
# surrogates (a Python str may hold them; no encoding can write them into a message).
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_SURROGATES = re.compile(r"[\ud800-\udfff]")
_HEADER_NAME = re.compile(r"[!-9;-~]+")  # printable ASCII except ':' (RFC 5322 ftext)
MAX_HEADER_NAME = 76  # a name and ": " must fit on the first line of a folded header


def has_line_break(value: str) -> bool:
    return not LINE_BREAKS.isdisjoint(value)


def unsafe_character(value: str) -> str | None:
    """The first control character, line break or lone surrogate in `value` (tab included), or None."""
    found = _UNSAFE.search(value)
    return found.group() if found else None


def not_text_problem(value: str) -> str | None:
    """Why a body cannot be written into a message ("contains a lone surrogate (U+D800)"), or None.
    A Python str may hold surrogates (an embedding application's data, a template's output); no
    encoding can write them, so they are refused when the email is accepted, not when it leaves."""
    found = _SURROGATES.search(value)
    return f"contains a lone surrogate ({describe(found.group())}), which no message can carry" if found else None


def describe(character: str) -> str:
    return f"U+{ord(character):04X}"


def is_header_name(name: str) -> bool:
    """Matched whole: "X-Tag\\n" is not a name (a `$` anchor would let the newline through)."""
    return 0 < len(name) <= MAX_HEADER_NAME and _HEADER_NAME.fullmatch(name) is not None


def first_unsafe_header(headers: Iterable[tuple[str, str]]) -> str | None:
    """Why the first unsafe (name, value) pair cannot be written, or None when all are safe."""
    for name, value in headers:
        if not is_header_name(name):
            return f"{name!r} is not a valid header name"
        problem = one_line_problem(value, tab=True)
        if problem is not None:
            return f"the {name} header {problem.replace('must not contain', 'contains')}"
    return None


def one_line_problem(value: str, *, tab: bool = False) -> str | None:
    """Why `value` cannot be a one-line text field ("contains a line break (U+000A)"), or None.
    `tab`: a tab is allowed (in subjects and header values it is plain folding whitespace)."""
    bad = unsafe_character(value.replace("\t", " ") if tab else value)
    if bad is None:
        return None
    kind = (
        "a line break"
        if bad in LINE_BREAKS
        else "a lone surrogate"
        if _SURROGATES.match(bad)
        else "a control character"
    )
    return f"must not contain {kind} ({describe(bad)})"


# Of a message a client hands over whole (the SMTP relay): identities AutoRelay does not check
# against the sender's verified domain (a receiving mailbox may show them instead of From), and
# fields only a receiving server writes.
RELAY_REFUSED = frozenset(
    {"sender", "resent-from", "resent-sender", "resent-to", "resent-cc", "resent-bcc", "resent-date",
     "resent-message-id", "return-path"}
)  # fmt: skip
# RFC 5322 3.6: at most one of each.
ONCE = frozenset({"from", "sender", "reply-to", "to", "cc", "bcc", "subject", "date", "message-id"})


def relayed_header_problem(head: bytes) -> str | None:
    """Why the header block of a message handed over whole cannot be sent as it is, or None.
    Every line is a field (`Name:`, no space before the colon: "From :" is read as a second From
    by some receivers and as no header at all by others) or its continuation; no field the relay
    refuses; none of the single fields twice."""
    seen: set[str] = set()
    for number, line in enumerate(head.split(b"\n"), start=1):
        line = line.rstrip(b"\r")
        if not line or line[:1] in (b" ", b"\t"):
            continue
        name, colon, _ = line.partition(b":")
        text = name.decode("ascii", "replace")
        if not colon or not is_header_name(text):
            shown = text.strip()[:40] or line[:40].decode("ascii", "replace")
            return f"header line {number} ({shown!r}) is not a valid header field (a name, then ':' at once)"
        key = text.lower()
        if key in RELAY_REFUSED:
            return f"the {text} header is refused: it names an identity AutoRelay does not check, or is a receiver's"
        if key in ONCE and key in seen:
            return f"the {text} header appears twice; a message has at most one"
        seen.add(key)
    return None
