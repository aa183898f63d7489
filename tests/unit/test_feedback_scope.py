"""A bounce or complaint report affects only recipients of the email it is about (#32 item 2): the
rule (Email.reported) as a property, and through the use case over the memory adapters."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autorelay_core.usecases.provider_feedback import Feedback, record_returned
from autorelay_core.usecases.send_email import send_email
from tests.contract.test_storage import new_email
from tests.unit.test_send_email import command, live_key

addresses = st.sampled_from(["a@x.test", "B@x.test", "c@y.test", "d@z.test", "stranger@evil.test", "A@X.TEST"])
names = st.one_of(addresses, st.lists(addresses, min_size=1, max_size=3).map(tuple))


@given(
    to=st.lists(addresses, min_size=1, max_size=3, unique_by=str.lower),
    cc=st.lists(addresses, max_size=2, unique_by=str.lower),
    named=st.lists(names, max_size=8),
)
def test_a_report_never_affects_anyone_its_email_was_not_sent_to(to, cc, named):
    cc = [a for a in cc if a.lower() not in {t.lower() for t in to}]
    email = new_email(to=tuple(to), cc=tuple(cc))
    own = {a.lower() for a in (*to, *cc)}
    affected, ignored = email.reported(named)
    assert {a.lower() for a in affected} <= own
    assert all(a in (*to, *cc) for a in affected), "as the email wrote them"
    assert 0 <= ignored <= len(named)
    if len(own) > 1:
        strangers = [n for n in named if not {x.lower() for x in ((n,) if isinstance(n, str) else n)} & own]
        assert ignored == len(strangers)


def test_one_recipient_takes_the_report_under_any_name_the_mta_gives_them():
    email = new_email(to=("ana@example.com",))
    assert email.reported([("ana@some-ms-daemon",)]) == (("ana@example.com",), 0)
    assert email.reported([]) == (("ana@example.com",), 0)
    two = new_email(to=("ana@example.com", "bob@example.com"))
    assert two.reported(["ana@some-ms-daemon"]) == ((), 1)


async def test_a_report_naming_hundreds_of_strangers_suppresses_only_its_recipient(deps):
    key = await live_key(deps)
    email = await send_email(deps, key, command(to="reader@example.com"))
    other = await send_email(deps, key, command(to="customer@example.com"))
    named = ["customer@example.com", *(f"victim{i}@example.com" for i in range(300)), ("reader@example.com",)]
    assert await record_returned(deps, email.id, Feedback.PERMANENT_BOUNCE, named, "550 5.1.1 gone")
    suppressed = [s.email_key for s in await deps.storage.suppressions.page(key.project_id, 1000, None)]
    assert suppressed == ["reader@example.com"]
    assert (await deps.storage.emails.get(key.project_id, other.id)).status.value == "queued"
    multi = await send_email(deps, key, command(to=["x@example.com", "y@example.com"]))
    assert not await record_returned(deps, multi.id, Feedback.COMPLAINT, ["customer@example.com"], "abuse")
    assert [s.email_key for s in await deps.storage.suppressions.page(key.project_id, 1000, None)] == [
        "reader@example.com"
    ]
