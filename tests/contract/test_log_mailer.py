"""The log mailer writes real RFC 5322 files, once per message."""

from __future__ import annotations

import email
import email.policy
import os

import pytest

from adapters.mailers.log import LogMailer
from autorelay_core.domain.emails import Attachment, Email
from tests.support import FakeClock


def sample(**overrides) -> Email:
    fields = {
        "id": "em_1",
        "project_id": "prj",
        "message_id": "<abc@acme.test>",
        "sender": "Acme <a@acme.test>",
        "to": ("bob@example.com", "eve@example.com"),
        "bcc": ("secret@example.com",),
        "subject": "Grüße",
        "html": "<p>Hi</p>",
        "text": "Hi\n",
        "created_at": FakeClock().now(),
    }
    fields.update(overrides)
    return Email(**fields)


async def test_message_file_parses_with_both_parts(tmp_path):
    mailer = LogMailer(tmp_path)
    provider_id = await mailer.send(sample(), FakeClock().now())
    assert provider_id == "<abc@acme.test>"
    message = email.message_from_bytes(mailer.path_for("em_1").read_bytes(), policy=email.policy.default)
    assert message["Message-ID"] == "<abc@acme.test>"
    assert message["Subject"] == "Grüße" and message["To"] == "bob@example.com, eve@example.com"
    assert message["Bcc"] is None and message["Date"]
    assert message.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in message.iter_parts()}
    assert parts["text/plain"].strip() == "Hi" and parts["text/html"].strip() == "<p>Hi</p>"


@pytest.mark.parametrize("unnamed", [True, False], ids=["O_TMPFILE", "named temporary file"])
async def test_redelivery_does_not_write_a_second_copy(tmp_path, unnamed):
    mailer = LogMailer(tmp_path)
    mailer._anonymous = unnamed  # both ways of publishing a whole file under its name
    await mailer.send(sample(), FakeClock().now())
    await mailer.send(sample(subject="changed"), FakeClock().now())
    assert (tmp_path / "journal.log").read_text().splitlines() == [f"em_1 {os.getpid()}"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["em_1.eml", "journal.log"], "no temporary file left"
    assert b"Subject: =?utf-8?" in mailer.path_for("em_1").read_bytes(), "the first copy, whole"
    assert oct(mailer.path_for("em_1").stat().st_mode & 0o777) == "0o600"


async def test_attachments_become_mime_parts(tmp_path):
    mailer = LogMailer(tmp_path)
    pdf = Attachment("report.pdf", b"%PDF-1.4", "application/pdf")
    await mailer.send(sample(attachments=(pdf,)), FakeClock().now())
    message = email.message_from_bytes(mailer.path_for("em_1").read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.pdf" and attachment.get_content() == b"%PDF-1.4"


async def test_headers_fold_and_encode_where_they_must(tmp_path):
    mailer = LogMailer(tmp_path)
    many = tuple(f"recipient{i}@example.com" for i in range(50))
    subject = "Über " + "lange Betreffzeile " * 12
    pdf = Attachment("Bericht März.pdf", b"\x00\x01binary" * 100, "application/pdf")
    await mailer.send(
        sample(
            to=many,
            sender="Jürgen Groß <j@acme.test>",
            subject=subject,
            headers={"X-Note": "é" * 90},
            text="line one\nline two " + "x" * 200,
            html="<p>" + "ü" * 300 + "</p>",
            attachments=(pdf,),
        ),
        FakeClock().now(),
    )
    raw = mailer.path_for("em_1").read_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n")) and b"\n" not in raw.replace(b"\r\n", b"")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert [a.addr_spec for a in message["To"].addresses] == list(many)
    assert message["From"].addresses[0].display_name == "Jürgen Groß"
    assert message["Subject"] == subject and message["X-Note"] == "é" * 90
    # The parser keeps the CRLF line ends of the wire format in the decoded text.
    assert message.get_body(("plain",)).get_content().replace("\r\n", "\n") == "line one\nline two " + "x" * 200
    assert message.get_body(("html",)).get_content().strip() == "<p>" + "ü" * 300 + "</p>"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "Bericht März.pdf" and attachment.get_content() == b"\x00\x01binary" * 100


async def test_long_ascii_headers_fold_between_words_and_read_back_unchanged(tmp_path):
    mailer = LogMailer(tmp_path)
    unsubscribe = "<https://mail.acme.test/api/v1/unsubscribe?token=" + "t" * 150 + ">, <mailto:u@acme.test?subject=x>"
    subject = "A plain subject that is much longer than one line of seventy-eight characters, " * 3
    word = "w" * 1200  # no space to fold at, and past the 998-octet line limit: encoded instead
    await mailer.send(
        sample(subject=subject.strip(), headers={"List-Unsubscribe": unsubscribe, "X-Long": word}), FakeClock().now()
    )
    raw = mailer.path_for("em_1").read_bytes()
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    head = raw.split(b"\r\n\r\n")[0].decode()
    assert all(len(line) <= 78 for line in head.split("\r\n") if line.startswith((" Subject", "Subject", " A", " of")))
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["Subject"] == subject.strip()
    assert message["List-Unsubscribe"] == unsubscribe and message["X-Long"] == word
