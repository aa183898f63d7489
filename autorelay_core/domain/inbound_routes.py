"""Routes: what happens to mail for an address of a project's receiving domains.

A route matches an address one of four ways and does one thing with the mail:
- match `exact` (one address), `plus` (an address and its +tags: support@ takes support+eu@),
  `regex` (an expression the whole address must match, within REGEX_SECONDS) or `catch_all`
  (a whole receiving domain);
- action `webhook` (stored, and an `email.received` event for one endpoint, or for every endpoint
  listening for it), `forward` (stored, and sent on to an address through the outbox), `store`
  (stored only) or `reject` (refused at RCPT with the route's SMTP reply; nothing is stored).

The most specific route wins: exact, then plus, then regex, then catch-all; among equals the oldest.
Mail no route matches is stored and every `email.received` endpoint hears of it."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from typing import Any

import regex
from attrs import frozen

MATCHES = ("exact", "plus", "regex", "catch_all")
ACTIONS = ("webhook", "forward", "store", "reject")
# A stranger picks the address the routes' expressions are tried on: all of them together stop
# after this long, and those not tried by then do not match (`regex` releases the GIL meanwhile).
REGEX_SECONDS = 0.05
MAX_PATTERN = 300
# How far an expression may unroll (see regex_problem): `(a|b){320}` is 640.
MAX_WEIGHT = 2000
_COUNT = regex.compile(r"\{(\d{0,10})(,?)(\d{0,10})\}")
_BRACED = frozenset("pPNxuUgk")
# The replies a reject may give: mailbox unavailable (450, 550) and its relatives.
REJECT_CODES = frozenset({*range(450, 453), *range(550, 555)})
DEFAULT_REJECT = (550, "Mailbox unavailable")


@frozen
class InboundRoute:
    id: str
    project_id: str
    created_at: datetime
    match: str
    pattern: str  # exact, plus: an address (lower case); catch_all: a domain; regex: an expression
    action: str
    webhook_id: str = ""  # webhook: one endpoint; "" for every endpoint listening for email.received
    forward_to: str = ""
    forward_from: str = ""  # forward: an address of one of the project's verified sending domains
    smtp_code: int = 0  # reject
    smtp_message: str = ""

    def matches(self, address: str, seconds: float = REGEX_SECONDS) -> bool:
        address = address.lower()
        local, _, domain = address.rpartition("@")
        if self.match == "exact":
            return address == self.pattern
        if self.match == "plus":
            want_local, _, want_domain = self.pattern.rpartition("@")
            return domain == want_domain and local.split("+", 1)[0] == want_local
        if self.match == "catch_all":
            return domain == self.pattern
        return regex_matches(self.pattern, address, seconds)

    def refusal(self) -> str:
        """The SMTP reply of a reject route (an enhanced status code of the same class)."""
        code, text = self.smtp_code or DEFAULT_REJECT[0], self.smtp_message or DEFAULT_REJECT[1]
        detail = "1.1" if code in (450, 550) else "0.0"
        return f"{code} {code // 100}.{detail} {text}"


def route_for(routes: Iterable[InboundRoute], address: str) -> InboundRoute | None:
    """The route mail for `address` takes: the most specific that matches, the oldest of equals."""
    deadline = time.monotonic() + REGEX_SECONDS
    for route in in_order(routes):
        if route.matches(address, deadline - time.monotonic()):
            return route
    return None


def in_order(routes: Iterable[InboundRoute]) -> list[InboundRoute]:
    """The order routes are tried in: the most specific first, the oldest of equals first."""
    return sorted(routes, key=lambda r: (MATCHES.index(r.match), r.created_at, r.id))


def regex_problem(pattern: str) -> str | None:
    """Why the expression cannot be a route's, or None. Counted repeats are held to MAX_WEIGHT
    before it is compiled: the `regex` module unrolls them, and `((a|b){1000}){1000}` would take
    the server's memory (a tenant writes it; a stranger's address only picks when it runs)."""
    weight = _weight(pattern)
    if weight > MAX_WEIGHT:
        return (
            f"repeats too much: it unrolls to about {weight:,} steps, at most {MAX_WEIGHT:,}"
            " (no address is longer than 320 characters)"
        )
    try:
        _compiled(pattern)
    except regex.error as error:
        return f"is not a regular expression: {error}"
    return None


def _weight(pattern: str) -> int:
    """How many steps the expression unrolls to, over-estimated: each atom is one, a counted
    repeat multiplies what it repeats by its largest count, alternatives add up."""
    stack: list[list[int]] = [[]]  # per open group, the weights of its items so far
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            i += 2
            if pattern[i - 1 : i] in _BRACED and pattern[i : i + 1] == "{":
                i = pattern.find("}", i) + 1 or n  # \p{L}, \N{...}, \x{...}: one atom
            stack[-1].append(1)
            continue
        if char == "[":
            i = _class_end(pattern, i)
            stack[-1].append(1)
            continue
        if char == "(":
            stack.append([])
            i += 1
            continue
        if char == ")" and len(stack) > 1:
            inner = stack.pop()
            stack[-1].append(max(1, sum(inner)))
            i += 1
            continue
        counted = _COUNT.match(pattern, i) if char == "{" else None
        if counted and stack[-1]:
            low, comma, high = counted.group(1), counted.group(2), counted.group(3)
            times = max(int(low or 0), int(high or 0)) + (1 if comma and not high else 0)
            stack[-1][-1] *= max(1, min(times, 10**9))
            i = counted.end()
            continue
        if char not in "*+?|":
            stack[-1].append(1)
        i += 1
    while len(stack) > 1:  # an unclosed group: compile says so; weigh it anyway
        inner = stack.pop()
        stack[-1].append(max(1, sum(inner)))
    return sum(stack[0])


def _class_end(pattern: str, start: int) -> int:
    """Where the character class opened at `start` ends (sets may nest: [[a-z]--[aeiou]])."""
    depth, i = 0, start
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "[":
            depth += 1
        elif pattern[i] == "]" and i > start + 1 and pattern[i - 1] != "[":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return i


def regex_matches(pattern: str, address: str, seconds: float) -> bool:
    if seconds <= 0:
        return False
    try:
        return _compiled(pattern).fullmatch(address, timeout=seconds) is not None
    except TimeoutError:
        return False


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return regex.compile(pattern, regex.IGNORECASE)
