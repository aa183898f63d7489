"""Pacing on a fake clock: per destination, backoff after a deferral, and warm-up."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest

from autorelay_core.domain.emails import Email, EmailStatus, Event, EventType
from autorelay_core.domain.pacing import destination, pace_rule, ramp, warmup
from autorelay_core.errors import Invalid, MailerError
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.usecases.deliver_email import deliver_due
from tests.support import FakeClock, ManualQueue, make_deps

_ids = iter(range(10**9))


class TimedMailer:
    """Records (recipient domain, seconds since the start) for each send; fails as told."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.start = clock, clock.now()
        self.sent: list[tuple[str, float]] = []
        self.refuse: dict[str, int] = {}  # domain -> how many more sends to answer with a 421

    async def send(self, email: Email, sent_at, handover=None) -> str:
        domain = email.to[0].rpartition("@")[2]
        if self.refuse.get(domain):
            self.refuse[domain] -= 1
            raise MailerError(f"421 4.7.0 {domain} says slow down", permanent=False)
        assert await handover(lambda: None)
        self.sent.append((domain, (self.clock.now() - self.start).total_seconds()))
        return f"p-{len(self.sent)}"

    async def close(self) -> None:
        return None


@pytest.fixture
def world():
    clock = FakeClock()
    mailer = TimedMailer(clock)
    deps = make_deps(clock=clock, mailer=mailer, queue=ManualQueue())
    return deps, clock, mailer


async def queue_mail(deps, to_domain: str, count: int, sender: str = "Acme <news@acme.test>") -> None:
    for _ in range(count):
        n = next(_ids)
        email = Email(
            id=f"em_{n:010d}", project_id="prj_a", message_id=f"<{n}@acme.test>", sender=sender,
            to=(f"user{n}@{to_domain}",), subject="s", html="<p>h</p>", text="h", created_at=deps.clock.now(),
        )  # fmt: skip
        await deps.storage.emails.add(email, [Event(EventType.QUEUED, email.created_at)])


async def run(deps, clock, until: float, step: float = 0.25) -> None:
    """Delivery passes as the worker would run them, the clock moving `step` between rounds."""
    start = clock.now()
    while (clock.now() - start).total_seconds() <= until:
        while await deliver_due(deps, batch=32):
            pass
        clock.advance(seconds=step)


def most_in_any_window(times: list[float], window: float) -> int:
    times, best, left = sorted(times), 0, 0
    for right, t in enumerate(times):
        while times[left] <= t - window:
            left += 1
        best = max(best, right - left + 1)
    return best


async def test_a_paced_destination_goes_at_its_pace_and_the_others_are_not_held_back(world):
    deps, clock, mailer = world
    await deps.storage.pacing.set_rule(pace_rule("gmail", 600))
    await queue_mail(deps, "gmail.com", 2000)
    await queue_mail(deps, "example.org", 2000)
    await run(deps, clock, until=240)

    gmail = [t for domain, t in mailer.sent if domain == "gmail.com"]
    others = [t for domain, t in mailer.sent if domain == "example.org"]
    assert len(gmail) == 2000 and len(others) == 2000
    assert max(others) == 0.0  # all of example.org went in the first moment
    assert most_in_any_window(gmail, 60.0) <= 600
    assert most_in_any_window(gmail, 6.0) <= 60  # spread over the minute, not one burst
    # 2,000 at 600 a minute: three minutes and twenty seconds, give or take a window.
    assert 190 <= max(gmail) <= 206
    assert most_in_any_window(gmail, 60.0) >= 590  # and not slower than the pace either
    # Held mail spent none of its retries.
    assert all(e.status is EmailStatus.SENT for e in await all_emails(deps))


async def all_emails(deps) -> list[Email]:
    return (await deps.storage.emails.page("prj_a", CursorRequest(limit=5000))).items


async def test_a_deferral_rests_only_the_destination_that_deferred(world):
    deps, clock, mailer = world
    mailer.refuse["gmail.com"] = 1
    await queue_mail(deps, "gmail.com", 50)
    await queue_mail(deps, "example.org", 50)
    await run(deps, clock, until=5)
    assert Counter(d for d, _ in mailer.sent) == {"example.org": 50}  # gmail rests, example.org does not

    await run(deps, clock, until=15)
    gmail = [t for domain, t in mailer.sent if domain == "gmail.com"]
    assert len(gmail) == 50 and min(gmail) >= deps.config.destination_backoff.total_seconds()
    emails = await all_emails(deps)
    assert all(e.status is EmailStatus.SENT for e in emails)
    deferred = [
        event for e in emails for event in await deps.storage.emails.events(e.id) if event.type is EventType.DEFERRED
    ]
    assert len(deferred) == 1 and "421" in deferred[0].data["error"]  # only the one that was refused


