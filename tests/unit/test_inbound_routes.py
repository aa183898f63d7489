"""Inbound routes in the core: which route an address takes (the most specific, a regular
expression within its time budget), what each action does to a received message (webhook, forward
through the outbox, store, reject at RCPT), and the rules a route must keep when it is made."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from attrs import evolve

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.inbound import Attachment
from autorelay_core.domain.inbound_routes import REGEX_SECONDS, InboundRoute, regex_problem, route_for
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail as uc
from autorelay_core.usecases.inbound_routes import RouteInput, add_route, delete_route, routes
from autorelay_core.usecases.manage_keys import create_project
from autorelay_core.usecases.manage_webhooks import WebhookInput, create_webhook
from tests.support import make_deps
from tests.unit.test_receive_mail import read
from tests.unit.test_send_email import live_key

WHEN = datetime(2026, 12, 1, tzinfo=UTC)


def route(match: str, pattern: str, n: int = 0, action: str = "store") -> InboundRoute:
    return InboundRoute(f"irt_{n}", "prj", WHEN.replace(minute=n), match, pattern, action)


@pytest.fixture
def deps(clock, mailer, manual_queue):
    return make_deps(clock=clock, mailer=mailer, queue=manual_queue)


def test_the_most_specific_route_wins_then_the_oldest():
    table = [
        route("catch_all", "in.acme.test", 0),
        route("regex", r"(sales|billing)-.*@in\.acme\.test", 1),
        route("plus", "support@in.acme.test", 2),
        route("exact", "support+vip@in.acme.test", 3),
        route("regex", r".*@in\.acme\.test", 4),
    ]
    assert route_for(table, "Support+VIP@in.acme.test").id == "irt_3"
    assert route_for(table, "support+eu@in.acme.test").id == "irt_2"
    assert route_for(table, "support@in.acme.test").id == "irt_2"
    assert route_for(table, "supporter@in.acme.test").id == "irt_4"
    assert route_for(table, "billing-eu@in.acme.test").id == "irt_1"
    assert route_for(table[:1], "anyone@in.acme.test").id == "irt_0"
    assert route_for(table, "anyone@other.test") is None


def test_an_expression_that_would_unroll_into_the_servers_memory_is_refused_before_it_is_compiled():
    for pattern in ("(a{1000}){1000}", "a{4294967294}", "((a|b){320}){320}", r"(\p{L}{100}){100}"):
        problem = regex_problem(pattern)
        assert problem and "repeats too much" in problem, pattern
    for pattern in ("(a|b){320}", r"a{64}@b{255}", r"(sales|billing)@in\.acme\.test", "[[a-z]--[aeiou]]{5}", "x{3,}"):
        assert regex_problem(pattern) is None, pattern


def test_a_regular_expression_that_backtracks_for_ever_stops_within_its_budget():
    evil = [route("regex", r"(a+)+\$", n) for n in range(20)] + [route("catch_all", "in.acme.test", 30)]
    started = time.monotonic()
    chosen = route_for(evil, "a" * 5000 + "!@in.acme.test")
    assert time.monotonic() - started < REGEX_SECONDS + 0.1
    assert chosen.id == "irt_30"  # the expressions gave up; the catch-all still takes the mail


async def test_a_route_names_the_projects_own_domain_a_valid_pattern_and_what_its_action_needs(deps):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    bad = [
        (RouteInput("exact", "support@elsewhere.test", "store"), "not one of this project's receiving domains"),
        (RouteInput("exact", "not an address", "store"), "pattern"),
        (RouteInput("plus", "support+x@in.acme.test", "store"), "without its \\+tag"),
        (RouteInput("regex", "(unclosed", "store"), "not a regular expression"),
        (RouteInput("regex", "a\nb", "store"), "line break"),
        (RouteInput("nearby", "x@in.acme.test", "store"), "match must be one of"),
        (RouteInput("exact", "x@in.acme.test", "explode"), "action must be one of"),
        (RouteInput("exact", "x@in.acme.test", "reject", smtp_code=250), "smtpCode"),
        (RouteInput("exact", "x@in.acme.test", "reject", smtp_message="bye\r\nRCPT TO:<x>"), "smtpMessage"),
        (RouteInput("exact", "x@in.acme.test", "webhook", webhook_id="wh_nope"), "not found"),
        (
            RouteInput("exact", "x@in.acme.test", "forward", forward_to="a@in.acme.test", forward_from="n@acme.test"),
            "loop",
        ),
        (
            RouteInput(
                "exact", "x@in.acme.test", "forward", forward_to="me@home.test", forward_from="n@unverified.test"
            ),
            "verified",
        ),
    ]
    for given, problem in bad:
        with pytest.raises(Invalid, match=problem):
            await add_route(deps, acme, given)
    bounced = evolve(deps, config=evolve(deps.config, bounce_domain="bounces.acme.test"))
    with pytest.raises(Invalid, match="loop"):
        await add_route(
            bounced,
            acme,
            RouteInput(
                "exact", "x@in.acme.test", "forward", forward_to="b@bounces.acme.test", forward_from="n@acme.test"
            ),
        )
    assert await routes(deps, acme) == []
    made = await add_route(deps, acme, RouteInput("catch_all", "*@In.Acme.Test", "reject"))
    assert (made.pattern, made.refusal()) == ("in.acme.test", "550 5.1.1 Mailbox unavailable")
    other = Caller.system((await create_project(deps, "other")).id)
    with pytest.raises(NotFound):
        await delete_route(deps, other, made.id)
    await delete_route(deps, acme, made.id)
    assert await routes(deps, acme) == []


async def test_a_reject_route_refuses_at_rcpt_and_nothing_is_stored(deps):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    await add_route(deps, acme, RouteInput("exact", "old@in.acme.test", "reject", smtp_code=551, smtp_message="Gone"))
    assert (await uc.accepts(deps, "OLD@in.acme.test")).refusal == "551 5.0.0 Gone"
    assert (await uc.accepts(deps, "new@in.acme.test")).refusal == ""
    stored = await uc.receive(deps, read(), b"raw", "zoe@customer.test", ["old@in.acme.test"])
    assert stored == []


async def test_webhook_and_store_routes_choose_who_hears(deps):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    everyone = await create_webhook(deps, acme, WebhookInput(url="https://93.184.216.34/a", events=["email.received"]))
    # Named by a route, an endpoint hears the mail even though it listens for other events.
    named = await create_webhook(deps, acme, WebhookInput(url="https://93.184.216.34/b", events=["email.sent"]))
    await add_route(deps, acme, RouteInput("exact", "quiet@in.acme.test", "store"))
    await add_route(deps, acme, RouteInput("plus", "app@in.acme.test", "webhook", webhook_id=named[0].id))

    async def heard(recipient: str) -> set[str]:
        (message,) = await uc.receive(deps, read(), b"raw", "zoe@customer.test", [recipient])
        hooks = set()
        for hook in (everyone[0], named[0]):
            found, _ = await deps.storage.webhooks.recent(acme.project_id, hook.id, 50)
            hooks |= {hook.id for d in found if message.id in d.body}
        return hooks

    assert await heard("quiet@in.acme.test") == set()
    assert await heard("app+t1@in.acme.test") == {named[0].id}
    assert await heard("anyone@in.acme.test") == {everyone[0].id}


async def test_a_forward_route_sends_the_message_on_through_the_outbox(deps, manual_queue):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    made = await add_route(
        deps,
        acme,
        RouteInput("exact", "help@in.acme.test", "forward", forward_to="Me@Home.test", forward_from="desk@acme.test"),
    )
    pdf = Attachment("", "a.pdf", "application/pdf", 3, "attachment")
    (message,) = await uc.receive(
        deps, read(files=((pdf, b"PDF"),), html="<p>Hi</p>"), b"raw", "zoe@customer.test", ["help@in.acme.test"]
    )
    ((to, email_id, problem),) = message.forwards
    assert (to, problem) == ("me@home.test", "") and message.routes == (made.id,)
    email = await deps.storage.emails.get(acme.project_id, email_id)
    assert email.to == ("me@home.test",) and email.sender == "desk@acme.test"
    assert email.reply_to == ("zoe@customer.test",) and email.subject == "Question"
    assert [a.filename for a in email.attachments] == ["a.pdf"] and email.html == "<p>Hi</p>"
    view = uc.received_view(deps, message, deps.clock.now())
    assert view["forwarded"] == [{"to": "me@home.test", "email_id": email_id, "error": None}]


async def test_a_forward_that_cannot_be_sent_keeps_the_message_and_says_why(deps):
    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    await add_route(
        deps,
        acme,
        RouteInput("exact", "help@in.acme.test", "forward", forward_to="me@home.test", forward_from="desk@acme.test"),
    )
    (message,) = await uc.receive(deps, read(subject="a\x00b"), b"raw", "zoe@customer.test", ["help@in.acme.test"])
    ((_, email_id, problem),) = message.forwards
    assert email_id == "" and "subject" in problem
    assert (await uc.get_received(deps, acme, message.id)).forwards == message.forwards


async def test_a_forward_past_the_quota_or_from_a_suspended_project_is_not_sent_but_the_mail_is_received(deps):
    from autorelay_core.domain.projects import AccountStatus
    from autorelay_core.usecases.manage_reputation import operator_action

    acme = await live_key(deps)
    await uc.add_receiving_domain(deps, acme, "in.acme.test")
    await add_route(
        deps,
        acme,
        RouteInput("catch_all", "in.acme.test", "forward", forward_to="me@home.test", forward_from="desk@acme.test"),
    )
    spent = evolve(deps, config=evolve(deps.config, monthly_quota=0))
    (message,) = await uc.receive(spent, read(), b"raw", "zoe@customer.test", ["help@in.acme.test"])
    ((_, email_id, problem),) = message.forwards
    assert email_id == "" and "quota" in problem.lower()
    await operator_action(deps, acme.project_id, AccountStatus.SUSPENDED, "abuse")
    (message,) = await uc.receive(deps, read(), b"raw", "zoe@customer.test", ["help@in.acme.test"])
    ((_, email_id, problem),) = message.forwards
    assert email_id == "" and problem
    assert len((await uc.list_received(deps, acme, CursorRequest(10), InboundFilter()))[0]) == 2
