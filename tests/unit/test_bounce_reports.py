"""A corpus of bounce formats, written from their public specifications and samples (Postfix's DSN
and delay warning, Exim's free-form bounce, an Exchange NDR, Gmail's DSN, an RFC 5965 abuse report),
each read as the right report; auto-replies and unrelated mail are none."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from adapters.returned_mail.reports import COMPLAINT, HARD, SOFT, NotReadable, read_reports

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "bounces"


@pytest.mark.parametrize(
    ("name", "kind", "recipient", "words"),
    [
        ("postfix_hard.eml", HARD, "gone@example.com", "5.1.1"),
        ("postfix_delay.eml", SOFT, "slow@example.net", "4.4.1"),
        ("exim_freeform.eml", HARD, "nobody@example.net", "Mail delivery failed"),
        ("exchange.eml", HARD, "former@corp.example", "RecipientNotFound"),
        ("gmail.eml", HARD, "missing@gmail.com", "does not exist"),
        ("arf.eml", COMPLAINT, "reader@example.net", "abuse report from SomeGenerator/1.0"),
    ],
)
def test_each_format_is_read_as_what_it_reports(name, kind, recipient, words):
    (report,) = read_reports((CORPUS / name).read_bytes())
    assert report.kind == kind and report.recipients == ((recipient,),)
    assert words in report.detail and "\n" not in report.detail


@pytest.mark.parametrize("name", ["vacation.eml", "unrelated.eml"])
def test_auto_replies_and_unrelated_mail_report_nothing(name):
    assert read_reports((CORPUS / name).read_bytes()) == []


def _dsn(status_part: str, *, status_type: str = "message/delivery-status", headers: str = "") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example\r\nTo: b+x@bounces.example\r\n" + headers + "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        f"--B\r\nContent-Type: {status_type}\r\n\r\n{status_part}\r\n--B--\r\n"
    ).encode("utf-8", "surrogateescape")


def test_a_block_gives_its_recipient_every_name_the_original_first():
    (report,) = read_reports(
        _dsn(
            "Reporting-MTA: dns; mx.example\r\n\r\n"
            "Final-Recipient: rfc822; ana@some-ms-daemon\r\nOriginal-Recipient: rfc822;Ana@Example.com\r\n"
            "X-Actual-Recipient: rfc822; ana.local@mx.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        )
    )
    assert report.recipients == (("Ana@Example.com", "ana@some-ms-daemon", "ana.local@mx.example"),)


def test_blocks_without_blank_lines_between_them_are_told_apart():
    reports = read_reports(
        _dsn(
            "Reporting-MTA: dns; mx.example\r\n"
            "Final-Recipient: rfc822; a@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            "Original-Recipient: rfc822; b@example.com\r\nFinal-Recipient: rfc822; b@example.com\r\n"
            "Action: delayed\r\nStatus: 4.4.1\r\n"
            "Final-Recipient: rfc822; c@example.com\r\nAction: failed\r\nStatus: 5.2.2\r\n"
        )
    )
    assert [(r.kind, r.recipients) for r in reports] == [
        (HARD, (("a@example.com",), ("c@example.com",))),
        (SOFT, (("b@example.com",),)),
    ]
    assert reports[0].detail == "5.1.1"


def test_a_status_part_sent_as_text_plain_is_read():
    (report,) = read_reports(
        _dsn(
            "Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n", status_type="text/plain"
        )
    )
    assert report.kind == HARD and report.recipients == (("gone@example.com",),)


def test_encoded_and_raw_8bit_headers_never_raise():
    headers = "Subject: =?utf-8?b?w6TDtsO8?= \udcff\udcfe raw\r\nX-Junk: \udc80\r\n"
    status = (
        "Final-Recipient: rfc822; g\udce9@example.com\r\n"
        "Final-Recipient: rfc822; ok@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
    )
    (report,) = read_reports(_dsn(status, headers=headers))
    assert report.recipients[-1] == ("ok@example.com",)
    free_form = (
        "From: x@y.example\r\nSubject: \udcff\udcfe Undeliverable\r\n\r\n<gone@example.com>: 550 user unknown\r\n"
    )
    read_reports(free_form.encode("utf-8", "surrogateescape"))


def test_hostile_shapes_are_refused_or_read_within_the_budget():
    parts = b"".join(b"--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(160_000))
    swarm = b"To: x@b.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n" + parts
    for raw in (
        swarm,
        b"Subject: x\r\n\r\n" + b"\r\n" * 2_500_000,
        b"Subject: x\r\n\r\n" + b"a" * 5_000_000,
        b"Subject: x\r\n\r\n" + b"gone@example.com failed 550\r\n" * 160_000,
        _dsn("Final-Recipient: rfc822; x@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n" * 40_000),
    ):
        started = time.process_time()
        try:
            reports = read_reports(raw)
        except NotReadable:
            reports = []
        assert time.process_time() - started < 1.5, raw[:60]
        assert sum(len(r.recipients) for r in reports) <= 1000
    with pytest.raises(NotReadable, match="MIME boundaries"):
        read_reports(swarm)


async def test_a_message_the_reader_cannot_read_is_kept_and_logged_once(deps, tmp_path, monkeypatch, caplog):
    from adapters.returned_mail import intake as module

    def broken(raw, budget):
        raise UnicodeError("a reader bug")

    monkeypatch.setattr(module, "read_reports", broken)
    intake = module.Intake(deps, keep_dir=tmp_path / "unread")
    try:
        assert await intake.take(b"Subject: odd\r\n\r\nbody", ["b+x@bounces.test"]) == 0
        assert await intake.take(b"Subject: odd\r\n\r\nbody", ["b+x@bounces.test"], keep=False) == 0
    finally:
        intake.close()
    (kept,) = (tmp_path / "unread").iterdir()
    assert kept.read_bytes() == b"Subject: odd\r\n\r\nbody" and (kept.stat().st_mode & 0o777) == 0o600
    lines = [r.getMessage() for r in caplog.records if r.name == "autorelay.inbound"]
    assert len(lines) == 2 and "kept as" in lines[0] and "left in the mailbox" in lines[1]
