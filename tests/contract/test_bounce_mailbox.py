"""The IMAP bounce mailbox against a real IMAP server on loopback (Dovecot): reports in the mailbox
reach the core's feedback rule, processed mail is flagged or moved and never deleted, and a poller
that dies between recording and marking leaves nothing lost or counted twice."""

from __future__ import annotations

import imaplib

import pytest
from attrs import evolve

from adapters.returned_mail.mailbox import DONE, BounceMailbox, ImapSource
from autorelay_core.domain.emails import EmailStatus, EventType
from autorelay_core.domain.verp import verp_address
from autorelay_core.errors import Invalid
from autorelay_core.usecases.deliver_email import drain
from autorelay_core.usecases.send_email import send_email
from tests.bounce_messages import BOUNCES, arf, dsn
from tests.imap_server import Dovecot
from tests.support import ManualQueue, make_deps
from tests.unit.test_send_email import command, live_key

KEY = b"v" * 32


@pytest.fixture(scope="module")
def dovecot():
    with Dovecot() as server:
        yield server


@pytest.fixture
def empty(dovecot):
    """The mailbox emptied (and the processed folder gone) before each test."""
    with dovecot.client() as conn:
        for folder in ("INBOX", "Processed"):
            status, count = conn.select(folder)
            if status == "OK" and count[0] != b"0":
                conn.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
                conn.expunge()
        conn.select("INBOX")
    return dovecot


async def sent_emails(deps, count: int) -> list:
    key = await live_key(deps)
    emails = [await send_email(deps, key, command(to=f"r{n}@example.com")) for n in range(count)]
    await drain(deps)
    return emails


def make_world(clock):
    deps = make_deps(clock=clock, queue=ManualQueue())
    return evolve(deps, config=evolve(deps.config, bounce_domain=BOUNCES, verp_key=KEY))


def source(server: Dovecot, **options) -> ImapSource:
    return ImapSource.parse(server.url(**options))


async def statuses(deps, emails) -> list[str]:
    return [(await deps.storage.emails.locate(e.id)).status.value for e in emails]


async def test_reports_in_the_mailbox_close_the_loop_and_are_flagged_not_deleted(empty, clock):
    deps = make_world(clock)
    emails = await sent_emails(deps, 4)
    path = [verp_address(e.id, KEY, BOUNCES) for e in emails]
    empty.deliver(dsn(path[0], "r0@example.com", "5.1.1", "550 5.1.1 <r0@example.com>: User unknown"))
    empty.deliver(dsn(path[1], "r1@example.com", "4.2.2", "452 4.2.2 Mailbox full"))
    empty.deliver(arf(path[2], "r2@example.com"))
    forged = path[3][: -len(BOUNCES) - 3] + f"zz@{BOUNCES}"
    empty.deliver(dsn(forged, "r3@example.com", "5.1.1", "550 5.1.1 unknown"))
    empty.deliver(b"From: r4@example.com\r\nTo: " + path[3].encode() + b"\r\nSubject: Out of office\r\n"
                  b"Auto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n")  # fmt: skip

    mailbox = BounceMailbox(deps, source(empty, tls=True), context=empty.client_context())
    try:
        assert await mailbox.poll_once() == 5
        assert await mailbox.poll_once() == 0  # nothing is read twice
    finally:
        mailbox.close()
    assert await statuses(deps, emails) == ["bounced", "sent", "complained", "sent"]
    bounced = (await deps.storage.emails.events(emails[0].id))[-1]
    assert bounced.type is EventType.BOUNCED and "User unknown" in bounced.data["error"]
    soft = (await deps.storage.emails.events(emails[1].id))[-1]
    assert soft.type is EventType.DEFERRED and "Mailbox full" in soft.data["error"]
    suppressed = {s.email for s in await deps.storage.suppressions.page(emails[0].project_id, 100, None)}
    assert suppressed == {"r0@example.com", "r2@example.com"}
    assert empty.count() == 5, "processed mail stays in the mailbox"
    assert empty.count(criteria=f"UNKEYWORD {DONE}") == 0 and empty.count(criteria="UNSEEN") == 5


async def test_processed_mail_can_be_moved_to_a_folder(empty, clock):
    deps = make_world(clock)
    (email,) = await sent_emails(deps, 1)
    empty.deliver(dsn(verp_address(email.id, KEY, BOUNCES), "r0@example.com", "5.1.1", "550 5.1.1 no such user"))
    mailbox = BounceMailbox(deps, source(empty, processed="Processed"), context=empty.client_context())
    try:
        assert await mailbox.poll_once() == 1
    finally:
        mailbox.close()
    assert (await deps.storage.emails.locate(email.id)).status is EmailStatus.BOUNCED
    assert empty.count("INBOX") == 0 and empty.count("Processed") == 1


