"""DMARC aggregate reports (domain/dmarc.py): a report mailed to a rua address is kept for each
project whose sending domain it reports on, and a domain's page shows the figures.

A report to the bounce domain's rua address goes to every project that verified the domain (the
DMARC record pointing here is in that domain's DNS); one to a receiving domain's goes to that
domain's project, when the domain reported on is one of its sending domains. Anyone can mail a
report: a forged one adds figures to a page, and changes nothing else."""

from __future__ import annotations

from datetime import timedelta

from attrs import evolve, frozen

from autorelay_core.domain.callers import Caller
from autorelay_core.domain.dmarc import DmarcReport, SourceDay, dmarc_record, figures
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.domain.inbound import domain_of
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found

SHOWN_DAYS = 30


@frozen
class DmarcSummary:
    figures: list[SourceDay]
    reports: int
    record: str  # the DMARC record to publish (with the rua address)
    # When reports go to another domain than the one reported on, that domain says it takes them
    # (RFC 7489 7.1): this TXT record, at `authorisation_name`, in the rua domain's DNS.
    authorisation_name: str
    authorisation_value: str = "v=DMARC1"


async def take_reports(deps: Deps, reports: tuple[DmarcReport, ...], recipients: list[str]) -> int:
    """Keep each report for the projects it belongs to; returns how many were new."""
    bounce = rua_domain(deps)
    kept = 0
    for recipient in recipients:
        name = domain_of(recipient)
        for report in reports:
            if bounce and name == bounce:
                domains = [
                    d for d in await deps.storage.domains.named(report.domain) if d.status is DomainStatus.VERIFIED
                ]
            else:
                receiving = await deps.storage.inbound.domain_named(name)
                mine = receiving and await deps.storage.domains.get_by_name(receiving.project_id, report.domain)
                domains = [mine] if mine else []
            for domain in domains:
                kept += await _keep(deps, domain, report)
    return kept


async def _keep(deps: Deps, domain: Domain, report: DmarcReport) -> bool:
    stored = evolve(report, id=deps.ids.new("dmr"), project_id=domain.project_id, received_at=deps.clock.now())
    return await deps.storage.inbound.add_report(stored)


def rua_domain(deps: Deps) -> str:
    """Where reports are mailed (the suggested record's rua): the bounce domain, "" without one."""
    return deps.config.bounce_domain.lower()


async def dmarc_summary(deps: Deps, caller: Caller, domain_id: str) -> DmarcSummary:
    domain = found(await deps.storage.domains.get(caller.project_id, domain_id), f"domain {domain_id}")
    since = deps.clock.now() - timedelta(days=SHOWN_DAYS)
    reports = await deps.storage.inbound.reports(caller.project_id, domain.name, since)
    rua = rua_domain(deps)
    return DmarcSummary(
        figures=figures(reports),
        reports=len(reports),
        record=dmarc_record(rua),
        authorisation_name=f"{domain.name}._report._dmarc.{rua}" if rua and rua != domain.name else "",
    )
