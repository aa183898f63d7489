"""Resend's audience endpoints at /compat/resend, over AutoRelay's own use cases, where the shapes
meet (docs/API-COMPATIBILITY.md has the table):

- Resend's segments, and the audiences they replaced, are static groups of contacts: AutoRelay's
  lists. (AutoRelay's own segments are saved filters; Resend has none to map them to.)
- A Resend contact is a person, one address across segments: AutoRelay's contacts of that address
  in every list (usecases/people.py). `first_name` and `last_name` are AutoRelay's one `name`,
  joined by a space and split at the first one. A contact added without a segment goes into the
  project's list named "Contacts".
- Topics and contact properties are AutoRelay's, in Resend's field names (`string` is AutoRelay's
  `text` type; AutoRelay's `boolean` and `date` types read as such).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json
from adapters.http.resend_resources import json_body
from adapters.http.responses import JSON, iso
from adapters.http.routes.topics import topics_of
from autorelay_core.domain.contacts import Contact, ContactList, ContactStatus
from autorelay_core.domain.properties import ContactProperty
from autorelay_core.domain.topics import Topic
from autorelay_core.errors import Invalid, NotFound
from autorelay_core.policies.pagination import OffsetRequest
from autorelay_core.ports import ContactQuery
from autorelay_core.usecases import manage_contacts, manage_properties, manage_topics, people
from autorelay_core.usecases.manage_properties import PropertyInput
from autorelay_core.usecases.manage_topics import TopicInput

_TYPES = {"string": "text", "number": "number"}  # Resend's property types, as AutoRelay's


def _list_view(found: ContactList, kind: str) -> dict[str, Any]:
    return {"object": kind, "id": found.id, "name": found.name, "created_at": iso(found.created_at)}


def _names(name: str | None) -> tuple[str | None, str | None]:
    first, _, last = (name or "").partition(" ")
    return first or None, last or None


def _contact_view(person: list[Contact] | Contact) -> dict[str, Any]:
    """One contact, or a person (their contacts, oldest first: unsubscribed when no list sends)."""
    contacts = person if isinstance(person, list) else [person]
    first, last = _names(contacts[0].name)
    return {
        "object": "contact",
        "id": contacts[0].id,
        "email": contacts[0].email,
        "first_name": first,
        "last_name": last,
        "created_at": iso(contacts[0].created_at),
        "unsubscribed": all(c.status is not ContactStatus.SUBSCRIBED for c in contacts),
        "properties": contacts[0].properties,
    }


def _name(body: dict[str, Any], current: str | None = None) -> str | None:
    """`first_name` and `last_name` as one name; a half not given keeps the current one's."""
    parts = dict(zip(("first_name", "last_name"), _names(current), strict=True))
    for field in parts:
        if field in body:
            value = body[field]
            if value is not None and not isinstance(value, str):
                raise Invalid(f"{field} must be a string")
            parts[field] = value.strip() if value else None
    return " ".join(part for part in parts.values() if part) or None


def _flag(body: dict[str, Any], field: str) -> bool | None:
    value = body.get(field)
    if value is not None and not isinstance(value, bool):
        raise Invalid(f"{field} must be true or false")
    return value


def _page(request: Request) -> tuple[int, str | None]:
    query = request.query_params
    if query.get("before"):
        raise Invalid("before: paging backwards is not supported; use after")
    raw = query.get("limit")
    if raw is None:  # as Resend: without a limit, every one
        return 10**9, query.get("after") or None
    if not raw.isdigit() or not 1 <= int(raw) <= people.MAX_PAGE:
        raise Invalid(f"limit must be a whole number from 1 to {people.MAX_PAGE}")
    return int(raw), query.get("after") or None


# Audiences and segments: AutoRelay's lists.


def _kind(request: Request) -> str:
    return "audience" if "/audiences" in request.url.path else "segment"


