"""The one get-or-NotFound rule every use case reads its records with."""

from __future__ import annotations

from typing import TypeVar

from autorelay_core.errors import NotFound

T = TypeVar("T")


def found(thing: T | None, what: str) -> T:
    """`thing`, or NotFound("<what> not found"). Repositories answer None for another project's
    record as for a missing one, so a stranger's id reads exactly like an unknown one."""
    if thing is None:
        raise NotFound(f"{what} not found")
    return thing
