"""DMARC aggregate reports as a reporter mails them: plain, zipped and gzipped XML read into
figures; bombs, billion laughs and strange files refused with a reason, within their limits; and
a report kept only for the projects whose verified domain it reports on."""

from __future__ import annotations

import gzip
import io
import time
import zipfile
from datetime import UTC, date, datetime

import pytest
from attrs import evolve

from adapters.inbound_mail.dmarc import MAX_RATIO, MAX_XML, parse_report, read_reports, unpacked
from adapters.inbound_mail.unreadable import Unreadable
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.dmarc import dmarc_record, figures, is_rua
from autorelay_core.domain.inbound import Attachment
from autorelay_core.policies.pagination import CursorRequest
from autorelay_core.ports.inbound import InboundFilter
from autorelay_core.usecases import receive_mail as uc
from autorelay_core.usecases.dmarc_reports import dmarc_summary
from autorelay_core.usecases.manage_domains import create_domain, list_domains
from tests.support import make_deps
from tests.unit.test_receive_mail import read
from tests.unit.test_send_email import live_key

BEGIN = int(datetime(2026, 12, 1, tzinfo=UTC).timestamp())


def report_xml(
    domain: str = "shop.example",
    report_id: str = "r-1",
    rows: list[tuple[str, int, str, str]] | None = None,
    namespace: str = "",
) -> bytes:
    rows = rows if rows is not None else [("192.0.2.1", 40, "pass", "pass"), ("198.51.100.7", 3, "fail", "fail")]
    xmlns = f' xmlns="{namespace}"' if namespace else ""
    records = "".join(
        f"<record><row><source_ip>{ip}</source_ip><count>{count}</count><policy_evaluated>"
        f"<disposition>none</disposition><dkim>{dkim}</dkim><spf>{spf}</spf></policy_evaluated></row>"
        f"<identifiers><header_from>{domain}</header_from></identifiers></record>"
        for ip, count, dkim, spf in rows
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><feedback{xmlns}><report_metadata><org_name>google.com</org_name>'
        f"<email>noreply-dmarc-support@google.com</email><report_id>{report_id}</report_id>"
        f"<date_range><begin>{BEGIN}</begin><end>{BEGIN + 86399}</end></date_range></report_metadata>"
        f"<policy_published><domain>{domain}</domain><p>none</p></policy_published>{records}</feedback>"
    ).encode()


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, data)
    return out.getvalue()


def file(name: str, data: bytes, kind: str) -> tuple[Attachment, bytes]:
    return Attachment("att_1", name, kind, len(data), "attachment"), data


def test_a_zipped_report_is_read_into_its_rows():
    data = zipped("google.com!shop.example!1764547200!1764633599.xml", report_xml())
    (report,) = read_reports([file("google.com!shop.example!1764547200!1764633599.zip", data, "application/zip")])
    assert (report.domain, report.org_name, report.report_id, report.policy) == (
        "shop.example",
        "google.com",
        "r-1",
        "none",
    )
    assert report.begins == datetime(2026, 12, 1, tzinfo=UTC)
    assert [(r.source_ip, r.count, r.passed) for r in report.records] == [
        ("192.0.2.1", 40, True),
        ("198.51.100.7", 3, False),
    ]


def test_gzip_and_plain_xml_and_a_namespace_read_alike():
    xml = report_xml(namespace="urn:ietf:params:xml:ns:dmarc-2.0")
    for name, data, kind in (
        ("report.xml.gz", gzip.compress(xml), "application/gzip"),
        ("report.xml", xml, "text/xml"),
        ("report.bin", gzip.compress(xml), "application/gzip"),  # opened by its first bytes
    ):
        (report,) = read_reports([file(name, data, kind)])
        assert report.domain == "shop.example" and len(report.records) == 2


def test_other_files_are_left_alone():
    assert read_reports([file("photo.png", b"\x89PNG....", "image/png")]) == ()


def test_a_zip_bomb_stops_at_the_limit_quickly():
    bomb = zipped("report.xml", b"<" + b" " * (MAX_XML * 20))  # 200 MB of spaces, about 200 KB packed
    started = time.monotonic()
    with pytest.raises(Unreadable, match="unpacks to more than"):
        unpacked(bomb)
    assert time.monotonic() - started < 5


def test_a_gzip_bomb_stops_at_the_limit():
    with pytest.raises(Unreadable, match="unpacks to more than"):
        unpacked(gzip.compress(b" " * (MAX_XML * 4)))


def test_a_high_ratio_under_the_size_limit_is_refused_as_a_bomb():
    data = b" " * (MAX_XML - 1)
    packed = gzip.compress(data, 9)
    assert len(data) > MAX_RATIO * len(packed)
    with pytest.raises(Unreadable, match="zip bomb"):
        unpacked(packed)


