"""The account state machine: boundaries, the only automatic transition, and operator actions."""

from __future__ import annotations

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from autorelay_core.domain.emails import EventType
from autorelay_core.domain.keys import KeyMode
from autorelay_core.domain.projects import AccountStatus, Project
from autorelay_core.domain.reputation import Activity, auto_flag, breach, check_access, operator_set
from autorelay_core.errors import AccountLocked, Conflict
from autorelay_core.usecases.provider_feedback import Feedback, apply_feedback
from autorelay_core.usecases.record_events import record_event
from autorelay_core.usecases.send_email import send_email
from tests.support import FakeClock
from tests.unit.test_send_email import command, live_key


@pytest.mark.parametrize(
    ("sends", "bounces", "complaints", "blocks"),
    [
        (10_000, 200, 0, True),  # 2.00 % bounces
        (10_000, 199, 0, False),  # 1.99 %
        (10_000, 0, 5, True),  # 0.05 % complaints
        (100_000, 0, 49, False),  # 0.049 %
        (99, 99, 99, False),  # below the minimum volume nothing blocks
        (100, 2, 0, True),  # at the minimum volume it does
    ],
)
def test_boundaries(sends, bounces, complaints, blocks):
    assert (breach(Activity(sends, bounces, complaints), min_volume=100) is not None) is blocks


def test_access_rules():
    project = Project("prj", "p", FakeClock().now())
    check_access(project, mutating=True)
    for status in (AccountStatus.FLAGGED, AccountStatus.SUSPENDED):
        project.status = status
        check_access(project, mutating=False)
        with pytest.raises(AccountLocked) as locked:
            check_access(project, mutating=True)
        assert locked.value.account_status == status.value
    project.status = AccountStatus.DEACTIVATED
    with pytest.raises(AccountLocked):
        check_access(project, mutating=False)


activities = st.builds(Activity, st.integers(0, 500), st.integers(0, 50), st.integers(0, 5))


class AccountMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.project = Project("prj", "p", FakeClock().now())
        self.was_deactivated = False
        self.last_operator_target: AccountStatus | None = None

    @rule(activity=activities)
    def automatic_check(self, activity):
        before = self.project.status
        auto_flag(self.project, activity)
        after = self.project.status
        if after is not before:
            assert (before, after) == (AccountStatus.ACTIVE, AccountStatus.FLAGGED)

    @rule(status=st.sampled_from(list(AccountStatus)))
    def operator(self, status):
        try:
            operator_set(self.project, status, "ops")
        except Conflict:
            return
        self.last_operator_target = status

    @invariant()
    def deactivated_is_final(self):
        if self.was_deactivated:
            assert self.project.status is AccountStatus.DEACTIVATED
        self.was_deactivated = self.project.status is AccountStatus.DEACTIVATED

    @invariant()
    def only_an_operator_restores_active(self):
        # Active after the start means the last operator action was a reinstatement.
        if self.project.status is AccountStatus.ACTIVE and self.last_operator_target is not None:
            assert self.last_operator_target is AccountStatus.ACTIVE


TestAccountMachine = AccountMachine.TestCase


async def test_bounces_over_the_threshold_flag_the_account_and_test_sends_do_not_count(deps):
    key = await live_key(deps)
    sent = [await send_email(deps, key, command()) for _ in range(100)]
    await deps.queue.drain()
    await _feedback(deps, key.project_id, sent[0].id, Feedback.PERMANENT_BOUNCE)
    assert (await deps.storage.projects.get(key.project_id)).status is AccountStatus.ACTIVE  # 1 %
    await _feedback(deps, key.project_id, sent[1].id, Feedback.PERMANENT_BOUNCE)
    project = await deps.storage.projects.get(key.project_id)
    assert project.status is AccountStatus.FLAGGED and "bounce rate 2.00%" in project.status_reason


async def test_test_sends_count_toward_no_reputation(deps):
    test_key = await live_key(deps, "sandboxed", mode=KeyMode.TEST)
    sent = [await send_email(deps, test_key, command()) for _ in range(100)]
    await deps.queue.drain()
    for email in sent[:10]:
        await _feedback(deps, test_key.project_id, email.id, Feedback.PERMANENT_BOUNCE)
    project = await deps.storage.projects.get(test_key.project_id)
    assert project.status is AccountStatus.ACTIVE
    assert (await deps.storage.activity.activity(test_key.project_id, FakeClock().now())).sends == 0


def test_the_operator_contact_in_account_errors_is_the_installs_own():
    project = Project("prj_1", "acme", FakeClock().now(), AccountStatus.SUSPENDED, "spamtrap")
    with pytest.raises(AccountLocked) as refused:
        check_access(project, mutating=True, contact="abuse@mail.example.org")
    assert "Contact abuse@mail.example.org." in refused.value.message and "autorelay.net" not in refused.value.message


async def _feedback(deps, project_id, email_id, kind):
    email = await deps.storage.emails.get(project_id, email_id)
    await apply_feedback(deps, email, kind, list(email.to))


async def test_a_report_processed_again_after_a_stop_before_its_suppression_suppresses(deps):
    """A reader killed after recording a bounce but before suppressing the address reads the same
    report again after its restart: the address is suppressed then, and the event is not doubled."""
    key = await live_key(deps, "stopped")
    email = await send_email(deps, key, command())
    await deps.queue.drain()
    await record_event(deps, await deps.storage.emails.get(key.project_id, email.id), EventType.BOUNCED)
    assert await deps.storage.suppressions.matching(key.project_id, [email.to[0].lower()]) == []
    await _feedback(deps, key.project_id, email.id, Feedback.PERMANENT_BOUNCE)
    assert [s.email for s in await deps.storage.suppressions.matching(key.project_id, [email.to[0].lower()])] == [
        email.to[0]
    ]
    events = [e.type for e in await deps.storage.emails.events(email.id)]
    assert events.count(EventType.BOUNCED) == 1
