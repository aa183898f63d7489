"""What every store shares for inbound routes and DMARC reports: each kept as one JSON payload
beside the columns it is found by."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from autorelay_core.domain.dmarc import DmarcRecord, DmarcReport
from autorelay_core.domain.inbound_routes import InboundRoute

ADD_ROUTE = "INSERT INTO inbound_routes (id, project_id, created_at, payload) VALUES ({p}, {p}, {p}, {j})"
ROUTES = "SELECT id, project_id, created_at, payload FROM inbound_routes WHERE project_id = {p} ORDER BY created_at, id"
DELETE_ROUTE = "DELETE FROM inbound_routes WHERE id = {p} AND project_id = {p}"
ADD_REPORT = (
    "INSERT INTO dmarc_reports (id, project_id, domain, org_name, report_id, begins, payload)"
    " VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {j}) ON CONFLICT (project_id, org_name, report_id) DO NOTHING"
)
REPORTS = (
    "SELECT id, project_id, payload FROM dmarc_reports WHERE project_id = {p} AND domain = {p} AND begins >= {p}"
    " ORDER BY begins, id"
)
_ROUTE_FIELDS = ("match", "pattern", "action", "webhook_id", "forward_to", "forward_from", "smtp_code", "smtp_message")


def route_payload(route: InboundRoute) -> str:
    return json.dumps({name: getattr(route, name) for name in _ROUTE_FIELDS}, separators=(",", ":"))


def route_of(id_: str, project_id: str, created_at: datetime, data: str | dict[str, Any]) -> InboundRoute:
    d = json.loads(data) if isinstance(data, str) else data
    return InboundRoute(id_, project_id, created_at, **{name: d[name] for name in _ROUTE_FIELDS})


def report_payload(report: DmarcReport) -> str:
    r = report
    return json.dumps(
        {
            "domain": r.domain,
            "org_name": r.org_name,
            "report_id": r.report_id,
            "begins": r.begins.timestamp(),
            "ends": r.ends.timestamp(),
            "policy": r.policy,
            "received_at": r.received_at.timestamp() if r.received_at else None,
            "records": [[x.source_ip, x.count, x.disposition, x.dkim, x.spf, x.header_from] for x in r.records],
        },
        separators=(",", ":"),
    )


def report_of(id_: str, project_id: str, data: str | dict[str, Any]) -> DmarcReport:
    d = json.loads(data) if isinstance(data, str) else data
    received = d.get("received_at")
    return DmarcReport(
        id=id_,
        project_id=project_id,
        domain=d["domain"],
        org_name=d["org_name"],
        report_id=d["report_id"],
        begins=datetime.fromtimestamp(d["begins"], UTC),
        ends=datetime.fromtimestamp(d["ends"], UTC),
        policy=d["policy"],
        records=tuple(DmarcRecord(*x) for x in d["records"]),
        received_at=datetime.fromtimestamp(received, UTC) if received is not None else None,
    )


def report_values(report: DmarcReport, begins: object) -> tuple[object, ...]:
    r = report
    return (r.id, r.project_id, r.domain, r.org_name, r.report_id, begins, report_payload(r))
