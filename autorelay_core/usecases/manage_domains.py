"""Sending domains: add one (the mailer says how it signs), show the DNS records to publish, verify
them through DNS, delete; and the operator's override that marks a domain verified."""

from __future__ import annotations

import ipaddress

from attrs import evolve, frozen

from autorelay_core.domain.addresses import is_valid_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.dmarc import dmarc_record
from autorelay_core.domain.domains import DnsRecord, Domain, DomainStatus, dns_records
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.dmarc_reports import rua_domain
from autorelay_core.usecases.found import found


def check_domain_name(name: object) -> str:
    if not isinstance(name, str):
        raise Invalid("domain must be a domain name like mail.example.com", field="domain")
    name = name.lower().removesuffix(".")
    if not is_valid_address(f"postmaster@{name}"):
        raise Invalid(f"{name!r} is not a domain name like mail.example.com", field="domain")
    return name


async def create_domain(deps: Deps, caller: Caller, name: object) -> Domain:
    project_id = caller.project_id
    name = check_domain_name(name)
    setup = await deps.domain_provisioner.provision(name)
    domain = Domain(
        id=deps.ids.new("dom"),
        project_id=project_id,
        name=name,
        created_at=deps.clock.now(),
        dkim_selector=setup.selector,
        dkim_public_key=setup.public_key,
        dkim_private_key=setup.private_key,
        dkim_tokens=setup.tokens,
    )
    await deps.storage.domains.add(domain)  # Conflict if the project has it already
    return domain


async def get_domain(deps: Deps, caller: Caller, domain_id: str) -> Domain:
    project_id = caller.project_id
    return found(await deps.storage.domains.get(project_id, domain_id), f"domain {domain_id}")


def records(deps: Deps, domain: Domain) -> list[DnsRecord]:
    return dns_records(domain, deps.config.spf_record, dmarc_record(rua_domain(deps)))


def bounce_records(deps: Deps) -> list[DnsRecord]:
    """With a bounce domain (VERP), what the operator publishes once for it: an MX to the inbound
    listener, and SPF for the return paths. Not part of a sending domain's verification."""
    config = deps.config
    if not config.bounce_domain:
        return []
    spf = DnsRecord("TXT", config.bounce_domain, config.spf_record)
    try:
        address = ipaddress.ip_address(config.bounce_mx.strip("[]"))
    except ValueError:
        return [DnsRecord("MX", config.bounce_domain, f"10 {config.bounce_mx}."), spf]
    # An MX names a host, never an address (RFC 5321 5.1): a name for the listener goes with it.
    host = f"mx.{config.bounce_domain}"
    kind = "A" if address.version == 4 else "AAAA"
    return [DnsRecord("MX", config.bounce_domain, f"10 {host}."), DnsRecord(kind, host, str(address)), spf]


@frozen
class Verification:
    domain: Domain
    missing: list[DnsRecord]


async def verify_domain(deps: Deps, caller: Caller, domain_id: str) -> Verification:
    """Look every record up; all found: `verified` (and it stays so). Otherwise say which are missing."""
    domain = await get_domain(deps, caller, domain_id)
    missing = [record for record in records(deps, domain) if not await _published(deps, record)]
    if not missing and domain.status is not DomainStatus.VERIFIED:
        domain = evolve(domain, status=DomainStatus.VERIFIED, verified_at=deps.clock.now())
        await deps.storage.domains.update(domain)
    return Verification(domain, missing)


async def _published(deps: Deps, record: DnsRecord) -> bool:
    if record.type == "CNAME":
        return record.value.lower() in await deps.dns.cname(record.name)
    found = [" ".join(value.split()) for value in await deps.dns.txt(record.name)]
    if record.value.startswith("v=DKIM1"):
        key = record.value.rsplit("p=", 1)[1]
        return any(value.replace(" ", "").endswith(f"p={key}") for value in found)
    tag = record.value.split(";")[0].split(" ")[0]  # "v=spf1", "v=DMARC1": the owner may tune the rest
    return any(value.lower().startswith(tag.lower()) for value in found)


async def delete_domain(deps: Deps, caller: Caller, domain_id: str) -> None:
    project_id = caller.project_id
    if not await deps.storage.domains.delete(project_id, domain_id):
        raise NotFound(f"domain {domain_id} not found")


async def mark_verified(deps: Deps, caller: Caller, name: str) -> Domain:
    """Operator override: the domain counts as verified for the project from now on."""
    project_id = caller.project_id
    name = check_domain_name(name)
    now = deps.clock.now()
    domain = await deps.storage.domains.get_by_name(project_id, name)
    if domain is None:
        domain = Domain(deps.ids.new("dom"), project_id, name, now, DomainStatus.VERIFIED, now)
        await deps.storage.domains.add(domain)
    elif domain.status is not DomainStatus.VERIFIED:
        domain.status, domain.verified_at = DomainStatus.VERIFIED, now
        await deps.storage.domains.update(domain)
    return domain


async def list_domains(deps: Deps, caller: Caller) -> list[Domain]:
    project_id = caller.project_id
    return await deps.storage.domains.all(project_id)


async def domain_named(deps: Deps, caller: Caller, name: str) -> Domain:
    project_id = caller.project_id
    return found(await deps.storage.domains.get_by_name(project_id, name.lower()), f"domain {name}")
