"""Email address value objects and their syntax rules.

The syntax is the WHATWG "valid email address" rule (what browsers accept in <input type=email>),
plus the RFC 5321 length limits. It deliberately rejects quoted local parts and IP literals, which
no real sending platform accepts from an API either.
"""

from __future__ import annotations

import re
from email.utils import formataddr, parseaddr

from attrs import frozen

from autorelay_core.domain.headers import one_line_problem
from autorelay_core.errors import Invalid

_WHATWG = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$"
)


# `addr` or `Display Name <addr>` with no quotes, comments or escapes. Whitespace is what parseaddr
# skips (space, tab, CR, LF), not Unicode's: a no-break space belongs to the name, as it does there.
_WS = r"[ \t\r\n]"
_NAME_WORD = r"[^ \t\r\n\"<>()\[\]\\,;:@.]+"
_ADDR = r"[^ \t\r\n<>\"(),;:\[\]]+"
_SIMPLE_MAILBOX = re.compile(
    rf"{_WS}*((?:{_NAME_WORD})(?: {_NAME_WORD})*)?{_WS}*<([^<> \t\r\n]+)>{_WS}*|{_WS}*({_ADDR}@{_ADDR}){_WS}*"
)


def split_mailbox(value: str) -> tuple[str, str]:
    """(display name, address), as email.utils.parseaddr gives them. The common shapes skip
    parseaddr, which is slow; anything with quotes, comments or escapes goes through it."""
    simple = _SIMPLE_MAILBOX.fullmatch(value)
    if simple is None:
        return parseaddr(value)
    if simple.group(3):
        return "", simple.group(3)
    return simple.group(1) or "", simple.group(2)


def is_valid_address(value: str) -> bool:
    if len(value) > 254 or not _WHATWG.fullmatch(value):
        return False
    local = value.rsplit("@", 1)[0]
    return len(local) <= 64


def check_address(value: object, field: str) -> str:
    """A bare address, stripped, or Invalid naming the field."""
    if not isinstance(value, str):
        raise Invalid(f"{field} must be an email address string", field=field)
    address = value.strip()
    if not is_valid_address(address):
        raise Invalid(f"{field} is not a valid email address: {value!r}", field=field)
    return address


@frozen
class Mailbox:
    """A display name and an address, as in `Jane <jane@example.com>`."""

    address: str
    name: str = ""

    @property
    def domain(self) -> str:
        return self.address.rsplit("@", 1)[1].lower()

    def formatted(self) -> str:
        return formataddr((self.name, self.address)) if self.name else self.address

    @classmethod
    def parse(cls, value: object, field: str) -> Mailbox:
        if not isinstance(value, str) or not value.strip():
            raise Invalid(f"{field} must be a sender like 'Jane <jane@example.com>'", field=field)
        problem = one_line_problem(value)
        if problem is not None:
            raise Invalid(f"{field} {problem}", field=field)
        name, address = split_mailbox(value)
        if not address or not is_valid_address(address):
            raise Invalid(f"{field} is not a valid sender address: {value!r}", field=field)
        return cls(address=address, name=name.strip())


def check_recipients(value: object, field: str, *, maximum: int) -> tuple[str, ...]:
    """One address or a list of up to `maximum` addresses, returned as a tuple."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise Invalid(f"{field} must be an email address or a list of them", field=field)
    if not items:
        raise Invalid(f"{field} must name at least one recipient", field=field)
    if len(items) > maximum:
        raise Invalid(f"{field} accepts at most {maximum} addresses, got {len(items)}", field=field)
    return tuple(check_address(item, field) for item in items)
