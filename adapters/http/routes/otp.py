"""/otp/send and /otp/verify (scope emails.send; the per-recipient limit applies once the address
is known, after the per-key one, in send_code: double opt-in codes count there too)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.usecases.otp import CodeCheck, CodeRequest, send_code, verify_code


@requires("emails.send")
async def send(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), CodeRequest)
    deps, key = deps_of(request), caller_of(request)
    issued = await send_code(deps, key, fields.email, fields.purpose, test=key.is_test)
    request.state.applied_later = issued.applied
    return JSON({"ok": True, "expiresAt": iso(issued.expires_at)})


@requires("emails.send")
async def verify(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), CodeCheck)
    await verify_code(deps_of(request), caller_of(request), fields.email, fields.purpose, fields.code)
    return JSON({"ok": True})


routes = [resource("/api/v1/otp/send", POST=send), resource("/api/v1/otp/verify", POST=verify)]
