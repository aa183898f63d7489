"""Properties of the email status machine."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from autorelay_core.domain.emails import EmailStatus, EventType, next_status
from autorelay_core.errors import Conflict

ENGAGEMENT_RANK = {EmailStatus.SENT: 0, EmailStatus.OPENED: 1, EmailStatus.CLICKED: 2}


def run(events):
    status, applied = EmailStatus.QUEUED, []
    for event in events:
        try:
            new = next_status(status, event)
        except Conflict:
            continue
        applied.append((status, event, new))
        status = new
    return status, applied


@given(st.lists(st.sampled_from(list(EventType)), max_size=30))
def test_failed_is_terminal_and_engagement_never_goes_back(events):
    _, applied = run(events)
    for before, _event, after in applied:
        assert before is not EmailStatus.FAILED, "nothing leaves failed"
        if before in ENGAGEMENT_RANK and after in ENGAGEMENT_RANK:
            assert ENGAGEMENT_RANK[after] >= ENGAGEMENT_RANK[before]
        if after is EmailStatus.QUEUED:
            assert before is EmailStatus.QUEUED
        if before in (EmailStatus.BOUNCED, EmailStatus.COMPLAINED):
            assert after in (EmailStatus.BOUNCED, EmailStatus.COMPLAINED)


@given(st.lists(st.sampled_from([EventType.OPENED, EventType.CLICKED, EventType.DELIVERED]), max_size=20))
def test_sent_email_only_moves_through_engagement(events):
    status, _ = run([EventType.SENT, *events])
    expected = EmailStatus.SENT
    if EventType.CLICKED in events:
        expected = EmailStatus.CLICKED
    elif EventType.OPENED in events:
        expected = EmailStatus.OPENED
    assert status is expected


def test_queued_cannot_be_opened():
    status, applied = run([EventType.OPENED, EventType.CLICKED])
    assert status is EmailStatus.QUEUED and applied == []
