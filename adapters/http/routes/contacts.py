"""/contacts and /lists: the reference's shapes (offset pages, `{success, data}` reads)."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso, pagination
from adapters.http.routing import resource
from autorelay_core.domain.contacts import Contact, ContactList
from autorelay_core.domain.csv_rows import mapped_rows, read_rows
from autorelay_core.domain.imports import guess_mapping
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.usecases import manage_contacts as uc
from autorelay_core.usecases.import_contacts import MAX_COLUMNS
from autorelay_core.usecases.manage_properties import list_properties


def contact_view(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "email": contact.email,
        "name": contact.name,
        "company": contact.company,
        "listId": contact.list_id,
        "status": contact.status.value,
        "createdAt": iso(contact.created_at),
        "properties": contact.properties,
    }


def list_view(contact_list: ContactList) -> dict[str, Any]:
    return {
        "id": contact_list.id,
        "name": contact_list.name,
        "contactCount": contact_list.contact_count,
        "doubleOptIn": contact_list.double_opt_in,
        "createdAt": iso(contact_list.created_at),
    }


@requires("contacts.write")
async def create_contact(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.ContactInput)
    contact = await uc.create_contact(deps_of(request), caller_of(request), fields)
    return JSON(contact_view(contact), status_code=201)


@requires("contacts.read")
async def list_contacts(request: Request) -> Response:
    query = request.query_params
    page = OffsetRequest.parse(query.get("page"), query.get("pageSize"))
    found = await uc.list_contacts(
        deps_of(request),
        caller_of(request),
        query.get("listId"),
        page,
        query.get("search"),
        query.get("status"),
    )
    return JSON(
        {
            "contacts": [contact_view(c) for c in found.items],
            "pagination": pagination(page, found.total),
        }
    )


@requires("contacts.read")
async def read_contact(request: Request) -> Response:
    contact = await uc.get_contact(deps_of(request), caller_of(request), request.path_params["contact_id"])
    return JSON({"success": True, "data": contact_view(contact)})


@requires("contacts.write")
async def update_contact(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.ContactInput)
    await uc.update_contact(deps_of(request), caller_of(request), request.path_params["contact_id"], fields)
    return JSON({"success": True})


@requires("contacts.write")
async def delete_contact(request: Request) -> Response:
    await uc.delete_contact(deps_of(request), caller_of(request), request.path_params["contact_id"])
    return JSON({"success": True})


@requires("contacts.write")
async def import_contacts(request: Request) -> Response:
    """JSON as the reference describes, or a CSV file (`Content-Type: text/csv`, the list as
    `?listId=`) read as the dashboard and the CLI read one; its rows are numbered like JSON's."""
    deps, caller = deps_of(request), caller_of(request)
    if request.headers.get("content-type", "").partition(";")[0].strip().lower() == "text/csv":
        read = partial(read_rows, max_rows=deps.config.max_import_rows, max_columns=MAX_COLUMNS)
        header, rows = await deps.offload.run(read, await request.body())
        keys = tuple(p.key for p in await list_properties(deps, caller))
        contacts = [fields for _, fields in mapped_rows(header, rows, guess_mapping(header, keys))]
        fields = uc.ImportInput(list_id=request.query_params.get("listId"), contacts=contacts)
    else:
        fields = structure(parse_json(await request.body()), uc.ImportInput)
    result = await uc.import_contacts(deps, caller, fields.list_id, fields.contacts, test=caller.is_test)
    return JSON(
        {
            "success": True,
            "importedCount": result.imported,
            "skippedCount": result.skipped,
            "errors": [{"index": index, "error": message} for index, message in result.errors],
        }
    )


@requires("contacts.write")
async def create_list(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.ListInput)
    created = await uc.create_list(deps_of(request), caller_of(request), fields.name, bool(fields.double_opt_in))
    return JSON(list_view(created), status_code=201)


@requires("contacts.read")
async def all_lists(request: Request) -> Response:
    found = await uc.all_lists(deps_of(request), caller_of(request))
    return JSON({"success": True, "data": [list_view(x) for x in found]})


@requires("contacts.read")
async def read_list(request: Request) -> Response:
    found = await uc.find_list(deps_of(request), caller_of(request), request.path_params["list_id"], counted=True)
    return JSON({"success": True, "data": list_view(found)})


@requires("contacts.write")
async def update_list(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.ListInput)
    deps, list_id = deps_of(request), request.path_params["list_id"]
    await uc.update_list(deps, caller_of(request), list_id, fields.name, fields.double_opt_in)
    return JSON(
        {"success": True, "data": list_view(await uc.find_list(deps, caller_of(request), list_id, counted=True))}
    )


@requires("contacts.write")
async def delete_list(request: Request) -> Response:
    await uc.delete_list(deps_of(request), caller_of(request), request.path_params["list_id"])
    return JSON({"success": True})


routes = [
    resource("/api/v1/contacts", GET=list_contacts, POST=create_contact),
    resource("/api/v1/contacts/import", POST=import_contacts),
    resource("/api/v1/contacts/{contact_id}", GET=read_contact, PUT=update_contact, DELETE=delete_contact),
    resource("/api/v1/lists", GET=all_lists, POST=create_list),
    resource("/api/v1/lists/{list_id}", GET=read_list, PUT=update_list, DELETE=delete_list),
]
