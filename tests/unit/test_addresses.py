"""Address rules: what we accept always round-trips into a header and back."""

from __future__ import annotations

from email.headerregistry import Address

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autorelay_core.domain.addresses import Mailbox, check_recipients, is_valid_address
from autorelay_core.errors import Invalid


@given(st.emails())
def test_generated_addresses_that_we_accept_parse_as_rfc5322(address):
    if is_valid_address(address):
        parsed = Address(addr_spec=address)
        assert parsed.addr_spec == address


@pytest.mark.parametrize("bad", ["", "a", "a@", "@b.co", "a@b", "a b@c.co", "a@-b.co", "x" * 65 + "@b.co", "a@b.co\n"])
def test_bad_addresses_are_refused(bad):
    assert not is_valid_address(bad)


def test_mailbox_parses_display_names_and_refuses_injection():
    box = Mailbox.parse("Jane Doe <jane@Example.com>", "from")
    assert box.name == "Jane Doe" and box.address == "jane@Example.com" and box.domain == "example.com"
    assert box.formatted() == "Jane Doe <jane@Example.com>"
    with pytest.raises(Invalid, match="a line break"):
        Mailbox.parse("Jane <jane@example.com>\r\nBcc: x@y.z", "from")


def test_recipients_accept_one_or_a_list():
    assert check_recipients("a@b.co", "to", maximum=2) == ("a@b.co",)
    assert check_recipients(["a@b.co", " c@d.co "], "to", maximum=2) == ("a@b.co", "c@d.co")
    with pytest.raises(Invalid, match="at least one"):
        check_recipients([], "to", maximum=2)


def test_ids_are_prefixed_unique_long_and_made_in_time_order():
    import time

    from adapters.system.clock_ids import RandomIds

    ids = RandomIds()
    made = []
    for _ in range(4):
        made += [ids.new("em") for _ in range(500)]  # crosses several 4 KiB refills
        time.sleep(0.002)
    assert len(set(made)) == 2000
    assert all(i.startswith("em_") and len(i) == 43 and int(i[3:], 16) for i in made)
    # Time first (milliseconds), so ids made later sort later: neighbours in every index on them.
    stamps = [i[3:13] for i in made]
    assert stamps == sorted(stamps) and len(set(stamps)) >= 4
    assert len({i[13:] for i in made}) == 2000, "the random part alone never repeats"


@given(
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=30)
    | st.sampled_from(["J. Smith", "A  B", "A [b]", "a.b", "Ünïcode Näme"]),
    st.emails(),
    st.sampled_from(["{name} <{addr}>", "{addr}", " {addr} ", "<{addr}>", '"{name}" <{addr}>', "{name}<{addr}>"]),
)
@example("\xa0", "2@a.bo", "{name} <{addr}>")  # a no-break space is part of the name, not whitespace
@example("a\u2003b", "x@y.z", "{name} <{addr}>")
@example("", "x@y.z\xa0", " {addr} ")
def test_fast_mailbox_split_agrees_with_parseaddr(name, addr, shape):
    from email.utils import parseaddr

    from autorelay_core.domain.addresses import split_mailbox

    value = shape.format(name=name, addr=addr)
    assert split_mailbox(value) == parseaddr(value)