@requires("contacts.write")
async def create_group(request: Request) -> Response:
    body = json_body(await request.body(), {"name"})
    made = await manage_contacts.create_list(deps_of(request), caller_of(request), body.get("name"))
    return JSON({"object": _kind(request), "id": made.id, "name": made.name}, status_code=201)


@requires("contacts.read")
async def list_groups(request: Request) -> Response:
    found = await manage_contacts.all_lists(deps_of(request), caller_of(request))
    return JSON({"object": "list", "has_more": False, "data": [_list_view(g, _kind(request)) for g in found]})


@requires("contacts.read")
async def get_group(request: Request) -> Response:
    found = await manage_contacts.find_list(deps_of(request), caller_of(request), request.path_params["group_id"])
    return JSON(_list_view(found, _kind(request)))


@requires("contacts.write")
async def update_group(request: Request) -> Response:
    body = json_body(await request.body(), {"name"})
    group_id = request.path_params["group_id"]
    await manage_contacts.update_list(deps_of(request), caller_of(request), group_id, body.get("name"))
    return JSON({"object": _kind(request), "id": group_id})


@requires("contacts.write")
async def delete_group(request: Request) -> Response:
    group_id = request.path_params["group_id"]
    await manage_contacts.delete_list(deps_of(request), caller_of(request), group_id)
    return JSON({"object": _kind(request), "id": group_id, "deleted": True})


@requires("contacts.read")
async def group_contacts(request: Request) -> Response:
    """A list's contacts, oldest first, in pages of `limit` after the contact `after`."""
    limit, after = _page(request)
    deps, caller = deps_of(request), caller_of(request)
    target = await manage_contacts.find_list(deps, caller, request.path_params["group_id"])
    found = await manage_contacts.contacts_page(deps, caller, ContactQuery(target.id), OffsetRequest(1, 10**9))
    items = found.items
    if after is not None:
        ids = [c.id for c in items]
        if after not in ids:
            raise Invalid("after must be the id of a contact of this segment")
        items = items[ids.index(after) + 1 :]
    return JSON({"object": "list", "has_more": len(items) > limit, "data": [_contact_view(c) for c in items[:limit]]})


# Contacts: people (by id or address), or one list's contact under /audiences/{id}/contacts.


def _segments(body: dict[str, Any]) -> list[str]:
    given = body.get("segments") or []
    if not isinstance(given, list):
        raise Invalid("segments must be a list of {id}")
    ids = []
    for item in given:
        segment_id = item.get("id") if isinstance(item, dict) else item
        if not isinstance(segment_id, str):
            raise Invalid("segments must be a list of {id}")
        ids.append(segment_id)
    return ids


@requires("contacts.write")
async def create_contact(request: Request) -> Response:
    # The SDKs send audience_id in the body as well as in the path.
    fields = {"email", "first_name", "last_name", "unsubscribed", "properties", "segments", "topics", "audience_id"}
    body = json_body(await request.body(), fields)
    deps, caller = deps_of(request), caller_of(request)
    lists = [request.path_params["group_id"]] if "group_id" in request.path_params else _segments(body)
    made = await people.add_person(
        deps, caller, body.get("email"), _name(body), body.get("properties"), bool(_flag(body, "unsubscribed")), lists
    )
    if body.get("topics"):
        await manage_topics.set_contact_topics(deps, caller, made[0].id, body["topics"])
    return JSON({"object": "contact", "id": made[0].id}, status_code=201)


async def _in_group(request: Request) -> Contact | None:
    """Under /audiences/{id}: the list's contact by id or address (None elsewhere)."""
    if "group_id" not in request.path_params:
        return None
    found = [
        c
        for c in await people.find_person(deps_of(request), caller_of(request), request.path_params["contact"])
        if c.list_id == request.path_params["group_id"]
    ]
    if not found:
        raise NotFound(f"contact {request.path_params['contact']} not found in {request.path_params['group_id']}")
    return found[0]


