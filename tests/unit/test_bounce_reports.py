"""A corpus of bounce formats, written from their public specifications and samples (Postfix's DSN
and delay warning, Exim's free-form bounce, an Exchange NDR, Gmail's DSN, an RFC 5965 abuse report),
each read as the right report; auto-replies and unrelated mail are none."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.smtp_relay.reports import COMPLAINT, HARD, SOFT, read_reports

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
    assert report.kind == kind and report.recipients == (recipient,)
    assert words in report.detail and "\n" not in report.detail


@pytest.mark.parametrize("name", ["vacation.eml", "unrelated.eml"])
def test_auto_replies_and_unrelated_mail_report_nothing(name):
    assert read_reports((CORPUS / name).read_bytes()) == []
