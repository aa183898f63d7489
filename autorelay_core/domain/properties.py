"""Contact properties: typed fields a project declares (plan, signup date, seats...) that its
contacts carry, that templates read as variables and that segments filter on.

A contact stores only the values set on it; a property's default stands in for the rest when the
contact is read, rendered or filtered, so changing a default changes every contact without one.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from attrs import define

from autorelay_core.domain.headers import one_line_problem
from autorelay_core.errors import Invalid

Value = str | int | float | bool  # a date is kept as its ISO text, YYYY-MM-DD
# A contact's properties by key: as stored (values set, never None) or as read (None: no value and
# no default).
Values = dict[str, Value | None]

MAX_PROPERTIES = 100  # declared per project
MAX_TEXT = 512
# Numbers every backend compares exactly (a double's integers; SQLite and JSON agree on them).
MAX_NUMBER = 2**53
_KEY = re.compile(r"[a-z][a-z0-9_]{0,49}")
# Names the platform already gives a meaning to: a contact's own fields and the template variables
# every campaign has.
RESERVED = frozenset(
    {"id", "email", "name", "company", "status", "list_id", "created_at", "unsubscribe_url", "preferences_url"}
)


class PropertyType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    BOOLEAN = "boolean"
    DATE = "date"


@define
class ContactProperty:
    id: str
    project_id: str
    key: str
    type: PropertyType
    created_at: datetime
    default: Value | None = None


def check_key(key: Any) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise Invalid(
            "key must be 1 to 50 lower-case letters, digits or underscores, starting with a letter", field="key"
        )
    if key in RESERVED:
        raise Invalid(f"key '{key}' is reserved: contacts already have it or templates use it", field="key")
    return key


def check_type(value: Any) -> PropertyType:
    try:
        return PropertyType(value)
    except ValueError:
        kinds = ", ".join(t.value for t in PropertyType)
        raise Invalid(f"type must be one of {kinds}", field="type") from None


def coerce(kind: PropertyType, value: Any, label: str) -> Value:
    """`value` (as JSON or a CSV cell gave it) as a value of `kind`, or Invalid naming `label` and the
    type expected. Text ends up in headers (a `{{ plan }}` subject), so it stays on one line."""
    if kind is PropertyType.TEXT:
        if not isinstance(value, str):
            raise Invalid(f"{label} must be text", field=label)
        problem = one_line_problem(value)
        if problem is not None:
            raise Invalid(f"{label} {problem}", field=label)
        if len(value) > MAX_TEXT:
            raise Invalid(f"{label} must be at most {MAX_TEXT} characters", field=label)
        return value
    if kind is PropertyType.NUMBER:
        number = _number(value.strip()) if isinstance(value, str) else value  # a CSV cell is text
        if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
            raise Invalid(f"{label} must be a number", field=label)
        if abs(number) > MAX_NUMBER:
            raise Invalid(f"{label} must be between -{MAX_NUMBER} and {MAX_NUMBER}", field=label)
        return number
    if kind is PropertyType.BOOLEAN:
        if isinstance(value, str):  # a CSV cell
            value = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}.get(
                value.strip().lower(), value
            )
        if not isinstance(value, bool):
            raise Invalid(f"{label} must be a boolean (true or false)", field=label)
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            pass
        try:  # a full timestamp keeps its date
            return datetime.fromisoformat(text).date().isoformat()
        except ValueError:
            pass
    raise Invalid(f"{label} must be a date (YYYY-MM-DD)", field=label)


def _number(text: str) -> Any:
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return text


def check_values(
    declared: dict[str, ContactProperty], given: Any, field: str = "properties"
) -> dict[str, Value | None]:
    """A create's or an update's `properties`: each key declared, each value of its type; None
    (JSON null) unsets a value. Invalid names the property and the type it wants."""
    if not isinstance(given, dict):
        raise Invalid(f"{field} must be an object of property keys and values", field=field)
    checked: Values = {}
    for key, value in given.items():
        found = declared.get(key)
        if found is None:
            raise Invalid(
                f"unknown property '{key}': declare it first (POST /api/v1/contact-properties)", field=f"{field}.{key}"
            )
        checked[key] = None if value is None else coerce(found.type, value, f"{field}.{key}")
    return checked


def merged(declared: dict[str, ContactProperty], stored: Values) -> Values:
    """What a contact's properties read as: every declared property, its stored value or its
    default (None when it has neither). Values of properties no longer declared are left out."""
    return {key: stored.get(key, prop.default) for key, prop in sorted(declared.items())}


def applied(stored: Values, changes: Values) -> Values:
    """The stored values after an update's `properties` (None removes one)."""
    result = dict(stored)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result
