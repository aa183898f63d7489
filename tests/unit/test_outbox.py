"""The outbox: leases, retries, permanent failures and the reconciler, with a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from autorelay_core.domain.emails import EmailStatus, EventType
from autorelay_core.errors import MailerError
from autorelay_core.usecases.deliver_email import deliver_claim, deliver_due, deliver_email, drain, reconcile_outbox
from autorelay_core.usecases.read_emails import get_email
from autorelay_core.usecases.send_email import send_email
from tests.support import make_deps
from tests.unit.test_send_email import command, live_key


@pytest.fixture
def outbox(clock, mailer, manual_queue):
    return make_deps(clock=clock, mailer=mailer, queue=manual_queue)


async def test_a_claimed_email_is_not_sent_twice(outbox, mailer):
    key = await live_key(outbox)
    email = await send_email(outbox, key, command())
    assert await deliver_email(outbox, email.id) == "sent"
    assert await deliver_email(outbox, email.id) == "skipped"
    assert len(mailer.sent) == 1


async def test_transient_failure_is_retried_then_sent(outbox, mailer, manual_queue, clock, caplog):
    key = await live_key(outbox)
    email = await send_email(outbox, key, command())
    mailer.failures.append(MailerError("451 try later", permanent=False))
    with caplog.at_level("WARNING", logger="autorelay.outbox"):
        assert await deliver_email(outbox, email.id) == "retry"
    retry_at = manual_queue.wakes[-1]
    assert retry_at == clock.now() + outbox.config.retry_backoff[0]
    assert await deliver_email(outbox, email.id) == "skipped"  # not due yet
    clock.advance(seconds=10)
    assert await deliver_email(outbox, email.id) == "sent"
    stored, events = await get_email(outbox, key, email.id)
    assert stored.status is EmailStatus.SENT
    assert [e.type for e in events] == [EventType.QUEUED, EventType.DEFERRED, EventType.SENT]
    assert events[1].data == {"error": "451 try later", "next_attempt": retry_at.isoformat()}
    (line,) = [r.getMessage() for r in caplog.records if email.id in r.getMessage()]
    assert "attempt 1" in line and "451 try later" in line and "next attempt at" in line


async def test_transient_failures_give_up_after_the_backoff_schedule(outbox, mailer, clock):
    key = await live_key(outbox)
    email = await send_email(outbox, key, command())
    schedule = outbox.config.retry_backoff
    mailer.failures.extend(MailerError("451 busy", permanent=False) for _ in range(len(schedule) + 1))
    for delay in schedule:
        assert await deliver_email(outbox, email.id) == "retry"
        clock.moment += delay
    assert await deliver_email(outbox, email.id) == "failed"
    stored, events = await get_email(outbox, key, email.id)
    assert stored.status is EmailStatus.FAILED and stored.last_error == "451 busy"
    assert events[-1].type is EventType.FAILED
    assert [e.type for e in events].count(EventType.DEFERRED) == len(schedule)


async def test_permanent_failure_fails_at_once(outbox, mailer):
    key = await live_key(outbox)
    email = await send_email(outbox, key, command())
    mailer.failures.append(MailerError("550 no such user", permanent=True))
    assert await deliver_email(outbox, email.id) == "failed"
    stored, _ = await get_email(outbox, key, email.id)
    assert stored.status is EmailStatus.FAILED


async def test_reconciler_finds_lost_passes_and_expired_leases(outbox, clock, manual_queue, mailer):
    key = await live_key(outbox)
    lost = await send_email(outbox, key, command())  # its delivery pass is "lost": never run
    crashed = await send_email(outbox, key, command())
    # A worker claims `crashed` and dies before finishing.
    claim = await outbox.storage.outbox.claim(crashed.id, clock.now(), clock.now() + outbox.config.lease)
    assert claim is not None
    manual_queue.wakes.clear()
    assert await reconcile_outbox(outbox) == 0  # nothing is stale yet
    assert manual_queue.wakes == []
    clock.moment += outbox.config.lease
    assert await reconcile_outbox(outbox) == 2
    assert manual_queue.wakes == [None]
    # The lease taken back is due again within the grace; the row still waiting is named again
    # (its pass is still lost) and keeps its place: waking a pass again costs nothing.
    assert await reconcile_outbox(outbox) == 1
    assert await drain(outbox) == 2
    # The dead worker's late result is refused: its lease is gone.
    assert await outbox.storage.outbox.finish(claim, claim.email, []) is False
    assert sorted(m.id for m in mailer.sent) == sorted([lost.id, crashed.id])


async def test_a_pass_that_outlived_its_lease_hands_nothing_over_and_spends_no_retry(outbox, mailer, clock, caplog):
    """A pass slowed past its lease (a busy worker): the reconciler took the row back meanwhile,
    so the hand-over is refused. That is not a failed attempt: no deferral is recorded, nothing
    is logged as a failure, and the next claim sends it."""
    key = await live_key(outbox)
    email = await send_email(outbox, key, command())
    claim = await outbox.storage.outbox.claim(email.id, clock.now(), clock.now() + outbox.config.lease)
    assert claim is not None
    clock.moment += outbox.config.lease + outbox.config.reconcile_grace
    assert await reconcile_outbox(outbox) == 1
    with caplog.at_level("WARNING", logger="autorelay.outbox"):
        assert await deliver_claim(outbox, claim) == "lost"
    assert mailer.sent == [] and [r.getMessage() for r in caplog.records] == []
    stored, events = await get_email(outbox, key, email.id)
    assert stored.status is EmailStatus.QUEUED and [e.type for e in events] == [EventType.QUEUED]
    assert await deliver_email(outbox, email.id) == "sent"
    _, events = await get_email(outbox, key, email.id)
    assert [e.type for e in events] == [EventType.QUEUED, EventType.SENT]


async def test_passes_split_due_emails_between_concurrent_workers(outbox, mailer):
    key = await live_key(outbox)
    emails = [await send_email(outbox, key, command()) for _ in range(50)]
    counts = await asyncio.gather(*(deliver_due(outbox, batch=8) for _ in range(4)))
    assert sum(counts) == 32
    assert await drain(outbox, batch=8) == 18
    assert sorted(m.id for m in mailer.sent) == sorted(e.id for e in emails)


async def test_an_unexpected_mailer_error_is_retried_then_fails(outbox, mailer, clock):
    key = await live_key(outbox)
    email = await send_email(outbox, key, command())
    schedule = outbox.config.retry_backoff
    mailer.failures.extend(RuntimeError("bug") for _ in range(len(schedule) + 1))
    for delay in schedule:
        assert await deliver_email(outbox, email.id) == "retry"
        clock.moment += delay
    assert await deliver_email(outbox, email.id) == "failed"
    stored, _ = await get_email(outbox, key, email.id)
    assert stored.last_error == "unexpected mailer error: RuntimeError"


async def test_a_process_that_fell_silent_loses_its_leases_and_its_emails_go_out(deps, mailer, clock):
    """keep_alive: the living beat, and the rows of a holder silent past the silence are taken back
    at once (here long before their 60-second lease would have run out)."""
    from datetime import timedelta

    from attrs import evolve

    from autorelay_core.usecases.deliver_email import drain, keep_alive
    from autorelay_core.usecases.send_email import send_email
    from tests.unit.test_send_email import command, live_key

    dead = evolve(deps, config=evolve(deps.config, holder="dead:1:a"))
    alive = evolve(deps, config=evolve(deps.config, holder="alive:2:b"))
    key = await live_key(deps)
    email = await send_email(deps, key, command())
    await keep_alive(dead, timedelta(seconds=3))
    claim = await dead.storage.outbox.claim(email.id, clock.now(), clock.now() + timedelta(seconds=60), "dead:1:a")
    assert claim is not None  # ... and then the process holding it is killed
    clock.advance(seconds=2)
    assert await keep_alive(alive, timedelta(seconds=3)) == 0, "not silent long enough yet"
    clock.advance(seconds=2)
    assert await keep_alive(alive, timedelta(seconds=3)) == 1
    await drain(alive)
    assert [m.id for m in mailer.sent] == [email.id]
