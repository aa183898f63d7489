"""Contacts and lists: CRUD, search pages, bulk import, and double opt-in on the way in."""

from __future__ import annotations

from typing import Any

from attrs import evolve, frozen

from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus, change_status
from autorelay_core.domain.headers import one_line_problem
from autorelay_core.domain.properties import applied, check_values
from autorelay_core.errors import Invalid, NotFound, QuotaExceeded, RateLimited
from autorelay_core.policies.pagination import OffsetPage, OffsetRequest
from autorelay_core.ports import ContactQuery
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.found import found
from autorelay_core.usecases.journey_entry import joined
from autorelay_core.usecases.manage_properties import as_read, declared
from autorelay_core.usecases.otp import code_charges, send_code

_TEXT_LIMIT = 256


@frozen
class ContactInput:
    """A create (email and list_id required) or an update (any subset)."""

    email: str | None = None
    list_id: str | None = None
    name: str | None = None
    company: str | None = None
    status: str | None = None
    properties: Any = None  # {key: value}; on an update, null removes a value


def text_field(value: Any, field: str) -> str | None:
    """A one-line text field (name, company): these end up in headers (`Hi {{ name }}` subjects),
    so no control character or line break may enter, not even a tab."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} must be a string", field=field)
    if len(value) > _TEXT_LIMIT:
        raise Invalid(f"{field} must be at most {_TEXT_LIMIT} characters", field=field)
    problem = one_line_problem(value)
    if problem is not None:
        raise Invalid(f"{field} {problem}", field=field)
    return value.strip() or None


def hostile_field(index: int, row: Any) -> Invalid | None:
    """A control character in an imported row's text refuses the whole import (400 naming the row
    and field) instead of skipping the row: it is an attempt at header injection, not a typo."""
    if not isinstance(row, dict):
        return None
    texts = [(field, row.get(field)) for field in ("name", "company")]
    if isinstance(row.get("properties"), dict):
        texts += [(f"properties.{key}", value) for key, value in row["properties"].items()]
    for field, value in texts:
        problem = one_line_problem(value) if isinstance(value, str) else None
        if problem is not None:
            return Invalid(f"contacts[{index}].{field} {problem}", field=f"contacts[{index}].{field}")
    return None


async def find_list(deps: Deps, caller: Caller, list_id: str | None, *, counted: bool = False) -> ContactList:
    """The list, or NotFound; with its live contact_count only when `counted` (a count costs a scan)."""
    project_id = caller.project_id
    if not list_id:
        raise Invalid("a list is required", field="list_id")
    return found(await deps.storage.lists.get(project_id, list_id, counted=counted), f"list {list_id}")


async def create_contact(deps: Deps, caller: Caller, fields: ContactInput) -> Contact:
    if fields.email is None:
        raise Invalid("email is required", field="email")
    if fields.status is not None:
        raise Invalid("status cannot be set on create; new contacts are subscribed (or pending)", field="status")
    address = check_address(fields.email, "email")
    target = await find_list(deps, caller, fields.list_id)
    properties = await _checked_properties(deps, caller.project_id, fields.properties)
    contact = Contact(
        id=deps.ids.new("con"),
        project_id=caller.project_id,
        list_id=target.id,
        email=address,
        created_at=deps.clock.now(),
        name=text_field(fields.name, "name"),
        company=text_field(fields.company, "company"),
        status=ContactStatus.PENDING if target.double_opt_in else ContactStatus.SUBSCRIBED,
        properties=applied({}, properties),
    )
    await deps.storage.contacts.add(contact)
    await joined(deps, [contact])  # the journeys the list starts (a pending contact joins once confirmed)
    if contact.status is ContactStatus.PENDING:
        try:
            await send_code(deps, caller, address, "subscribe", test=caller.is_test)
        except (RateLimited, QuotaExceeded):
            # No pending contact without its code: the caller may retry once the limit allows.
            await deps.storage.contacts.delete(caller.project_id, contact.id)
            raise
    return (await as_read(deps, caller.project_id, [contact]))[0]


async def _checked_properties(deps: Deps, project_id: str, given: Any) -> dict[str, Any]:
    if given is None:
        return {}
    return check_values(await declared(deps, project_id), given)


async def _stored(deps: Deps, caller: Caller, contact_id: str) -> Contact:
    return found(await deps.storage.contacts.get(caller.project_id, contact_id), f"contact {contact_id}")


async def get_contact(deps: Deps, caller: Caller, contact_id: str) -> Contact:
    """The contact with every declared property (its value or the default)."""
    return (await as_read(deps, caller.project_id, [await _stored(deps, caller, contact_id)]))[0]


async def update_contact(deps: Deps, caller: Caller, contact_id: str, fields: ContactInput) -> Contact:
    contact = await _stored(deps, caller, contact_id)
    changes: dict[str, Any] = {}
    if fields.properties is not None:
        changes["properties"] = applied(
            contact.properties, await _checked_properties(deps, caller.project_id, fields.properties)
        )
    if fields.email is not None:
        changes["email"] = check_address(fields.email, "email")
    if fields.name is not None:
        changes["name"] = text_field(fields.name, "name")
    if fields.company is not None:
        changes["company"] = text_field(fields.company, "company")
    if fields.status is not None:
        changes["status"] = change_status(contact.status, fields.status)
    if fields.list_id is not None:
        changes["list_id"] = (await find_list(deps, caller, fields.list_id)).id
    updated = evolve(contact, **changes)
    if updated != contact:
        await deps.storage.contacts.update(updated)
    return (await as_read(deps, caller.project_id, [updated]))[0]


async def delete_contact(deps: Deps, caller: Caller, contact_id: str) -> None:
    project_id = caller.project_id
    if not await deps.storage.contacts.delete(project_id, contact_id):
        raise NotFound(f"contact {contact_id} not found")


async def list_contacts(
    deps: Deps, caller: Caller, list_id: str | None, page: OffsetRequest, search: str | None, status: str | None
) -> OffsetPage[Contact]:
    project_id = caller.project_id
    target = await find_list(deps, caller, list_id)
    wanted = None
    if status is not None:
        try:
            wanted = ContactStatus(status)
        except ValueError:
            known = ", ".join(s.value for s in ContactStatus)
            raise Invalid(f"status must be one of: {known}", field="status") from None
    query = ContactQuery(list_id=target.id, search=(search or "").strip() or None, status=wanted)
    found_page = await deps.storage.contacts.page(project_id, query, page)
    return OffsetPage(items=await as_read(deps, project_id, found_page.items), total=found_page.total)


@frozen
class ImportInput:
    list_id: str | None = None
    contacts: Any = None


@frozen
class ListInput:
    name: str | None = None
    double_opt_in: bool | None = None


@frozen
class ImportResult:
    imported: int
    skipped: int
    errors: list[tuple[int, str]]


async def import_contacts(
    deps: Deps, caller: Caller, list_id: str | None, rows: Any, *, test: bool = False
) -> ImportResult:
    """Up to `max_import_rows` rows into one list in one transaction. Invalid rows are reported by
    index and left out; addresses already in the list (or earlier in `rows`) are skipped. Contacts
    entering a double opt-in list are sent their code (through the log mailer when `test`)."""
    project_id = caller.project_id
    if not isinstance(rows, list):
        raise Invalid("contacts must be an array of {email, name} objects", field="contacts")
    limit = deps.config.max_import_rows
    if len(rows) > limit:
        raise Invalid(f"contacts has {len(rows)} rows; at most {limit} per import", field="contacts")
    for index, row in enumerate(rows):
        hostile = hostile_field(index, row)
        if hostile is not None:
            raise hostile
    target = await find_list(deps, caller, list_id)
    status = ContactStatus.PENDING if target.double_opt_in else ContactStatus.SUBSCRIBED
    known = await declared(deps, project_id)
    now = deps.clock.now()
    valid: dict[str, tuple[int, Contact]] = {}
    errors: list[tuple[int, str]] = []
    for index, row in enumerate(rows):
        try:
            contact = _import_row(deps, project_id, target.id, row, status, now, known)
            valid[contact.id] = (index, contact)
        except Invalid as error:
            errors.append((index, error.message))
    if status is ContactStatus.PENDING and not test:
        await check_codes_fit(deps, project_id, len(valid))
    inserted = await deps.storage.contacts.add_many([contact for _, contact in valid.values()])
    imported = len(inserted)
    await joined(deps, inserted)
    if status is ContactStatus.PENDING:
        for position, contact in enumerate(inserted):
            try:
                await send_code(deps, caller, contact.email, "subscribe", test=test)
            except RateLimited as error:
                await deps.storage.contacts.delete(project_id, contact.id)
                errors.append((valid[contact.id][0], f"not imported: {error.message}"))
                imported -= 1
            except QuotaExceeded:
                # Another send took what was left since the check: no contact stays without a code.
                for unsent in inserted[position:]:
                    await deps.storage.contacts.delete(project_id, unsent.id)
                raise
    errors.sort()
    return ImportResult(imported=imported, skipped=len(valid) - len(inserted), errors=errors)


async def check_codes_fit(deps: Deps, project_id: str, count: int) -> None:
    """Refuse up front (402, nothing imported) an import into a double opt-in list whose
    confirmation emails would pass what is left of the quota or the sandbox sender's cap."""
    for charge in code_charges(deps, deps.clock.now()):
        left = max(0, charge.limit - await deps.storage.quota.usage(project_id, charge.counter, charge.period))
        if count > left:
            raise QuotaExceeded(
                f"This import would send up to {count:,} confirmation emails to a double opt-in list, but only "
                f"{left:,} are left of the {charge.label} ({charge.limit:,}); nothing was imported"
            )