def test_a_zip_whose_header_lies_about_its_size_is_still_held_to_the_limit():
    inner = zipped("report.xml", b" " * (MAX_XML + 10))
    # Rewrite the declared sizes in both headers to 100 bytes.
    forged = inner.replace((MAX_XML + 10).to_bytes(4, "little"), (100).to_bytes(4, "little"))
    with pytest.raises(Unreadable):
        unpacked(forged)


def test_billion_laughs_and_external_entities_are_refused():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<feedback>&lol2;</feedback>"
    )
    external = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><feedback>&e;</feedback>'
    for xml in (laughs, external):
        with pytest.raises(Unreadable, match="not a DMARC aggregate report"):
            parse_report(xml)


def test_a_file_that_is_not_a_report_says_so():
    with pytest.raises(Unreadable, match="not a DMARC aggregate report"):
        read_reports([file("notes.xml", b"<html><body>hi</body></html>", "text/xml")])
    with pytest.raises(Unreadable, match="cannot be opened"):
        read_reports([file("report.zip", b"PK\x03\x04 broken", "application/zip")])


def test_rows_without_an_address_or_a_count_are_skipped():
    report = parse_report(report_xml(rows=[("not-an-ip", 4, "pass", "pass"), ("2001:db8::1", 2, "fail", "pass")]))
    assert [(r.source_ip, r.count) for r in report.records] == [("2001:db8::1", 2)]


def test_figures_add_up_per_day_and_source_and_mark_unauthorised_sources():
    first = parse_report(report_xml())
    second = parse_report(report_xml(report_id="r-2", rows=[("192.0.2.1", 10, "fail", "fail")]))
    rows = figures([first, second])
    assert [(r.day, r.source_ip, r.messages, r.passed, r.failed, r.standing) for r in rows] == [
        (date(2026, 12, 1), "192.0.2.1", 50, 40, 10, "partly"),
        (date(2026, 12, 1), "198.51.100.7", 3, 0, 3, "unauthorised"),
    ]


def test_the_rua_address_and_the_suggested_record():
    assert is_rua("DMARC-Reports@bounces.example") and not is_rua("dmarc@bounces.example")
    assert dmarc_record("bounces.example") == "v=DMARC1; p=none; rua=mailto:dmarc-reports@bounces.example"
    assert dmarc_record("") == "v=DMARC1; p=none;"


@pytest.fixture
def deps(clock, mailer, manual_queue):
    return make_deps(clock=clock, mailer=mailer, queue=manual_queue)


async def test_a_report_goes_to_the_projects_whose_domain_it_reports_on_and_nowhere_else(deps):
    bounced = evolve(deps, config=evolve(deps.config, bounce_domain="Bounces.Example"))
    acme = await live_key(bounced)  # acme.test verified
    pending = await live_key(bounced, name="pending")
    await create_domain(bounced, Caller.system(pending.project_id), "shop.example")  # not verified
    other = await live_key(bounced, name="other")
    await uc.add_receiving_domain(bounced, other, "in.other.test")
    report = parse_report(report_xml("acme.test"))
    mail = read(reports=(report, parse_report(report_xml("shop.example", "r-9"))))

    assert (await uc.accepts(bounced, "dmarc-reports@bounces.example")).project_id == ""
    assert await uc.accepts(deps, "dmarc-reports@bounces.example") is None  # no bounce domain: no rua there
    await uc.receive(bounced, mail, b"raw", "noreply@google.com", ["dmarc-reports@bounces.example"])
    # To a receiving domain's rua: its project, for its own sending domains (acme.test, not shop.example).
    await uc.receive(bounced, mail, b"raw", "noreply@google.com", ["dmarc-reports@in.other.test"])

    (acme_domain,) = [d for d in await list_domains(bounced, acme) if d.name == "acme.test"]
    summary = await dmarc_summary(bounced, acme, acme_domain.id)
    assert summary.reports == 1 and [r.messages for r in summary.figures] == [40, 3]
    assert summary.record == "v=DMARC1; p=none; rua=mailto:dmarc-reports@bounces.example"
    assert summary.authorisation_name == "acme.test._report._dmarc.bounces.example"
    # An unverified domain of that name hears nothing: a report is believed only where the DNS
    # that names this server as its rua is the project's own.
    mine = Caller.system(pending.project_id)
    (shop,) = [d for d in await list_domains(bounced, mine) if d.name == "shop.example"]
    assert (await dmarc_summary(bounced, mine, shop.id)).reports == 0
    (theirs,) = [d for d in await list_domains(bounced, other) if d.name == "acme.test"]
    assert (await dmarc_summary(bounced, other, theirs.id)).reports == 1  # by both ways, kept once
    # A report is not received mail.
    assert await uc.list_received(bounced, other, CursorRequest(10), InboundFilter()) == ([], False)
