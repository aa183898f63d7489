"""Contact property rules: keys, types, values as JSON or CSV cells give them, defaults on read."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autorelay_core.domain.properties import (
    MAX_NUMBER,
    ContactProperty,
    PropertyType,
    applied,
    check_key,
    check_values,
    coerce,
    merged,
)
from autorelay_core.errors import Invalid

NOW = datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("kind", "given", "expected"),
    [
        (PropertyType.NUMBER, 12, 12),
        (PropertyType.NUMBER, "12", 12),
        (PropertyType.NUMBER, " 2.5 ", 2.5),
        (PropertyType.BOOLEAN, True, True),
        (PropertyType.BOOLEAN, "Yes", True),
        (PropertyType.BOOLEAN, "0", False),
        (PropertyType.DATE, "2027-01-31", "2027-01-31"),
        (PropertyType.DATE, "2027-01-31T23:00:00+00:00", "2027-01-31"),
        (PropertyType.TEXT, "pro plan", "pro plan"),
    ],
)
def test_values_are_read_as_their_type(kind, given, expected):
    value = coerce(kind, given, "properties.x")
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "given", "problem"),
    [
        (PropertyType.NUMBER, True, "must be a number"),
        (PropertyType.NUMBER, "nan", "must be a number"),
        (PropertyType.NUMBER, "1e400", "must be a number"),
        (PropertyType.NUMBER, 2**60, "must be between"),
        (PropertyType.BOOLEAN, "maybe", "must be a boolean"),
        (PropertyType.BOOLEAN, 1, "must be a boolean"),
        (PropertyType.DATE, "31/01/2027", "must be a date (YYYY-MM-DD)"),
        (PropertyType.TEXT, 5, "must be text"),
        (PropertyType.TEXT, "a\u2028b", "must not contain"),
        (PropertyType.TEXT, "x" * 513, "at most 512"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_property_and_the_type(kind, given, problem):
    with pytest.raises(Invalid, match=re.escape(problem)) as refused:
        coerce(kind, given, "properties.x")
    assert refused.value.field == "properties.x" and refused.value.message.startswith("properties.x")


@given(st.integers(-MAX_NUMBER, MAX_NUMBER) | st.floats(-1e15, 1e15, allow_nan=False))
def test_a_number_survives_a_csv_cell(number):
    assert coerce(PropertyType.NUMBER, str(number), "x") == number


def test_keys_are_plain_and_not_the_platforms():
    assert check_key("renews_on") == "renews_on"
    for bad in ("Plan", "1plan", "plan-x", "", "x" * 51, None, "email", "unsubscribe_url"):
        with pytest.raises(Invalid):
            check_key(bad)


def test_defaults_stand_in_on_read_and_null_removes_a_value():
    declared = {
        "plan": ContactProperty("p1", "prj", "plan", PropertyType.TEXT, NOW, "free"),
        "seats": ContactProperty("p2", "prj", "seats", PropertyType.NUMBER, NOW),
    }
    assert merged(declared, {"seats": 3, "gone": 1}) == {"plan": "free", "seats": 3}
    changes = check_values(declared, {"plan": "pro", "seats": None})
    assert applied({"seats": 3}, changes) == {"plan": "pro"}
    with pytest.raises(Invalid, match="unknown property 'shoe'"):
        check_values(declared, {"shoe": 42})