def _import_row(
    deps: Deps, project_id: str, list_id: str, row: Any, status: ContactStatus, now: Any, known: dict[str, Any]
) -> Contact:
    if not isinstance(row, dict):
        raise Invalid("expected an object with email and optional name, company and properties")
    unknown = set(row) - {"email", "name", "company", "properties"}
    if unknown:
        raise Invalid(f"unknown field(s): {', '.join(sorted(unknown))}")
    return Contact(
        id=deps.ids.new("con"),
        project_id=project_id,
        list_id=list_id,
        email=check_address(row.get("email"), "email"),
        created_at=now,
        name=text_field(row.get("name"), "name"),
        company=text_field(row.get("company"), "company"),
        status=status,
        properties=applied({}, check_values(known, row.get("properties") or {})),
    )


def _list_name(value: Any) -> str:
    name = text_field(value, "name")
    if name is None:
        raise Invalid("name is required", field="name")
    return name


async def create_list(deps: Deps, caller: Caller, name: Any, double_opt_in: bool = False) -> ContactList:
    project_id = caller.project_id
    contact_list = ContactList(
        id=deps.ids.new("lst"),
        project_id=project_id,
        name=_list_name(name),
        created_at=deps.clock.now(),
        double_opt_in=double_opt_in,
    )
    await deps.storage.lists.add(contact_list)
    return contact_list


async def update_list(
    deps: Deps, caller: Caller, list_id: str, name: Any = None, double_opt_in: bool | None = None
) -> ContactList:
    found = await find_list(deps, caller, list_id)
    updated = evolve(
        found,
        name=_list_name(name) if name is not None else found.name,
        double_opt_in=found.double_opt_in if double_opt_in is None else double_opt_in,
    )
    await deps.storage.lists.update(updated)
    return updated


async def delete_list(deps: Deps, caller: Caller, list_id: str) -> None:
    project_id = caller.project_id
    if not await deps.storage.lists.delete(project_id, list_id):
        raise NotFound(f"list {list_id} not found")


async def all_lists(deps: Deps, caller: Caller) -> list[ContactList]:
    """The project's lists, each with its contact count."""
    project_id = caller.project_id
    return await deps.storage.lists.all(project_id)


async def contacts_page(deps: Deps, caller: Caller, query: ContactQuery, page: OffsetRequest) -> OffsetPage[Contact]:
    project_id = caller.project_id
    return await deps.storage.contacts.page(project_id, query, page)
