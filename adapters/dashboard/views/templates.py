"""The template studio at /app/templates: the list (create, duplicate, delete) and, per template, a
visual editor (GrapesJS with its newsletter preset), the variables it uses with sample data, a
preview rendered by the real renderer at desktop and phone widths, a test send, and every save kept
as a version to look at and restore. Saves go through the same use case (and checks) as the API."""

from __future__ import annotations

import functools
import html
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from adapters.dashboard.pages import (
    caller_of,
    deps_of,
    form_value,
    json_error,
    missing,
    or_none,
    page,
    render,
    sandboxed,
    test_send,
)
from adapters.dashboard.studio import MAX_EDITOR_CHARS, STARTER, email_safe, for_editor, has_content
from autorelay_core.domain.templates import Template
from autorelay_core.errors import AutoRelayError, Invalid, NotFound, RateLimited
from autorelay_core.usecases import manage_templates
from autorelay_core.usecases.manage_campaigns import campaign_variables
from autorelay_core.usecases.manage_templates import TemplateInput
from autorelay_core.usecases.manage_users import Visit
from autorelay_core.usecases.send_email import SendCommand

# The editor's canvas shows the tenant's HTML in a frame of this page: styles may be inline (the
# editor writes them so), images may come from anywhere; scripts only from /app/static, as on
# every page, so a <script> in a template never runs here.
STUDIO_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:;"
    " font-src 'self' data:; connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none';"
    " frame-ancestors 'none'"
)
SAMPLE_PREFIX = "v."


async def _template(request: Request, visit: Visit) -> Template | None:
    return await or_none(
        manage_templates.get_template(deps_of(request), caller_of(visit), request.path_params["template_id"])
    )


