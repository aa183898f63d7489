"""Words to find an email by, and what a search asks for, the same on every backend.

Each backend's full-text index (SQLite FTS5, PostgreSQL tsvector, the memory store's scan) is given
the words made here rather than the raw text, so they cannot disagree on what a word is: lower
case, accents dropped, split at anything that is not a letter or a digit. A search is one or more
terms; a term is a phrase of words (`bob@example.com` is bob, example, com in a row) whose last
word may be the start of a longer one, and every term must be found."""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from autorelay_core.domain.emails import Email

_WORD = re.compile(r"[^\W_]+")
_LONGEST_WORD = 64  # longer runs (a token, a hash) are cut: nobody types them, and indexes cap lexemes
_MOST_WORDS = 400  # a bcc list of hundreds would otherwise swell every row of the index
_MOST_TERMS = 8


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return [w[:_LONGEST_WORD] for w in _WORD.findall(plain)]


def email_words(email: Email) -> str:
    """What an email is found by: subject, sender, every recipient, and its tags' names and values."""
    parts: list[str] = [email.subject, email.sender, *email.to, *email.cc, *email.bcc]
    parts += [f"{name} {_tag_text(value)}" for name, value in email.tags.items()]
    return " ".join(words(" ".join(parts))[:_MOST_WORDS])


def _tag_text(value: Any) -> str:
    return " ".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def terms(query: str) -> list[list[str]]:
    """The phrases a search asks for (empty: it asks for nothing, so matches everything)."""
    found = [words(term) for term in query.split()]
    return [term for term in found if term][:_MOST_TERMS]


def matches(indexed: str, wanted: list[list[str]]) -> bool:
    """Whether every phrase occurs in the indexed words, the last word of each as a prefix (the
    memory store's search; the databases do the same with their indexes)."""
    have = indexed.split()
    return all(_has_phrase(have, term) for term in wanted)


def _has_phrase(have: list[str], term: list[str]) -> bool:
    *whole, start = term
    for i in range(len(have) - len(term) + 1):
        if have[i : i + len(whole)] == whole and have[i + len(whole)].startswith(start):
            return True
    return False
