"""/contact-properties: the typed fields a project's contacts carry (additive to the reference)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.properties import ContactProperty
from autorelay_core.usecases import manage_properties as uc


def property_view(prop: ContactProperty) -> dict[str, Any]:
    return {
        "id": prop.id,
        "key": prop.key,
        "type": prop.type.value,
        "default": prop.default,
        "createdAt": iso(prop.created_at),
    }


@requires("contacts.write")
async def create_property(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.PropertyInput)
    prop = await uc.create_property(deps_of(request), caller_of(request), fields)
    return JSON(property_view(prop), status_code=201)


@requires("contacts.read")
async def list_properties(request: Request) -> Response:
    found = await uc.list_properties(deps_of(request), caller_of(request))
    return JSON({"success": True, "data": [property_view(p) for p in found]})


@requires("contacts.read")
async def read_property(request: Request) -> Response:
    prop = await uc.get_property(deps_of(request), caller_of(request), request.path_params["property_id"])
    return JSON({"success": True, "data": property_view(prop)})


@requires("contacts.write")
async def update_property(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.PropertyInput)
    prop = await uc.update_property(deps_of(request), caller_of(request), request.path_params["property_id"], fields)
    return JSON({"success": True, "data": property_view(prop)})


@requires("contacts.write")
async def delete_property(request: Request) -> Response:
    await uc.delete_property(deps_of(request), caller_of(request), request.path_params["property_id"])
    return JSON({"success": True})


routes = [
    resource("/api/v1/contact-properties", GET=list_properties, POST=create_property),
    resource(
        "/api/v1/contact-properties/{property_id}",
        GET=read_property,
        PATCH=update_property,
        PUT=update_property,
        DELETE=delete_property,
    ),
]
