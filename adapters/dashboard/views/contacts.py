"""Contacts and lists at /app/contacts: the lists with their double opt-in switch and counts; a
list's contacts (search, status filter, pages), add, edit, unsubscribe, delete; CSV export; and
CSV import: upload, match columns to fields when the headers differ, then follow the background
job live to a summary whose invalid rows download as CSV."""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from adapters.dashboard.csv_files import csv_line, write_rows
from adapters.dashboard.pages import caller_of, deps_of, form_value, missing, or_none, page, render
from autorelay_core.domain.contacts import ContactList, ContactStatus
from autorelay_core.domain.csv_rows import read_rows
from autorelay_core.domain.imports import FIELDS
from autorelay_core.errors import AutoRelayError, Conflict, Invalid, NotFound, RateLimited
from autorelay_core.policies.pagination import MAX_PAGE, OffsetRequest, parse_bounded_int
from autorelay_core.usecases import (
    import_contacts,
    manage_contacts,
    manage_journeys,
    manage_properties,
    manage_topics,
    queries,
    record_activity,
)
from autorelay_core.usecases.manage_contacts import ContactInput
from autorelay_core.usecases.manage_properties import PropertyInput
from autorelay_core.usecases.manage_topics import TopicInput
from autorelay_core.usecases.manage_users import Visit

PAGE_SIZE = 50
EXPORT_PAGE = 1000
MAX_UPLOAD = 16 * 1024 * 1024


async def _lists_page(request: Request, visit: Visit, status: int = 200, **extra) -> Response:
    deps, caller = deps_of(request), caller_of(visit)
    lists = await manage_contacts.all_lists(deps, caller)
    recent = await queries.recent_imports(deps, caller, 5)
    names = {item.id: item.name for item in lists}
    properties = await manage_properties.list_properties(deps, caller)
    topics = await manage_topics.list_topics(deps, caller)
    return render(
        request,
        "contacts.html",
        status,
        lists=lists,
        imports=recent,
        list_names=names,
        properties=properties,
        topics=topics,
        **extra,
    )


@page()
async def lists(request: Request, visit: Visit) -> Response:
    return await _lists_page(request, visit)


@page()
async def create_list(request: Request, visit: Visit) -> Response:
    name = form_value(request, "name")
    try:
        made = await manage_contacts.create_list(
            deps_of(request), caller_of(visit), name, form_value(request, "double_opt_in") == "on"
        )
    except Invalid as error:
        return await _lists_page(request, visit, 400, error=error.message, name=name)
    return RedirectResponse(f"/app/contacts/lists/{made.id}", status_code=303)


@page()
async def create_property(request: Request, visit: Visit) -> Response:
    default = form_value(request, "default").strip()
    fields = PropertyInput(
        key=form_value(request, "key").strip(), type=form_value(request, "type"), default=default or None
    )
    try:
        await manage_properties.create_property(deps_of(request), caller_of(visit), fields)
    except (Invalid, Conflict) as error:
        return await _lists_page(request, visit, 400, property_error=error.message, property_form=fields)
    return RedirectResponse("/app/contacts#properties", status_code=303)


@page()
async def create_topic(request: Request, visit: Visit) -> Response:
    fields = TopicInput(
        name=form_value(request, "name"),
        description=form_value(request, "description"),
        default_subscription=form_value(request, "default"),
    )
    try:
        await manage_topics.create_topic(deps_of(request), caller_of(visit), fields)
    except (Invalid, Conflict) as error:
        return await _lists_page(request, visit, 400, topic_error=error.message, topic_form=fields)
    return RedirectResponse("/app/contacts#topics", status_code=303)


@page()
async def delete_topic(request: Request, visit: Visit) -> Response:
    try:
        await manage_topics.delete_topic(deps_of(request), caller_of(visit), request.path_params["topic_id"])
    except NotFound:
        return missing(request, "topic")
    except Conflict as error:
        return await _lists_page(request, visit, 409, topic_error=error.message)
    return RedirectResponse("/app/contacts#topics", status_code=303)


@page()
async def delete_property(request: Request, visit: Visit) -> Response:
    try:
        await manage_properties.delete_property(deps_of(request), caller_of(visit), request.path_params["property_id"])
    except NotFound:
        return missing(request, "property")
    return RedirectResponse("/app/contacts#properties", status_code=303)


async def _list(request: Request, visit: Visit) -> ContactList | None:
    return await or_none(manage_contacts.find_list(deps_of(request), caller_of(visit), request.path_params["list_id"]))


