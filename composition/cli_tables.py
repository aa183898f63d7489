"""Listings of the operator commands: aligned columns under a header, or JSON (`--json`) for scripts."""

from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from composition.services import Services


def show(header: Sequence[str], rows: Sequence[Sequence[object]], *, as_json: bool, empty: str = "(none)") -> None:
    if as_json:
        keys = [h.lower().replace(" ", "_") for h in header]
        print(json.dumps([dict(zip(keys, row, strict=True)) for row in rows], indent=2, default=str))
        return
    if not rows:
        print(empty)
        return
    cells = [[str(c) if c is not None else "" for c in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(header)]
    for row in (list(header), *cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


# How a command runs its action: with the services built from its settings, on one event loop.
Run = Callable[[argparse.Namespace, Callable[["Services"], Awaitable[None]]], None]
