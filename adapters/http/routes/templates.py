"""/templates: full CRUD (the reference lists only GET; API-DECISIONS adds the rest)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, template_input
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.templates import Template
from autorelay_core.usecases import manage_templates as uc


def template_summary(template: Template) -> dict[str, Any]:
    return {
        "id": template.id,
        "name": template.name,
        "subject": template.subject,
        "createdAt": iso(template.created_at),
        "updatedAt": iso(template.updated_at),
    }


async def template_detail(request: Request, template: Template) -> dict[str, Any]:
    return {
        **template_summary(template),
        "html": template.html,
        "text": template.text,
        "variables": await uc.template_variables(deps_of(request), template),
    }


@requires("templates.read")
async def list_templates(request: Request) -> Response:
    templates = await uc.list_templates(deps_of(request), caller_of(request))
    return JSON({"templates": [template_summary(t) for t in templates]})


@requires("templates.write")
async def create_template(request: Request) -> Response:
    fields = template_input(parse_json(await request.body()))
    template = await uc.create_template(deps_of(request), caller_of(request), fields)
    return JSON(await template_detail(request, template), status_code=201)


@requires("templates.read")
async def read_template(request: Request) -> Response:
    template = await uc.get_template(deps_of(request), caller_of(request), request.path_params["template_id"])
    return JSON(await template_detail(request, template))


@requires("templates.write")
async def update_template(request: Request) -> Response:
    fields = template_input(parse_json(await request.body()))
    template = await uc.update_template(
        deps_of(request), caller_of(request), request.path_params["template_id"], fields
    )
    return JSON(await template_detail(request, template))


@requires("templates.write")
async def delete_template(request: Request) -> Response:
    template_id = request.path_params["template_id"]
    await uc.delete_template(deps_of(request), caller_of(request), template_id)
    return JSON({"id": template_id, "deleted": True})


routes = [
    resource("/api/v1/templates", GET=list_templates, POST=create_template),
    resource("/api/v1/templates/{template_id}", GET=read_template, PUT=update_template, DELETE=delete_template),
]
