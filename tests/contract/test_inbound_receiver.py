"""The receiver between the listener and the core: a message read in its own process and stored,
a store that fails answered with 451 (the sender keeps the message and tries again; a 5xx would
have bounced it for good), and a read over its time budget answered with 451 too."""

from __future__ import annotations

import pytest

from adapters.inbound_mail.receiver import Receiver
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail
from tests.support import make_deps
from tests.unit.test_send_email import live_key

MESSAGE = b"From: zoe@customer.test\r\nTo: support@in.acme.test\r\nSubject: Hi\r\n\r\nHello\r\n"


@pytest.fixture
async def receiving(clock, mailer, manual_queue):
    deps = make_deps(clock=clock, mailer=mailer, queue=manual_queue)
    key = await live_key(deps)
    await receive_mail.add_receiving_domain(deps, key, "in.acme.test")
    receiver = Receiver(deps)
    yield deps, key, receiver
    receiver.close()


async def test_a_message_is_read_apart_and_stored(receiving):
    deps, key, receiver = receiving
    assert await receiver.take(MESSAGE, "zoe@customer.test", ["support@in.acme.test"]) == "250 2.0.0 OK"
    (stored,), _ = await deps.storage.inbound.page(key.project_id, 10, None, InboundFilter())
    assert (stored.subject, stored.text) == ("Hi", "Hello\n")


async def test_a_store_that_fails_is_a_451_never_a_bounce(receiving, monkeypatch):
    deps, _, receiver = receiving

    async def down(*args):
        raise ConnectionError("database gone")

    monkeypatch.setattr(deps.storage.inbound, "add", down)
    reply = await receiver.take(MESSAGE, "zoe@customer.test", ["support@in.acme.test"])
    assert reply.startswith("451 ")


async def test_a_read_over_its_budget_is_a_451(receiving):
    deps, _, _ = receiving
    hurried = Receiver(deps, read_seconds=0.001)  # less than the reading process takes to start
    try:
        reply = await hurried.take(MESSAGE, "", ["support@in.acme.test"])
    finally:
        hurried.close()
    assert reply.startswith("451 4.3.0 Message not read: not read within")
