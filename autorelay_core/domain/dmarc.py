"""DMARC aggregate reports (RFC 7489 7.2): what the mailbox providers saw of a sending domain's mail,
source by source, and the figures a domain's page shows from them.

Reports come by mail to the `rua` address the suggested DMARC record names (`dmarc-reports@` the
bounce domain, or a receiving domain's), as zip, gzip or plain XML; the inbound reader opens them
within size and ratio limits and reads them into `DmarcReport`s."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from attrs import frozen

RUA_LOCAL_PART = "dmarc-reports"


@frozen
class DmarcRecord:
    """One row of a report: mail from one source, and how the receiver judged it."""

    source_ip: str
    count: int
    disposition: str  # none, quarantine or reject: what the receiver did
    dkim: str  # pass or fail: DKIM aligned with the From domain (policy_evaluated)
    spf: str  # pass or fail: SPF aligned with the From domain
    header_from: str = ""

    @property
    def passed(self) -> bool:
        return self.dkim == "pass" or self.spf == "pass"


@frozen
class DmarcReport:
    id: str  # "" until stored
    project_id: str
    domain: str  # the domain reported on (policy_published), lower case
    org_name: str  # who reports: google.com, Yahoo, ...
    report_id: str  # unique per reporter; a report sent twice is kept once
    begins: datetime
    ends: datetime
    policy: str  # the p= the reporter found published
    records: tuple[DmarcRecord, ...]
    received_at: datetime | None = None


@frozen
class SourceDay:
    """A sending source's mail on one day, as the reports of that day saw it."""

    day: date
    source_ip: str
    messages: int
    passed: int
    failed: int
    reporters: tuple[str, ...]

    @property
    def standing(self) -> str:
        """authorised (all aligned), partly (some failed) or unauthorised (none aligned): a source
        not yet authorised is a service sending as the domain without SPF or DKIM set up for it,
        or someone forging it."""
        if not self.failed:
            return "authorised"
        return "partly" if self.passed else "unauthorised"


def is_rua(address: str) -> bool:
    return address.rpartition("@")[0].lower() == RUA_LOCAL_PART


def dmarc_record(rua_domain: str) -> str:
    """The DMARC record to publish: monitoring only (p=none) until the figures show every source
    aligned, with reports mailed here."""
    if not rua_domain:
        return "v=DMARC1; p=none;"
    return f"v=DMARC1; p=none; rua=mailto:{RUA_LOCAL_PART}@{rua_domain}"


def figures(reports: list[DmarcReport]) -> list[SourceDay]:
    """Per day (the day a report's period begins, UTC) and source: newest day first, then the
    sources with most mail."""
    messages: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    reporters: dict[tuple[date, str], set[str]] = defaultdict(set)
    for report in reports:
        day = report.begins.date()
        for record in report.records:
            tally = messages[day, record.source_ip]
            tally[0] += record.count
            tally[1 if record.passed else 2] += record.count
            reporters[day, record.source_ip].add(report.org_name)
    rows = [
        SourceDay(day, source, total, passed, failed, tuple(sorted(reporters[day, source])))
        for (day, source), (total, passed, failed) in messages.items()
    ]
    return sorted(rows, key=lambda r: (-r.day.toordinal(), -r.messages, r.source_ip))
