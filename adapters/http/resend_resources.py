"""Resend's domains and API keys at /compat/resend, over AutoRelay's own: the shapes the Resend SDKs
expect (`records` with `record`, `type`, `name`, `value`, `status`; keys created with `permission`),
the same use cases, scopes and limits as /api/v1 and the dashboard."""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.responses import JSON, iso
from autorelay_core.domain.domains import DnsRecord, Domain
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.usecases import manage_domains, manage_keys

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", re.I)
# Resend's two permissions, as AutoRelay scopes.
PERMISSIONS = {"full_access": ("full",), "sending_access": ("emails.send",)}


def _record(record: DnsRecord, verified: bool) -> dict[str, Any]:
    kind = "DKIM" if "_domainkey" in record.name else ("DMARC" if record.name.startswith("_dmarc") else "SPF")
    return {
        "record": kind,
        "name": record.name,
        "type": record.type,
        "ttl": "Auto",
        "status": "verified" if verified else "not_started",
        "value": record.value,
    }


def _domain(request: Request, domain: Domain, *, records: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "object": "domain",
        "id": domain.id,
        "name": domain.name,
        "status": "verified" if domain.status.value == "verified" else "pending",
        "created_at": iso(domain.created_at),
        "region": "self-hosted",
    }
    if records:
        verified = domain.status.value == "verified"
        view["records"] = [_record(r, verified) for r in manage_domains.records(deps_of(request), domain)]
    return view


def json_body(request_body: bytes, allowed: set[str]) -> dict[str, Any]:
    body = parse_json(request_body)
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    extra = set(body) - allowed
    if extra:
        raise Invalid(f"{', '.join(sorted(extra))}: not supported by AutoRelay")
    return body


@requires("domains.write")
async def create_domain(request: Request) -> Response:
    body = json_body(await request.body(), {"name", "region", "custom_return_path"})
    label = body.get("custom_return_path")
    # Resend's return-path subdomain (default "send"). Taken, so that code written for Resend runs;
    # AutoRelay's return path is the install's bounce domain for every sending domain (VERP).
    if label is not None and not (isinstance(label, str) and _LABEL.fullmatch(label)):
        raise Invalid("custom_return_path must be a subdomain label such as send (letters, digits, hyphens)")
    domain = await manage_domains.create_domain(deps_of(request), caller_of(request), body.get("name"))
    return JSON(_domain(request, domain, records=True), status_code=201)


@requires("domains.write")
async def list_domains(request: Request) -> Response:
    found = await manage_domains.list_domains(deps_of(request), caller_of(request))
    return JSON({"object": "list", "has_more": False, "data": [_domain(request, d, records=False) for d in found]})


@requires("domains.write")
async def get_domain(request: Request) -> Response:
    deps = deps_of(request)
    domain = await manage_domains.get_domain(deps, caller_of(request), request.path_params["domain_id"])
    return JSON(_domain(request, domain, records=True))


@requires("domains.write")
async def verify_domain(request: Request) -> Response:
    deps = deps_of(request)
    result = await manage_domains.verify_domain(deps, caller_of(request), request.path_params["domain_id"])
    return JSON({"object": "domain", "id": result.domain.id})


@requires("domains.write")
async def delete_domain(request: Request) -> Response:
    domain_id = request.path_params["domain_id"]
    await manage_domains.delete_domain(deps_of(request), caller_of(request), domain_id)
    return JSON({"object": "domain", "id": domain_id, "deleted": True})


@requires("full")
async def create_key(request: Request) -> Response:
    """A new key of the same mode as the one asking (a test key makes test keys), shown once."""
    body = json_body(await request.body(), {"name", "permission", "domain_id"})
    if body.get("domain_id") is not None:
        raise Invalid("domain_id: keys limited to one domain are not supported by AutoRelay")
    permission = body.get("permission", "full_access")
    if permission not in PERMISSIONS:
        raise Invalid("permission must be full_access or sending_access")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 50:
        raise Invalid("name is required (at most 50 characters)")
    asking = caller_of(request)
    issued = await manage_keys.create_key(deps_of(request), asking, asking.mode, name.strip(), PERMISSIONS[permission])
    return JSON({"id": issued.key.id, "token": issued.plain}, status_code=201)


@requires("full")
async def list_keys(request: Request) -> Response:
    found = await manage_keys.list_keys(deps_of(request), caller_of(request))
    live = [k for k in found if k.revoked_at is None]
    data = [{"id": k.id, "name": k.name, "created_at": iso(k.created_at)} for k in live]
    return JSON({"object": "list", "has_more": False, "data": data})


@requires("full")
async def delete_key(request: Request) -> Response:
    deps, asking = deps_of(request), caller_of(request)
    key = await manage_keys.project_key(deps, asking, request.path_params["key_id"])
    if key.revoked_at is not None:
        raise NotFound(f"key {key.id} not found")
    await manage_keys.revoke_key(deps, key.id)
    return JSON({"object": "api_key", "id": key.id, "deleted": True})
