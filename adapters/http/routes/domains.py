"""/domains: the reference's shapes (`dkimTokens` on create, snake_case on reads)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.domains import DnsRecord, Domain
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_domains as uc


def _tokens(domain: Domain) -> list[str]:
    """The SES tokens, or our own key's selector: what names the DKIM record either way."""
    return list(domain.dkim_tokens) or ([domain.dkim_selector] if domain.dkim_selector else [])


def _record(record: DnsRecord) -> dict[str, str]:
    return {"type": record.type, "name": record.name, "value": record.value}


def domain_view(request: Request, domain: Domain, *, records: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": domain.id,
        "object": "domain",
        "domain": domain.name,
        "status": domain.status.value,
        "dkim_tokens": _tokens(domain),
    }
    if records:
        view["dns_records"] = [_record(r) for r in uc.records(deps_of(request), domain)]
        bounces = uc.bounce_records(deps_of(request))
        if bounces:
            view["bounce_dns_records"] = [_record(r) for r in bounces]
    view |= {"verified_at": iso(domain.verified_at), "created_at": iso(domain.created_at)}
    return view


@requires("domains.write")
async def create_domain(request: Request) -> Response:
    body = parse_json(await request.body())
    if not isinstance(body, dict) or set(body) - {"domain"}:
        raise Invalid('the body must be {"domain": "mail.example.com"} and nothing else')
    domain = await uc.create_domain(deps_of(request), caller_of(request), body.get("domain"))
    view: dict[str, object] = {
        "id": domain.id,
        "domain": domain.name,
        "status": domain.status.value,
        "dkimTokens": _tokens(domain),
    }
    view["dns_records"] = [_record(r) for r in uc.records(deps_of(request), domain)]
    return JSON(view, status_code=201)


@requires("domains.write")
async def list_domains(request: Request) -> Response:
    found = await uc.list_domains(deps_of(request), caller_of(request))
    return JSON({"object": "list", "data": [domain_view(request, d, records=False) for d in found]})


@requires("domains.write")
async def read_domain(request: Request) -> Response:
    domain = await uc.get_domain(deps_of(request), caller_of(request), request.path_params["domain_id"])
    return JSON(domain_view(request, domain, records=True))


@requires("domains.write")
async def verify_domain(request: Request) -> Response:
    result = await uc.verify_domain(deps_of(request), caller_of(request), request.path_params["domain_id"])
    return JSON(
        {
            "status": result.domain.status.value,
            "domain": result.domain.name,
            "missing_records": [_record(r) for r in result.missing],
        }
    )


@requires("domains.write")
async def delete_domain(request: Request) -> Response:
    domain_id = request.path_params["domain_id"]
    await uc.delete_domain(deps_of(request), caller_of(request), domain_id)
    return JSON({"id": domain_id, "deleted": True})


routes = [
    resource("/api/v1/domains", GET=list_domains, POST=create_domain),
    resource("/api/v1/domains/{domain_id}", GET=read_domain, DELETE=delete_domain),
    resource("/api/v1/domains/{domain_id}/verify", POST=verify_domain),
]