@requires("contacts.read")
async def get_contact(request: Request) -> Response:
    one = await _in_group(request)
    if one is not None:
        return JSON(_contact_view(one))
    return JSON(
        _contact_view(await people.find_person(deps_of(request), caller_of(request), request.path_params["contact"]))
    )


@requires("contacts.read")
async def list_contacts(request: Request) -> Response:
    limit, after = _page(request)
    found = await people.people_page(deps_of(request), caller_of(request), limit + 1, after)
    return JSON({"object": "list", "has_more": len(found) > limit, "data": [_contact_view(c) for c in found[:limit]]})


@requires("contacts.write")
async def update_contact(request: Request) -> Response:
    fields = {"id", "email", "first_name", "last_name", "unsubscribed", "properties", "audience_id"}
    body = json_body(await request.body(), fields)
    if body.get("email") is not None and "@" not in request.path_params["contact"]:
        raise Invalid("email: changing a contact's address is not supported here; use PUT /api/v1/contacts/{id}")
    deps, caller = deps_of(request), caller_of(request)
    one = await _in_group(request)
    named = {"first_name", "last_name"} & set(body)
    current = one or (await people.find_person(deps, caller, request.path_params["contact"]))[0]
    name = _name(body, current.name) if named else None
    if one is not None:
        unsubscribed = _flag(body, "unsubscribed")
        status = None if unsubscribed is None else ("unsubscribed" if unsubscribed else "subscribed")
        changes = manage_contacts.ContactInput(name=name, status=status, properties=body.get("properties"))
        await manage_contacts.update_contact(deps, caller, one.id, changes)
        return JSON({"object": "contact", "id": one.id})
    found = await people.update_person(
        deps, caller, request.path_params["contact"], name, body.get("properties"), _flag(body, "unsubscribed")
    )
    return JSON({"object": "contact", "id": found[0].id})


@requires("contacts.write")
async def delete_contact(request: Request) -> Response:
    deps, caller = deps_of(request), caller_of(request)
    one = await _in_group(request)
    if one is not None:
        await manage_contacts.delete_contact(deps, caller, one.id)
        return JSON({"object": "contact", "contact": one.id, "deleted": True})
    gone = await people.delete_person(deps, caller, request.path_params["contact"])
    return JSON({"object": "contact", "contact": gone, "deleted": True})


@requires("contacts.read")
async def contact_segments(request: Request) -> Response:
    found = await people.person_lists(deps_of(request), caller_of(request), request.path_params["contact"])
    return JSON({"object": "list", "has_more": False, "data": [_list_view(g, "segment") for g in found]})


@requires("contacts.write")
async def join_segment(request: Request) -> Response:
    path = request.path_params
    await people.join_list(deps_of(request), caller_of(request), path["contact"], path["group_id"])
    return JSON({"id": path["group_id"]}, status_code=201)


@requires("contacts.write")
async def leave_segment(request: Request) -> Response:
    path = request.path_params
    await people.leave_list(deps_of(request), caller_of(request), path["contact"], path["group_id"])
    return JSON({"id": path["group_id"], "deleted": True})


# Topics and a contact's choices.


def _topic_view(topic: Topic) -> dict[str, Any]:
    return {
        "object": "topic",
        "id": topic.id,
        "name": topic.name,
        "description": topic.description or None,
        "default_subscription": topic.default.value,
        "visibility": "public",
        "created_at": iso(topic.created_at),
    }


def _topic_input(body: dict[str, Any]) -> TopicInput:
    if body.get("visibility") not in (None, "public"):
        raise Invalid("visibility: every AutoRelay topic is public (shown on the preference page)")
    return TopicInput(body.get("name"), body.get("description"), body.get("default_subscription"))