async def _list_page(request: Request, visit: Visit, target: ContactList, status: int = 200, **extra) -> Response:
    query = request.query_params
    search, wanted = (query.get("q") or "").strip()[:200], query.get("status") or None
    try:
        number = parse_bounded_int(query.get("page") or None, "page", default=1, low=1, high=MAX_PAGE)
        found = await manage_contacts.list_contacts(
            deps_of(request), caller_of(visit), target.id, OffsetRequest(number, PAGE_SIZE), search, wanted
        )
    except Invalid as error:
        return render(request, "error.html", 400, title="Bad filter", message=error.message)
    pages = max(1, -(-found.total // PAGE_SIZE))
    # The list's size is the total when nothing filters it; a filtered page shows its matches only
    # (a second count of the whole list would cost as much as the page).
    size = None if search or wanted else found.total
    base = {k: v for k, v in {"q": search, "status": wanted}.items() if v}
    return render(
        request,
        "contact_list.html",
        status,
        nav="contacts",
        target=target,
        size=size,
        contacts=found.items,
        total=found.total,
        q=search,
        status_filter=wanted or "",
        statuses=[s.value for s in ContactStatus],
        number=number,
        pages=pages,
        previous_query=urlencode(base | {"page": number - 1}) if number > 1 else None,
        next_query=urlencode(base | {"page": number + 1}) if number < pages else None,
        **extra,
    )


@page()
async def list_detail(request: Request, visit: Visit) -> Response:
    target = await _list(request, visit)
    if target is None:
        return missing(request, "list")
    notice = {"imported": "Import finished.", "saved": "Saved.", "deleted": "Contact deleted."}.get(
        request.query_params.get("done", "")
    )
    return await _list_page(request, visit, target, notice=notice)


@page()
async def list_settings(request: Request, visit: Visit) -> Response:
    target = await _list(request, visit)
    if target is None:
        return missing(request, "list")
    try:
        await manage_contacts.update_list(
            deps_of(request),
            caller_of(visit),
            target.id,
            form_value(request, "name"),
            form_value(request, "double_opt_in") == "on",
        )
    except Invalid as error:
        return await _list_page(request, visit, target, 400, error=error.message)
    return RedirectResponse(f"/app/contacts/lists/{target.id}?done=saved", status_code=303)


@page()
async def delete_list(request: Request, visit: Visit) -> Response:
    try:
        await manage_contacts.delete_list(deps_of(request), caller_of(visit), request.path_params["list_id"])
    except NotFound:
        return missing(request, "list")
    except Conflict as error:
        return render(request, "error.html", 409, title="List in use", message=error.message)
    return RedirectResponse("/app/contacts", status_code=303)


@page()
async def add_contact(request: Request, visit: Visit) -> Response:
    target = await _list(request, visit)
    if target is None:
        return missing(request, "list")
    fields = ContactInput(
        email=form_value(request, "email").strip(),
        list_id=target.id,
        name=form_value(request, "name") or None,
        company=form_value(request, "company") or None,
    )
    try:
        await manage_contacts.create_contact(deps_of(request), caller_of(visit), fields)
    except AutoRelayError as error:
        return await _list_page(request, visit, target, 400, error=error.message, added=fields)
    return RedirectResponse(f"/app/contacts/lists/{target.id}?done=saved", status_code=303)


async def _contact_or_none(request: Request, visit: Visit):
    return await or_none(
        manage_contacts.get_contact(deps_of(request), caller_of(visit), request.path_params["contact_id"])
    )


@page()
async def contact_detail(request: Request, visit: Visit, status: int = 200, error: str | None = None) -> Response:
    contact = await _contact_or_none(request, visit)
    if contact is None:
        return missing(request, "contact")
    return await _contact_page(request, visit, contact, status, error)


async def _contact_page(request: Request, visit: Visit, contact, status: int = 200, error: str | None = None):
    deps, caller = deps_of(request), caller_of(visit)
    target = await or_none(manage_contacts.find_list(deps, caller, contact.list_id))
    properties = await manage_properties.list_properties(deps, caller)
    events = await record_activity.contact_timeline(deps, caller, contact.id)
    topics = await manage_topics.contact_topics(deps, caller, contact.id)
    paths = await manage_journeys.contact_paths(deps, caller, contact.id)
    return render(
        request,
        "contact.html",
        status,
        nav="contacts",
        contact=contact,
        target=target,
        properties=properties,
        events=events,
        topics=topics,
        paths=paths,
        error=error,
        done=request.query_params.get("done"),
    )


@page()
async def contact_topics(request: Request, visit: Visit) -> Response:
    """The topic boxes of a contact's page: every topic in or out, as ticked."""
    contact = await _contact_or_none(request, visit)
    if contact is None:
        return missing(request, "contact")
    deps, caller = deps_of(request), caller_of(visit)
    ticked = set((await request.form()).getlist("topic"))
    choices = [
        {"id": t.id, "subscription": "opt_in" if t.id in ticked else "opt_out"}
        for t in await manage_topics.list_topics(deps, caller)
    ]
    if choices:
        await manage_topics.set_contact_topics(deps, caller, contact.id, choices)
    return RedirectResponse(f"/app/contacts/people/{contact.id}?done=topics", status_code=303)


@page()
async def edit_contact(request: Request, visit: Visit) -> Response:
    contact = await _contact_or_none(request, visit)
    if contact is None:
        return missing(request, "contact")
    wanted = form_value(request, "status") or None
    # Each property's input: an empty one removes the value (the default stands in again).
    declared = await manage_properties.list_properties(deps_of(request), caller_of(visit))
    values = {p.key: form_value(request, f"property.{p.key}").strip() or None for p in declared}
    fields = ContactInput(
        email=form_value(request, "email").strip() or None,
        name=form_value(request, "name"),
        company=form_value(request, "company"),
        status=wanted if wanted and wanted != contact.status.value else None,
        properties=values or None,
    )
    try:
        await manage_contacts.update_contact(deps_of(request), caller_of(visit), contact.id, fields)
    except (Invalid, Conflict) as error:
        return await _contact_page(request, visit, contact, 400, error.message)
    return RedirectResponse(f"/app/contacts/lists/{contact.list_id}?done=saved", status_code=303)


def _back_to_list(request: Request, list_id: str, done: str) -> Response:
    """Back to the page of the list the form was on (its search, filter and page kept)."""
    kept = {name: form_value(request, name)[:200] for name in ("q", "status", "page") if form_value(request, name)}
    return RedirectResponse(f"/app/contacts/lists/{list_id}?{urlencode(kept | {'done': done})}", status_code=303)


@page()
async def unsubscribe_contact(request: Request, visit: Visit) -> Response:
    contact = await _contact_or_none(request, visit)
    if contact is None:
        return missing(request, "contact")
    try:
        await manage_contacts.update_contact(
            deps_of(request), caller_of(visit), contact.id, ContactInput(status="unsubscribed")
        )
    except (Invalid, Conflict) as error:
        return render(request, "error.html", 409, title="Cannot unsubscribe", message=error.message)
    return _back_to_list(request, contact.list_id, "saved")


@page()
async def delete_contact(request: Request, visit: Visit) -> Response:
    contact = await _contact_or_none(request, visit)
    if contact is None:
        return missing(request, "contact")
    await manage_contacts.delete_contact(deps_of(request), caller_of(visit), contact.id)
    return _back_to_list(request, contact.list_id, "deleted")


def _cell(value: object) -> str:
    """A property's value as a CSV cell (true/false as an import reads them back)."""
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


@page()
async def export(request: Request, visit: Visit) -> Response:
    target = await _list(request, visit)
    if target is None:
        return missing(request, "list")
    deps, caller = deps_of(request), caller_of(visit)
    keys = [p.key for p in await manage_properties.list_properties(deps, caller)]

    async def rows():
        number = 1
        while True:
            found = await manage_contacts.list_contacts(
                deps, caller, target.id, OffsetRequest(number, EXPORT_PAGE), None, None
            )
            for c in found.items:
                values = [_cell(c.properties.get(key)) for key in keys]
                yield [c.email, c.name or "", c.company or "", c.status.value, c.created_at.isoformat(), *values]
            if number * EXPORT_PAGE >= found.total or not found.items:
                return
            number += 1

    async def body():
        yield csv_line(["email", "name", "company", "status", "created_at", *keys])
        async for row in rows():
            yield csv_line(row)

    filename = "".join(ch if ch.isalnum() else "-" for ch in target.name)[:60] or "contacts"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


@page()
async def upload(request: Request, visit: Visit) -> Response:
    target = await _list(request, visit)
    if target is None:
        return missing(request, "list")
    deps = deps_of(request)
    file = request.state.form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return await _list_page(request, visit, target, 400, error="Choose a CSV file to import.")
    try:
        # Counted before the file is read: each upload costs a parse, whatever it holds.
        await import_contacts.admit_upload(deps, visit.user.id)
        data = await file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise Invalid(f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB; split it into parts")
        reader = partial(read_rows, max_rows=import_contacts.MAX_ROWS, max_columns=import_contacts.MAX_COLUMNS)
        async with request.app.state.csv_reading:  # one file's rows in memory at a time, until stored
            header, rows = await deps.offload.run(reader, data)
            del data
            job = await import_contacts.upload(deps, caller_of(visit), target.id, file.filename, header, rows)
            del rows
        if import_contacts.obvious_mapping(job):
            await import_contacts.start(deps, caller_of(visit), job.id, job.mapping)
    except AutoRelayError as error:
        status = 429 if isinstance(error, RateLimited) else 400
        return await _list_page(request, visit, target, status, error=f"Not imported: {error.message}")
    return RedirectResponse(f"/app/contacts/imports/{job.id}", status_code=303)


async def _import(request: Request, visit: Visit):
    return await or_none(
        import_contacts.get_import(deps_of(request), caller_of(visit), request.path_params["import_id"])
    )


async def _import_context(request: Request, visit: Visit, job) -> dict:
    deps = deps_of(request)
    target = await or_none(manage_contacts.find_list(deps, caller_of(visit), job.list_id))
    sample = await queries.import_sample(deps, job, 3) if job.status.value == "mapping" else []
    keys = tuple(p.key for p in await manage_properties.list_properties(deps, caller_of(visit)))
    return {
        "job": job,
        "target": target,
        "fields": (*FIELDS, *keys),
        "properties": keys,
        "percent": job.processed * 100 // max(1, job.total),
        "sample": sample,
    }


@page()
async def import_detail(request: Request, visit: Visit) -> Response:
    job = await _import(request, visit)
    if job is None:
        return missing(request, "import")
    context = await _import_context(request, visit, job)
    return render(request, "import.html", nav="contacts", **context)


@page()
async def import_progress(request: Request, visit: Visit) -> Response:
    job = await _import(request, visit)
    if job is None:
        return Response(status_code=404)
    return render(request, "import_progress.html", **await _import_context(request, visit, job))


@page()
async def start_import(request: Request, visit: Visit) -> Response:
    job = await _import(request, visit)
    if job is None:
        return missing(request, "import")
    mapping = {}
    keys = tuple(p.key for p in await manage_properties.list_properties(deps_of(request), caller_of(visit)))
    for field in (*FIELDS, *keys):
        chosen = form_value(request, field)
        if chosen.isdigit():
            mapping[field] = int(chosen)
    try:
        await import_contacts.start(deps_of(request), caller_of(visit), job.id, mapping)
    except AutoRelayError as error:
        context = await _import_context(request, visit, job)
        return render(request, "import.html", 400, nav="contacts", error=error.message, **context)
    return RedirectResponse(f"/app/contacts/imports/{job.id}", status_code=303)


@page()
async def invalid_rows(request: Request, visit: Visit) -> Response:
    job = await _import(request, visit)
    if job is None:
        return missing(request, "import")
    found = await queries.invalid_rows(deps_of(request), job)
    text = "".join(write_rows(["line", "reason", "email"], found))
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{job.id}-invalid-rows.csv"'},
    )


routes = [
    Route("/contacts", lists, methods=["GET"]),
    Route("/contacts/lists", create_list, methods=["POST"]),
    Route("/contacts/properties", create_property, methods=["POST"]),
    Route("/contacts/properties/{property_id}/delete", delete_property, methods=["POST"]),
    Route("/contacts/topics", create_topic, methods=["POST"]),
    Route("/contacts/people/{contact_id}/topics", contact_topics, methods=["POST"]),
    Route("/contacts/topics/{topic_id}/delete", delete_topic, methods=["POST"]),
    Route("/contacts/lists/{list_id}", list_detail, methods=["GET"]),
    Route("/contacts/lists/{list_id}/settings", list_settings, methods=["POST"]),
    Route("/contacts/lists/{list_id}/delete", delete_list, methods=["POST"]),
    Route("/contacts/lists/{list_id}/contacts", add_contact, methods=["POST"]),
    Route("/contacts/lists/{list_id}/export.csv", export, methods=["GET"]),
    Route("/contacts/lists/{list_id}/import", upload, methods=["POST"]),
    Route("/contacts/imports/{import_id}", import_detail, methods=["GET"]),
    Route("/contacts/imports/{import_id}/progress", import_progress, methods=["GET"]),
    Route("/contacts/imports/{import_id}/start", start_import, methods=["POST"]),
    Route("/contacts/imports/{import_id}/invalid.csv", invalid_rows, methods=["GET"]),
    Route("/contacts/people/{contact_id}", contact_detail, methods=["GET"]),
    Route("/contacts/people/{contact_id}", edit_contact, methods=["POST"]),
    Route("/contacts/people/{contact_id}/unsubscribe", unsubscribe_contact, methods=["POST"]),
    Route("/contacts/people/{contact_id}/delete", delete_contact, methods=["POST"]),
]
