"""/topics: the kinds of mail a project sends, and each contact's choices about them (additive to
the reference)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from adapters.http.auth import caller_of, deps_of, requires
from adapters.http.bodies import parse_json, structure
from adapters.http.responses import JSON, iso
from adapters.http.routing import resource
from autorelay_core.domain.topics import Topic
from autorelay_core.errors import Invalid
from autorelay_core.usecases import manage_topics as uc


def topic_view(topic: Topic) -> dict[str, Any]:
    return {
        "id": topic.id,
        "name": topic.name,
        "description": topic.description,
        "defaultSubscription": topic.default.value,
        "createdAt": iso(topic.created_at),
        "updatedAt": iso(topic.updated_at),
    }


def choice_view(found: uc.PersonTopic) -> dict[str, Any]:
    return {
        "id": found.topic.id,
        "name": found.topic.name,
        "description": found.topic.description,
        "subscription": "opt_in" if found.subscribed else "opt_out",
        "explicit": found.explicit,
    }


@requires("contacts.write")
async def create_topic(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.TopicInput)
    topic = await uc.create_topic(deps_of(request), caller_of(request), fields)
    return JSON(topic_view(topic), status_code=201)


@requires("contacts.read")
async def list_topics(request: Request) -> Response:
    found = await uc.list_topics(deps_of(request), caller_of(request))
    return JSON({"success": True, "data": [topic_view(t) for t in found]})


@requires("contacts.read")
async def read_topic(request: Request) -> Response:
    topic = await uc.get_topic(deps_of(request), caller_of(request), request.path_params["topic_id"])
    return JSON({"success": True, "data": topic_view(topic)})


@requires("contacts.write")
async def update_topic(request: Request) -> Response:
    fields = structure(parse_json(await request.body()), uc.TopicInput)
    topic = await uc.update_topic(deps_of(request), caller_of(request), request.path_params["topic_id"], fields)
    return JSON({"success": True, "data": topic_view(topic)})


@requires("contacts.write")
async def delete_topic(request: Request) -> Response:
    await uc.delete_topic(deps_of(request), caller_of(request), request.path_params["topic_id"])
    return JSON({"success": True})


@requires("contacts.read")
async def read_contact_topics(request: Request) -> Response:
    found = await uc.contact_topics(deps_of(request), caller_of(request), request.path_params["contact_id"])
    return JSON({"success": True, "data": [choice_view(t) for t in found]})


def topics_of(body: Any) -> Any:
    if not isinstance(body, dict) or set(body) != {"topics"}:
        raise Invalid('the body must be {"topics": [{"id", "subscription"}, ...]}', field="topics")
    return body["topics"]


@requires("contacts.write")
async def set_contact_topics(request: Request) -> Response:
    choices = topics_of(parse_json(await request.body()))
    found = await uc.set_contact_topics(
        deps_of(request), caller_of(request), request.path_params["contact_id"], choices
    )
    return JSON({"success": True, "data": [choice_view(t) for t in found]})


routes = [
    resource("/api/v1/topics", GET=list_topics, POST=create_topic),
    resource("/api/v1/topics/{topic_id}", GET=read_topic, PATCH=update_topic, DELETE=delete_topic),
    resource("/api/v1/contacts/{contact_id}/topics", GET=read_contact_topics, PATCH=set_contact_topics),
]
