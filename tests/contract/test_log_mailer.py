"""The log mailer writes real RFC 5322 files, once per message."""

from __future__ import annotations

import email
import email.policy

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


async def test_redelivery_does_not_write_a_second_copy(tmp_path):
    mailer = LogMailer(tmp_path)
    await mailer.send(sample(), FakeClock().now())
    await mailer.send(sample(subject="changed"), FakeClock().now())
    assert (tmp_path / "journal.log").read_text().split() == ["em_1"]
    assert list(tmp_path.glob("*.eml")) == [mailer.path_for("em_1")]


async def test_attachments_become_mime_parts(tmp_path):
    mailer = LogMailer(tmp_path)
    pdf = Attachment("report.pdf", b"%PDF-1.4", "application/pdf")
    await mailer.send(sample(attachments=(pdf,)), FakeClock().now())
    message = email.message_from_bytes(mailer.path_for("em_1").read_bytes(), policy=email.policy.default)
    assert message.get_content_type() == "multipart/mixed"
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "report.pdf" and attachment.get_content() == b"%PDF-1.4"