async def _listing(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    found = await manage_templates.list_templates(deps_of(request), caller_of(visit))
    found.sort(key=lambda t: t.updated_at, reverse=True)
    return render(request, "template_list.html", status, templates=found, nav="templates", **extra)


@page()
async def listing(request: Request, visit: Visit) -> Response:
    return await _listing(request, visit)


@page()
async def create(request: Request, visit: Visit) -> Response:
    name = form_value(request, "name").strip()
    fields = TemplateInput(name=name, subject=form_value(request, "subject").strip() or name, html=STARTER)
    try:
        made = await manage_templates.create_template(deps_of(request), caller_of(visit), fields)
    except Invalid as error:
        return await _listing(request, visit, 400, error=error.message, name=name)
    return RedirectResponse(f"/app/templates/{made.id}", status_code=303)


@page()
async def duplicate(request: Request, visit: Visit) -> Response:
    try:
        made = await manage_templates.duplicate_template(
            deps_of(request), caller_of(visit), request.path_params["template_id"]
        )
    except NotFound:
        return missing(request, "template")
    return RedirectResponse(f"/app/templates/{made.id}", status_code=303)


@page()
async def delete(request: Request, visit: Visit) -> Response:
    try:
        await manage_templates.delete_template(deps_of(request), caller_of(visit), request.path_params["template_id"])
    except NotFound:
        return missing(request, "template")
    return RedirectResponse("/app/templates", status_code=303)


async def _studio_context(request: Request, visit: Visit, template: Template) -> dict:
    deps = deps_of(request)
    body, css = for_editor(template.html)
    used = await manage_templates.template_variables(deps, template)
    filled = await campaign_variables(deps, caller_of(visit))
    return {
        "template": template,
        # What a campaign fills for each contact first, then what else the template uses (a
        # transactional send passes those in its data; a campaign leaves them empty).
        "variables": [*filled, *(v for v in used if v not in filled)],
        "campaign_variables": filled,
        "versions": await manage_templates.versions(deps, caller_of(visit), template.id),
        "editor_data": json.dumps({"body": body, "css": css}).replace("<", "\\u003c"),
        "sandbox_sender": deps.config.sandbox_sender,
    }


@page()
async def studio(request: Request, visit: Visit) -> Response:
    template = await _template(request, visit)
    if template is None:
        return missing(request, "template")
    context = await _studio_context(request, visit, template)
    restored = request.query_params.get("restored")
    notice = f"Version {restored} is current again (kept as a new version)." if restored else None
    answer = render(request, "studio.html", nav="templates", notice=notice, **context)
    answer.headers["Content-Security-Policy"] = STUDIO_POLICY
    return answer


@page(field_bytes=4 * MAX_EDITOR_CHARS)  # characters of up to 4 bytes; counted below
async def save(request: Request, visit: Visit) -> Response:
    deps = deps_of(request)
    design, css = form_value(request, "html"), form_value(request, "css")
    if len(design) + len(css) > MAX_EDITOR_CHARS:
        return json_error(f"The design is too large to save (more than {MAX_EDITOR_CHARS:,} characters).", 413)
    if not has_content(design):  # it would send a blank email
        return json_error("The email is empty: add some text or an image before saving.")
    fields = TemplateInput(
        name=form_value(request, "name"),
        subject=form_value(request, "subject"),
        html=await deps.offload.run(email_safe, design, css),
        text=form_value(request, "text"),
    )
    try:
        saved = await manage_templates.update_template(
            deps, caller_of(visit), request.path_params["template_id"], fields
        )
    except NotFound:
        return json_error("This template was deleted.", 404)
    except Invalid as error:
        return json_error(error.message)
    context = await _studio_context(request, visit, saved)
    versions = bytes(render(request, "studio_versions.html", **context).body).decode()
    return JSONResponse(
        {"version": context["versions"][0].number, "variables": context["variables"], "versions_html": versions}
    )


def _sample(request: Request) -> dict[str, str]:
    return {
        name[len(SAMPLE_PREFIX) :]: value[:1000]
        for name, value in request.query_params.items()
        if name.startswith(SAMPLE_PREFIX)
    }


@page()
async def preview(request: Request, visit: Visit) -> Response:
    """The saved template rendered by the real renderer with the sample data (missing variables
    render empty, as in a campaign)."""
    template = await _template(request, visit)
    if template is None:
        return Response("Not found", status_code=404, media_type="text/plain")
    deps = deps_of(request)
    source = template.html
    number = request.query_params.get("version")
    if number:
        kept = {str(v.number): v for v in await manage_templates.versions(deps, caller_of(visit), template.id)}
        if number not in kept:
            return Response("No such version", status_code=404, media_type="text/plain")
        source = kept[number].html
    data = _sample(request)
    try:
        if not data:  # opened on its own (a version's View): show where each variable goes
            data = {name: f"[{name}]" for name in await deps.offload.run(deps.templates.variables, source)}
        body = await deps.offload.run(functools.partial(deps.templates.render, strict=False), source, data)
    except Invalid as error:
        body = f"<p>This template does not render: {html.escape(error.message)}</p>"
    return sandboxed(body)


@page()
async def restore(request: Request, visit: Visit) -> Response:
    template_id = request.path_params["template_id"]
    try:
        number = int(request.path_params["number"])
        await manage_templates.restore_version(deps_of(request), caller_of(visit), template_id, number)
    except (ValueError, NotFound):
        return missing(request, "template")
    except Invalid as error:
        return render(request, "error.html", 400, title="Cannot restore", message=error.message)
    return RedirectResponse(f"/app/templates/{template_id}?restored={number}", status_code=303)


@page()
async def send_test(request: Request, visit: Visit) -> Response:
    try:
        data = json.loads(form_value(request, "data") or "{}")
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return json_error("The sample data is not a JSON object.")
    command = SendCommand(
        to=form_value(request, "to").strip(),
        from_=form_value(request, "from").strip(),
        template_id=request.path_params["template_id"],
        data={str(k): str(v) for k, v in data.items()},
    )
    try:
        email = await test_send(request, visit, command)
    except AutoRelayError as error:
        return json_error(error.message, 429 if isinstance(error, RateLimited) else 400)
    return JSONResponse({"id": email.id, "url": f"/app/emails/{email.id}"})


routes = [
    Route("/templates", listing, methods=["GET"]),
    Route("/templates", create, methods=["POST"]),
    Route("/templates/{template_id}", studio, methods=["GET"]),
    Route("/templates/{template_id}/save", save, methods=["POST"]),
    Route("/templates/{template_id}/preview", preview, methods=["GET"]),
    Route("/templates/{template_id}/duplicate", duplicate, methods=["POST"]),
    Route("/templates/{template_id}/delete", delete, methods=["POST"]),
    Route("/templates/{template_id}/versions/{number}/restore", restore, methods=["POST"]),
    Route("/templates/{template_id}/test", send_test, methods=["POST"]),
]