async def test_warm_up_holds_the_excess_and_releases_it_the_next_day(world):
    deps, clock, mailer = world
    today = clock.now().date()
    await deps.storage.pacing.set_warmup(warmup("acme.test", today, (50, 100)))
    await queue_mail(deps, "example.org", 200)
    await run(deps, clock, until=60)
    assert len(mailer.sent) == 50

    clock.moment = clock.moment.replace(hour=23, minute=59)
    await run(deps, clock, until=1)
    assert len(mailer.sent) == 50  # the same day: still held

    clock.moment = deps.clock.now() + timedelta(hours=10)  # next day, 24 hours after the first sends
    await run(deps, clock, until=60)
    assert len(mailer.sent) == 150  # day two's allowance: 100

    clock.advance(days=1)  # the schedule is over: no more cap
    await run(deps, clock, until=5)
    assert len(mailer.sent) == 200
    assert all(e.status is EmailStatus.SENT for e in await all_emails(deps))


async def test_other_sending_domains_and_test_mail_are_not_held_by_a_warm_up(world):
    deps, clock, mailer = world
    await deps.storage.pacing.set_warmup(warmup("acme.test", clock.now().date(), (1,)))
    await queue_mail(deps, "example.org", 3, sender="ops@other.test")
    await queue_mail(deps, "example.org", 2)
    await run(deps, clock, until=1)
    assert len(mailer.sent) == 4


def test_groups_and_rules():
    assert destination("GoogleMail.com", []) == "gmail"
    assert destination("hotmail.co.uk", []) == "microsoft"
    assert destination("aol.com", []) == "yahoo"
    assert destination("example.org", []) == "example.org"
    shops = pace_rule("shops", 60, ("a.example", "b.example"))
    assert destination("b.example", [shops]) == "shops"
    assert pace_rule("gmail", 600).limit().count == 60 and pace_rule("gmail", 600).limit().window == 6.0
    assert pace_rule("tiny.example", 5).limit().count == 1 and pace_rule("tiny.example", 5).limit().window == 12.0
    with pytest.raises(Invalid, match="name its domains"):
        pace_rule("shops", 60)
    with pytest.raises(Invalid, match="at least 1"):
        pace_rule("gmail", 0)
    with pytest.raises(Invalid, match="not a domain"):
        pace_rule("shops", 60, ("a b",))
    assert ramp(50, 2, 1000) == (50, 100, 200, 400, 800, 1000)
    schedule = warmup("acme.test", date(2026, 12, 1), (50, 100))
    assert schedule.allowance(date(2026, 11, 30)) is None
    assert schedule.allowance(date(2026, 12, 2)) == 100
    assert schedule.allowance(date(2026, 12, 3)) is None


async def test_a_throttled_send_waits_a_moment_without_spending_a_retry(world):
    deps, clock, mailer = world
    await queue_mail(deps, "example.org", 1)

    class Throttled:
        calls = 0

        async def send(self, email, sent_at, handover=None):
            Throttled.calls += 1
            if Throttled.calls == 1:
                assert await handover(lambda: None)  # refused after the hand-over record
                raise MailerError("SES Throttling: Maximum sending rate exceeded.", permanent=False, throttled=True)
            return await mailer.send(email, sent_at, handover)

    deps = make_deps(deps.storage, clock=clock, mailer=Throttled(), queue=ManualQueue())
    assert await deliver_due(deps) == 1
    assert mailer.sent == [] and await deliver_due(deps) == 0  # not due for a second
    clock.advance(seconds=1)
    assert await deliver_due(deps) == 1 and len(mailer.sent) == 1
    (email,) = await all_emails(deps)
    events = [e.type for e in await deps.storage.emails.events(email.id)]
    assert events == [EventType.QUEUED, EventType.SENT]  # no deferral, no retry spent


async def test_a_campaign_respects_its_sending_domains_warm_up(clock):
    from attrs import evolve

    from autorelay_core.usecases import manage_campaigns as campaigns
    from autorelay_core.usecases.deliver_email import drain
    from autorelay_core.usecases.manage_contacts import ContactInput, create_contact, create_list
    from tests.support import RecordingMailer
    from tests.unit.test_send_email import live_key

    mailer = RecordingMailer()
    deps = make_deps(clock=clock, mailer=mailer, queue=ManualQueue())
    deps = evolve(deps, config=evolve(deps.config, campaign_rate=1000.0))
    key = await live_key(deps)
    await deps.storage.pacing.set_warmup(warmup("acme.test", clock.now().date(), (3, 10)))
    target = await create_list(deps, key, "Subscribers")
    for n in range(5):
        await create_contact(deps, key, ContactInput(f"c{n}@example.com", target.id, f"C{n}"))
    values = {"name": "Spring", "subject": "Hi", "from_email": "news@acme.test", "list_id": target.id}
    draft = await campaigns.create_campaign(
        deps, key, campaigns.CampaignInput(**values, content="<p>{{ unsubscribe_url }}</p>")
    )
    await campaigns.launch_campaign(deps, key, draft.id)
    clock.advance(seconds=1)
    await drain(deps)
    assert len(mailer.sent) == 3  # day one's volume; the other two wait
    state = await campaigns.get_campaign(deps, key, draft.id)
    assert state.status.value == "sending"
    clock.advance(days=1, seconds=1)  # a day after the first three went
    await drain(deps)
    assert len(mailer.sent) == 5
    live = await campaigns.progress(deps, await campaigns.get_campaign(deps, key, draft.id))
    assert live.campaign.status.value == "completed" and live.campaign.sent == 5
