"""People: a project's contacts read by address across its lists, the way APIs without lists see
them (the Resend-compatible contacts). A person is the address; they have one contact in each
list they are in, and these act on every one of them.

A person added without a list goes into the project's list named "Contacts", made on first use:
every contact is in a list here, and a campaign reaches that one like any other.
"""

from __future__ import annotations

from typing import Any

from autorelay_core.domain.addresses import check_address
from autorelay_core.domain.callers import Caller
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus, email_key
from autorelay_core.errors import Conflict, Invalid, NotFound
from autorelay_core.usecases.context import Deps
from autorelay_core.usecases.manage_contacts import (
    ContactInput,
    all_lists,
    create_contact,
    create_list,
    delete_contact,
    find_list,
    update_contact,
)
from autorelay_core.usecases.manage_properties import as_read

DEFAULT_LIST = "Contacts"
MAX_PAGE = 100


async def people_page(deps: Deps, caller: Caller, limit: int, after: str | None) -> list[Contact]:
    """One contact per person (their oldest), oldest first, with their properties as read."""
    if after is not None and await deps.storage.contacts.get(caller.project_id, after) is None:
        raise Invalid("after must be the id of a contact of this project", field="after")
    found = await deps.storage.contacts.people(caller.project_id, limit, after)
    return await as_read(deps, caller.project_id, found)


async def find_person(deps: Deps, caller: Caller, id_or_email: str) -> list[Contact]:
    """The person's contacts, oldest first, by one contact's id or by the address."""
    key = None
    if "@" in id_or_email:
        key = email_key(id_or_email)
    else:
        contact = await deps.storage.contacts.get(caller.project_id, id_or_email)
        key = contact.email_key if contact else None
    found = await deps.storage.contacts.of_person(caller.project_id, key) if key else []
    if not found:
        raise NotFound(f"contact {id_or_email} not found")
    return await as_read(deps, caller.project_id, found)


async def default_list(deps: Deps, caller: Caller) -> ContactList:
    for found in await all_lists(deps, caller):
        if found.name == DEFAULT_LIST:
            return found
    return await create_list(deps, caller, DEFAULT_LIST)


async def add_person(
    deps: Deps,
    caller: Caller,
    email: Any,
    name: str | None,
    properties: Any,
    unsubscribed: bool,
    list_ids: list[str],
) -> list[Contact]:
    """The person in each list given (the default list without one); Conflict when they already
    are in every one of them."""
    address = check_address(email, "email")
    targets = [await find_list(deps, caller, list_id) for list_id in list_ids] or [await default_list(deps, caller)]
    made = []
    for target in targets:
        fields = ContactInput(address, target.id, name, None, None, properties)
        try:
            contact = await create_contact(deps, caller, fields)
        except Conflict:
            if len(targets) == 1:
                raise
            continue
        if unsubscribed:  # added as having left: a contact starts subscribed, then leaves
            contact = await update_contact(deps, caller, contact.id, ContactInput(status="unsubscribed"))
        made.append(contact)
    if not made:
        raise Conflict(f"{address} is already in every list given")
    return made


async def update_person(
    deps: Deps, caller: Caller, id_or_email: str, name: str | None, properties: Any, unsubscribed: bool | None
) -> list[Contact]:
    """Each of the person's contacts: the name and properties given, and subscribed or not (a
    contact that bounced, complained or waits for its code keeps that status)."""
    contacts = await find_person(deps, caller, id_or_email)
    wanted = None if unsubscribed is None else ("unsubscribed" if unsubscribed else "subscribed")
    changeable = (ContactStatus.SUBSCRIBED, ContactStatus.UNSUBSCRIBED)
    updated = []
    for contact in contacts:
        status = wanted if wanted and contact.status in changeable and contact.status.value != wanted else None
        fields = ContactInput(name=name, status=status, properties=properties)
        updated.append(await update_contact(deps, caller, contact.id, fields))
    return updated


async def delete_person(deps: Deps, caller: Caller, id_or_email: str) -> str:
    """Every contact of the person; the id of their oldest (what they were known by)."""
    contacts = await find_person(deps, caller, id_or_email)
    for contact in contacts:
        await delete_contact(deps, caller, contact.id)
    return contacts[0].id


async def person_lists(deps: Deps, caller: Caller, id_or_email: str) -> list[ContactList]:
    contacts = await find_person(deps, caller, id_or_email)
    return [await find_list(deps, caller, c.list_id) for c in contacts]


async def join_list(deps: Deps, caller: Caller, id_or_email: str, list_id: str) -> Contact:
    """The person in one more list, with their name and properties (already there: that contact)."""
    contacts = await find_person(deps, caller, id_or_email)
    target = await find_list(deps, caller, list_id)
    for contact in contacts:
        if contact.list_id == target.id:
            return contact
    # The values set on the contact, not the defaults read into it.
    first = await deps.storage.contacts.get(caller.project_id, contacts[0].id) or contacts[0]
    fields = ContactInput(first.email, target.id, first.name, first.company, None, first.properties or None)
    return await create_contact(deps, caller, fields)


async def leave_list(deps: Deps, caller: Caller, id_or_email: str, list_id: str) -> None:
    contacts = await find_person(deps, caller, id_or_email)
    target = await find_list(deps, caller, list_id)
    for contact in contacts:
        if contact.list_id == target.id:
            await delete_contact(deps, caller, contact.id)
            return
    raise NotFound(f"contact {id_or_email} is not in the list {list_id}")
