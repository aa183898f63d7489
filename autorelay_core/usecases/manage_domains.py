"""Sending domains, for now only what an operator needs: mark a domain verified for a project.
(DNS records and checks arrive with the mailers issue.)"""

from __future__ import annotations

from autorelay_core.domain.addresses import is_valid_address
from autorelay_core.domain.domains import Domain, DomainStatus
from autorelay_core.errors import Invalid
from autorelay_core.usecases.context import Deps


def check_domain_name(name: str) -> str:
    name = name.strip().lower().rstrip(".")
    if not is_valid_address(f"postmaster@{name}"):
        raise Invalid(f"{name!r} is not a domain name like mail.example.com", field="domain")
    return name


async def mark_verified(deps: Deps, project_id: str, name: str) -> Domain:
    """Operator override: the domain counts as verified for the project from now on."""
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
