"""VERP return paths name their email and cannot be forged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autorelay_core.domain.verp import read_verp, verp_address

KEY = b"k" * 32


@given(st.text(alphabet="0123456789abcdef", min_size=30, max_size=30))
def test_an_address_names_its_email_and_fits_in_a_local_part(hexits):
    email_id = f"em_{hexits}"
    address = verp_address(email_id, KEY, "bounces.example.com")
    assert len(address.split("@")[0]) <= 64
    assert read_verp(address, KEY, "bounces.example.com") == email_id
    assert read_verp(f"<{address.upper()}>", KEY, "BOUNCES.example.com") == email_id  # MTAs change case


def test_forged_altered_or_foreign_addresses_name_nothing():
    address = verp_address("em_" + "a" * 30, KEY, "bounces.example.com")
    other = "em_" + "b" * 30
    forged = address.replace("a" * 30, "b" * 30)
    assert read_verp(forged, KEY, "bounces.example.com") is None
    assert read_verp(address, b"x" * 32, "bounces.example.com") is None
    assert read_verp(address, KEY, "other.example.com") is None
    assert read_verp(address, KEY, "") is None
    assert read_verp(f"b+{other}@bounces.example.com", KEY, "bounces.example.com") is None
    assert read_verp("postmaster@bounces.example.com", KEY, "bounces.example.com") is None
