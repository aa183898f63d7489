"""Page requests and pages, checked once here so every list endpoint shares the same limits."""

from __future__ import annotations

from enum import StrEnum
from typing import Generic, TypeVar

from attrs import frozen

from autorelay_core.errors import Invalid

T = TypeVar("T")


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


@frozen
class CursorRequest:
    """Keyset pagination: items strictly after `after` (an object id) in `order`."""

    limit: int
    order: Order = Order.ASC
    after: str | None = None

    @classmethod
    def parse(
        cls, limit: str | None, order: str | None, after: str | None, *, default: int, maximum: int
    ) -> CursorRequest:
        return cls(
            limit=parse_bounded_int(limit, "limit", default=default, low=1, high=maximum),
            order=_parse_order(order),
            after=after or None,  # an empty cursor is no cursor
        )


@frozen
class CursorPage(Generic[T]):
    items: list[T]
    total: int
    has_more: bool


def _parse_order(value: str | None) -> Order:
    if value is None:
        return Order.ASC
    try:
        return Order(value)
    except ValueError:
        raise Invalid("order must be 'asc' or 'desc'", field="order") from None


def parse_bounded_int(value: str | None, name: str, *, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise Invalid(f"{name} must be a whole number", field=name) from None
    if not low <= number <= high:
        raise Invalid(f"{name} must be between {low} and {high}", field=name)
    return number


MAX_PAGE = 10**9  # page x page size stays far inside a 64-bit OFFSET


@frozen
class OffsetRequest:
    """Page-number pagination (the reference's `/contacts`): page 1 is the first."""

    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    @classmethod
    def parse(cls, page: str | None, page_size: str | None, *, default: int = 50, maximum: int = 200) -> OffsetRequest:
        return cls(
            page=parse_bounded_int(page, "page", default=1, low=1, high=MAX_PAGE),
            page_size=parse_bounded_int(page_size, "pageSize", default=default, low=1, high=maximum),
        )


@frozen
class OffsetPage(Generic[T]):
    items: list[T]
    total: int