@requires("contacts.write")
async def create_topic(request: Request) -> Response:
    body = json_body(await request.body(), {"name", "description", "default_subscription", "visibility"})
    if body.get("default_subscription") is None:
        raise Invalid("default_subscription is required: opt_in or opt_out")
    made = await manage_topics.create_topic(deps_of(request), caller_of(request), _topic_input(body))
    return JSON({"object": "topic", "id": made.id}, status_code=201)


@requires("contacts.read")
async def list_topics(request: Request) -> Response:
    found = await manage_topics.list_topics(deps_of(request), caller_of(request))
    return JSON({"object": "list", "has_more": False, "data": [_topic_view(t) for t in found]})


@requires("contacts.read")
async def get_topic(request: Request) -> Response:
    return JSON(
        _topic_view(
            await manage_topics.get_topic(deps_of(request), caller_of(request), request.path_params["topic_id"])
        )
    )


@requires("contacts.write")
async def update_topic(request: Request) -> Response:
    body = json_body(await request.body(), {"name", "description", "visibility"})
    topic_id = request.path_params["topic_id"]
    await manage_topics.update_topic(deps_of(request), caller_of(request), topic_id, _topic_input(body))
    return JSON({"object": "topic", "id": topic_id})


@requires("contacts.write")
async def delete_topic(request: Request) -> Response:
    topic_id = request.path_params["topic_id"]
    await manage_topics.delete_topic(deps_of(request), caller_of(request), topic_id)
    return JSON({"object": "topic", "id": topic_id, "deleted": True})


@requires("contacts.read")
async def contact_topics(request: Request) -> Response:
    deps, caller = deps_of(request), caller_of(request)
    person = await people.find_person(deps, caller, request.path_params["contact"])
    found = await manage_topics.contact_topics(deps, caller, person[0].id)
    data = [
        {
            "id": t.topic.id,
            "name": t.topic.name,
            "description": t.topic.description or None,
            "subscription": "opt_in" if t.subscribed else "opt_out",
        }
        for t in found
    ]
    return JSON({"object": "list", "has_more": False, "data": data})


@requires("contacts.write")
async def set_contact_topics(request: Request) -> Response:
    deps, caller = deps_of(request), caller_of(request)
    person = await people.find_person(deps, caller, request.path_params["contact"])
    raw = parse_json(await request.body())
    # Resend documents {"topics": [...]}; its Python SDK sends the bare list: both are taken.
    choices = raw if isinstance(raw, list) else topics_of(raw)
    await manage_topics.set_contact_topics(deps, caller, person[0].id, choices)
    return JSON({"id": person[0].id})


# Contact properties.


def _property_view(prop: ContactProperty) -> dict[str, Any]:
    kind = "string" if prop.type.value == "text" else prop.type.value
    return {
        "object": "contact_property",
        "id": prop.id,
        "key": prop.key,
        "type": kind,
        "fallback_value": prop.default,
        "created_at": iso(prop.created_at),
    }


@requires("contacts.write")
async def create_property(request: Request) -> Response:
    body = json_body(await request.body(), {"key", "type", "fallback_value"})
    kind = body.get("type")
    if kind not in _TYPES:
        raise Invalid("type must be string or number")
    fields = PropertyInput(body.get("key"), _TYPES[kind], body.get("fallback_value"))
    made = await manage_properties.create_property(deps_of(request), caller_of(request), fields)
    return JSON({"object": "contact_property", "id": made.id}, status_code=201)


@requires("contacts.read")
async def list_properties(request: Request) -> Response:
    found = await manage_properties.list_properties(deps_of(request), caller_of(request))
    return JSON({"object": "list", "has_more": False, "data": [_property_view(p) for p in found]})


@requires("contacts.read")
async def get_property(request: Request) -> Response:
    found = await manage_properties.get_property(
        deps_of(request), caller_of(request), request.path_params["property_id"]
    )
    return JSON(_property_view(found))


