"""DMARC aggregate reports (RFC 7489 appendix C) attached to a message for a rua address, opened and
read into the core's `DmarcReport`s. Strangers write them, so:
- a zip or gzip file is opened by its first bytes, not by what it says it is, and unpacked at most
  to MAX_XML bytes and MAX_RATIO times its packed size (a zip bomb stops there, its memory with it);
- a zip holds at most MAX_MEMBERS files, of which the first .xml is read;
- the XML goes through defusedxml: no DTD, no entities (no billion laughs, no external files);
- a report lists at most MAX_RECORDS rows.
Runs in the reading process (receiver.py), within its time budget."""

from __future__ import annotations

import io
import ipaddress
import zipfile
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException

from adapters.inbound_mail.unreadable import Unreadable
from autorelay_core.domain.dmarc import DmarcRecord, DmarcReport
from autorelay_core.domain.inbound import Attachment

MAX_XML = 10 * 1024 * 1024
# Real reports pack 10 to 40 times; past the first megabyte, a higher ratio is a bomb.
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
MAX_MEMBERS = 10
MAX_RECORDS = 20_000
MAX_REPORTS = 10
_NAMES = (".xml", ".zip", ".gz", ".gzip")
_TYPES = ("application/zip", "application/gzip", "application/x-gzip", "text/xml", "application/xml")


def read_reports(files: Sequence[tuple[Attachment, bytes]]) -> tuple[DmarcReport, ...]:
    """The reports among the files; Unreadable when one is over a limit or is not a report."""
    found = []
    for attachment, data in files:
        if not (attachment.filename.lower().endswith(_NAMES) or attachment.content_type in _TYPES):
            continue
        found.append(parse_report(unpacked(data)))
        if len(found) > MAX_REPORTS:
            raise Unreadable(f"more than {MAX_REPORTS} DMARC reports in one message")
    return tuple(found)


def unpacked(data: bytes) -> bytes:
    """The XML inside a zip or gzip file (or the file itself), within the limits."""
    if data.startswith(b"PK\x03\x04"):
        return _unzipped(data)
    if data.startswith(b"\x1f\x8b"):
        inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
        try:
            xml = inflater.decompress(data, MAX_XML + 1)
        except zlib.error as error:
            raise Unreadable(f"a DMARC report's gzip file is damaged ({error})") from None
        return _within(xml, len(data))
    return _within(data, len(data))


def _unzipped(data: bytes) -> bytes:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise Unreadable(f"a DMARC report's zip file holds more than {MAX_MEMBERS} files")
        member = next((m for m in members if m.filename.lower().endswith(".xml")), None)
        if member is None:
            raise Unreadable("a DMARC report's zip file holds no .xml file")
        if member.file_size > MAX_XML:  # what it says; the read below holds it to that too
            raise Unreadable(f"a DMARC report unpacks to more than {MAX_XML // (1024 * 1024)} MB")
        with archive.open(member) as opened:
            return _within(opened.read(MAX_XML + 1), len(data))
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError) as error:
        raise Unreadable(f"a DMARC report's zip file cannot be opened ({error})") from None


def _within(xml: bytes, packed: int) -> bytes:
    if len(xml) > MAX_XML:
        raise Unreadable(f"a DMARC report unpacks to more than {MAX_XML // (1024 * 1024)} MB")
    if len(xml) > RATIO_FROM and len(xml) > MAX_RATIO * packed:
        raise Unreadable(f"a DMARC report unpacks to more than {MAX_RATIO} times its size (a zip bomb)")
    return xml


def parse_report(xml: bytes) -> DmarcReport:
    try:
        root = safe_xml.fromstring(xml, forbid_dtd=True)
    except (DefusedXmlException, SyntaxError, ValueError) as error:
        raise Unreadable(f"not a DMARC aggregate report ({type(error).__name__})") from None
    if _local(root.tag) != "feedback":
        raise Unreadable("not a DMARC aggregate report (no <feedback>)")
    metadata, policy = _child(root, "report_metadata"), _child(root, "policy_published")
    period = _child(metadata, "date_range")
    records = [el for el in root if _local(el.tag) == "record"]
    if len(records) > MAX_RECORDS:
        raise Unreadable(f"a DMARC report of more than {MAX_RECORDS} records")
    domain = _text(policy, "domain").lower().removesuffix(".")
    report_id = _text(metadata, "report_id")
    if not domain or not report_id:
        raise Unreadable("not a DMARC aggregate report (no domain or report_id)")
    return DmarcReport(
        id="",
        project_id="",
        domain=domain,
        org_name=_text(metadata, "org_name") or "unknown",
        report_id=report_id,
        begins=_moment(_text(period, "begin")),
        ends=_moment(_text(period, "end")),
        policy=_text(policy, "p") or "none",
        records=tuple(r for r in (_record(el) for el in records) if r is not None),
    )


def _record(element: Element) -> DmarcRecord | None:
    row = _child(element, "row")
    evaluated = _child(row, "policy_evaluated")
    try:
        source = str(ipaddress.ip_address(_text(row, "source_ip")))
        count = int(_text(row, "count"))
    except ValueError:
        return None  # a row without an address or a count tells nothing
    return DmarcRecord(
        source_ip=source,
        count=max(0, min(count, 10**9)),
        disposition=_text(evaluated, "disposition") or "none",
        dkim=_verdict(_text(evaluated, "dkim")),
        spf=_verdict(_text(evaluated, "spf")),
        header_from=_text(_child(element, "identifiers"), "header_from").lower(),
    )


def _verdict(value: str) -> str:
    return "pass" if value.lower() == "pass" else "fail"


def _moment(value: str) -> datetime:
    try:
        seconds = int(value)
    except ValueError:
        raise Unreadable("not a DMARC aggregate report (no date_range)") from None
    return datetime.fromtimestamp(max(0, min(seconds, 4_102_444_800)), UTC)  # up to 2100


def _local(tag: object) -> str:
    # DMARC's schema has a namespace in some reporters' files and none in others'.
    return str(tag).rpartition("}")[2]


def _child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    return next((child for child in element if _local(child.tag) == name), None)


def _text(element: Element | None, name: str) -> str:
    child = _child(element, name)
    text = (child.text or "").strip() if child is not None else ""
    return text.replace("\x00", "")[:255]