class DiesBeforeMarking(BounceMailbox):
    """A poller whose process dies right after recording its `after`-th message, before marking it."""

    def __init__(self, *args, after: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.left = after

    def _mark_done(self, conn, uid) -> None:
        self.left -= 1
        if self.left == 0:
            conn.shutdown()  # the connection dies with the process
            raise OSError("killed")
        super()._mark_done(conn, uid)


async def test_a_restart_mid_mailbox_loses_nothing_and_counts_nothing_twice(empty, clock):
    deps = make_world(clock)
    emails = await sent_emails(deps, 6)
    for n, email in enumerate(emails):
        status, text = ("5.1.1", "User unknown") if n % 2 == 0 else ("4.2.2", "Mailbox full")
        empty.deliver(dsn(verp_address(email.id, KEY, BOUNCES), f"r{n}@example.com", status, f"550 {status} {text}"))
    dying = DiesBeforeMarking(deps, source(empty), after=3, context=empty.client_context())
    with pytest.raises(OSError):
        await dying.poll_once()
    assert empty.count(criteria=f"UNKEYWORD {DONE}") == 4  # two marked; the third recorded, not marked
    restarted = BounceMailbox(deps, source(empty), context=empty.client_context())
    try:
        assert await restarted.poll_once() == 4
    finally:
        restarted.close()
    assert empty.count(criteria=f"UNKEYWORD {DONE}") == 0 and empty.count() == 6
    assert await statuses(deps, emails) == ["bounced", "sent"] * 3
    for email in emails:
        kinds = [e.type for e in await deps.storage.emails.events(email.id)]
        assert kinds.count(EventType.BOUNCED) + kinds.count(EventType.DEFERRED) == 1, kinds
    notices = [n for e in emails for n in await _notices(deps, e)]
    assert len(notices) == 3  # one email.bounced per bounced email


async def _notices(deps, email) -> list:
    return [e for e in await deps.storage.emails.events(email.id) if e.type is EventType.BOUNCED]


async def test_a_wrong_password_is_reported_without_the_password(empty, clock, caplog):
    deps = make_world(clock)
    wrong = ImapSource.parse(empty.url().replace("mailbox-secret", "not-the-password"))
    mailbox = BounceMailbox(deps, wrong, context=empty.client_context())
    with pytest.raises(imaplib.IMAP4.error):
        await mailbox.poll_once()
    assert "not-the-password" not in wrong.describe() and "bounces@127.0.0.1" in wrong.describe()


def test_the_mailbox_url_is_checked():
    parsed = ImapSource.parse("imaps://bounce%40acme.test:p%2Fw@mail.acme.test/Bounces?processed=Done")
    assert (parsed.user, parsed.password) == ("bounce@acme.test", "p/w")
    assert (parsed.host, parsed.port) == ("mail.acme.test", 993)
    assert parsed.mailbox == "Bounces" and parsed.processed == "Done" and parsed.tls
    assert ImapSource.parse("imap://u:p@h").port == 143 and ImapSource.parse("imap://u:p@h").mailbox == "INBOX"
    with pytest.raises(Invalid, match="like imaps://"):
        ImapSource.parse("pop3://u:p@h/INBOX")
    with pytest.raises(Invalid, match="needs a user and a password"):
        ImapSource.parse("imaps://h/INBOX")


async def test_a_message_too_large_for_a_report_is_marked_without_being_read(empty, clock):
    deps = make_world(clock)
    (email,) = await sent_emails(deps, 1)
    report = dsn(verp_address(email.id, KEY, BOUNCES), "r0@example.com", "5.1.1", "550 5.1.1 no such user")
    empty.deliver(report.replace(b"This is the mail system", b"x" * (6 * 1024 * 1024) + b"\r\nThis is the mail system"))
    mailbox = BounceMailbox(deps, source(empty), context=empty.client_context())
    try:
        assert await mailbox.poll_once() == 1
    finally:
        mailbox.close()
    assert (await deps.storage.emails.locate(email.id)).status is EmailStatus.SENT
    assert empty.count(criteria=f"UNKEYWORD {DONE}") == 0 and empty.count() == 1