@requires("contacts.write")
async def update_property(request: Request) -> Response:
    body = json_body(await request.body(), {"fallback_value"})
    property_id = request.path_params["property_id"]
    fields = PropertyInput(default=body.get("fallback_value"))
    await manage_properties.update_property(deps_of(request), caller_of(request), property_id, fields)
    return JSON({"object": "contact_property", "id": property_id})


@requires("contacts.write")
async def delete_property(request: Request) -> Response:
    property_id = request.path_params["property_id"]
    await manage_properties.delete_property(deps_of(request), caller_of(request), property_id)
    return JSON({"object": "contact_property", "id": property_id, "deleted": True})


# (path, method, the /api/v1 endpoint whose limits it counts against, handler)
_GROUPS = [
    ("", "POST", "POST /api/v1/lists", create_group),
    ("", "GET", "GET /api/v1/lists", list_groups),
    ("/{group_id}", "GET", "GET /api/v1/lists/{list_id}", get_group),
    ("/{group_id}", "PATCH", "PUT /api/v1/lists/{list_id}", update_group),
    ("/{group_id}", "DELETE", "DELETE /api/v1/lists/{list_id}", delete_group),
    ("/{group_id}/contacts", "GET", "GET /api/v1/contacts", group_contacts),
]
_ONE = "/api/v1/contacts/{contact_id}"
ROUTES = [
    *[
        (f"/{group}{path}", method, limits, handler)
        for group in ("audiences", "segments")
        for path, method, limits, handler in _GROUPS
    ],
    ("/audiences/{group_id}/contacts", "POST", "POST /api/v1/contacts", create_contact),
    ("/audiences/{group_id}/contacts/{contact}", "GET", f"GET {_ONE}", get_contact),
    ("/audiences/{group_id}/contacts/{contact}", "PATCH", f"PUT {_ONE}", update_contact),
    ("/audiences/{group_id}/contacts/{contact}", "DELETE", f"DELETE {_ONE}", delete_contact),
    ("/contacts", "POST", "POST /api/v1/contacts", create_contact),
    ("/contacts", "GET", "GET /api/v1/contacts", list_contacts),
    ("/contacts/{contact}", "GET", f"GET {_ONE}", get_contact),
    ("/contacts/{contact}", "PATCH", f"PUT {_ONE}", update_contact),
    ("/contacts/{contact}", "DELETE", f"DELETE {_ONE}", delete_contact),
    ("/contacts/{contact}/segments", "GET", f"GET {_ONE}", contact_segments),
    ("/contacts/{contact}/segments/{group_id}", "POST", f"PUT {_ONE}", join_segment),
    ("/contacts/{contact}/segments/{group_id}", "DELETE", f"PUT {_ONE}", leave_segment),
    ("/contacts/{contact}/topics", "GET", f"GET {_ONE}/topics", contact_topics),
    ("/contacts/{contact}/topics", "PATCH", f"PATCH {_ONE}/topics", set_contact_topics),
    ("/topics", "POST", "POST /api/v1/topics", create_topic),
    ("/topics", "GET", "GET /api/v1/topics", list_topics),
    ("/topics/{topic_id}", "GET", "GET /api/v1/topics/{topic_id}", get_topic),
    ("/topics/{topic_id}", "PATCH", "PATCH /api/v1/topics/{topic_id}", update_topic),
    ("/topics/{topic_id}", "DELETE", "DELETE /api/v1/topics/{topic_id}", delete_topic),
    ("/contact-properties", "POST", "POST /api/v1/contact-properties", create_property),
    ("/contact-properties", "GET", "GET /api/v1/contact-properties", list_properties),
    ("/contact-properties/{property_id}", "GET", "GET /api/v1/contact-properties/{property_id}", get_property),
    ("/contact-properties/{property_id}", "PATCH", "PATCH /api/v1/contact-properties/{property_id}", update_property),
    ("/contact-properties/{property_id}", "DELETE", "DELETE /api/v1/contact-properties/{property_id}", delete_property),
]
