"""Request bodies -> core commands with cattrs: strict types, unknown fields refused, and errors
that name the field and say what was expected."""

from __future__ import annotations

from datetime import datetime
from types import UnionType
from typing import Any, TypeVar, Union, get_args, get_origin

import cattrs
import orjson
from cattrs.errors import IterableValidationNote
from cattrs.gen import make_dict_structure_fn, override

from autorelay_core.errors import Invalid
from autorelay_core.usecases.manage_campaigns import CampaignInput
from autorelay_core.usecases.manage_contacts import ContactInput, ImportInput, ListInput
from autorelay_core.usecases.manage_properties import PropertyInput
from autorelay_core.usecases.manage_segments import SegmentInput
from autorelay_core.usecases.manage_templates import TemplateInput
from autorelay_core.usecases.manage_topics import TopicInput
from autorelay_core.usecases.record_activity import EventInput
from autorelay_core.usecases.send_email import AttachmentInput, SendCommand

T = TypeVar("T")

converter = cattrs.Converter(forbid_extra_keys=True)


def _strict(kind: type, label: str, accept=None):
    def hook(value: Any, _: Any) -> Any:
        ok = accept(value) if accept else isinstance(value, kind)
        if not ok:
            raise ValueError(f"expected {label}")
        return value

    return hook


converter.register_structure_hook(str, _strict(str, "a string"))
converter.register_structure_hook(bool, _strict(bool, "true or false"))
converter.register_structure_hook(
    int, _strict(int, "a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
)


def _one_or_many(value: Any, _: Any) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise ValueError("expected an email address or a list of email addresses")


def _object(value: Any, _: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _string_map(value: Any, _: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError("expected a JSON object whose values are strings")
    return value


def _timestamp(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("expected an ISO 8601 date-time like 2026-05-25T10:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError("expected a date-time with a time zone (e.g. a trailing Z)")
    return moment


def _is_optional(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) in (UnionType, Union) and type(None) in args and len(args) > 2


def _optional_factory(t: Any):
    rest = tuple(a for a in get_args(t) if a is not type(None))
    inner = converter.get_structure_hook(Union[rest])  # noqa: UP007 - rebuilding a runtime union

    def hook(value: Any, _: Any) -> Any:
        return None if value is None else inner(value, rest)

    return hook


converter.register_structure_hook_factory(_is_optional, _optional_factory)


def _list_factory(t: Any):
    # cattrs turns any iterable (even a dict) into a list; JSON callers must send an array.
    (item,) = get_args(t)
    item_hook = converter.get_structure_hook(item)

    def hook(value: Any, _: Any) -> list:
        if not isinstance(value, list):
            raise ValueError("expected a list")
        errors, result = [], []
        for index, element in enumerate(value):
            try:
                result.append(item_hook(element, item))
            except Exception as error:
                note = IterableValidationNote(f"Structuring {t} @ index {index}", index, item)
                error.__notes__ = [*getattr(error, "__notes__", []), note]
                errors.append(error)
        if errors:
            raise cattrs.IterableValidationError(f"While structuring {t!r}", errors, t)
        return result

    return hook


converter.register_structure_hook_factory(lambda t: get_origin(t) is list and len(get_args(t)) == 1, _list_factory)
converter.register_structure_hook_func(lambda t: t == str | list[str], _one_or_many)
converter.register_structure_hook_func(lambda t: t == dict[str, Any], _object)
converter.register_structure_hook_func(lambda t: t == dict[str, str], _string_map)
converter.register_structure_hook(datetime, _timestamp)
converter.register_structure_hook(
    SendCommand,
    make_dict_structure_fn(SendCommand, converter, _cattrs_forbid_extra_keys=True, from_=override(rename="from")),
)
converter.register_structure_hook(
    AttachmentInput, make_dict_structure_fn(AttachmentInput, converter, _cattrs_forbid_extra_keys=True)
)
converter.register_structure_hook(Any, lambda value, _: value)
# The wire's camelCase names for the reference's contact and list fields.
_WIRE_NAMES = {
    "from_": "from",
    "list_id": "listId",
    "double_opt_in": "doubleOptIn",
    "from_email": "fromEmail",
    "contact_id": "contactId",
    "occurred_at": "occurredAt",
    "segment_id": "segmentId",
    "topic_id": "topicId",
    "ab_test": "abTest",
    "default_subscription": "defaultSubscription",
}
for _cls in (ContactInput, ImportInput, ListInput, CampaignInput, PropertyInput, EventInput, SegmentInput, TopicInput):
    _renames: dict[str, Any] = {
        name: override(rename=wire) for name, wire in _WIRE_NAMES.items() if hasattr(_cls, name)
    }
    converter.register_structure_hook(
        _cls, make_dict_structure_fn(_cls, converter, _cattrs_forbid_extra_keys=True, **_renames)
    )


def _path(path: str) -> str:
    # cattrs paths look like "$.emails[3].to"; users know the field as "emails[3].to".
    path = path.removeprefix("$").removeprefix(".") or "body"
    return _WIRE_NAMES.get(path, path)


def _describe(error: BaseException, where: str) -> list[str]:
    messages: list[str] = []
    for line in cattrs.transform_error(error, format_exception=_format):
        text, _, at = line.rpartition(" @ ")
        field = ".".join(p for p in (where, _path(at) if at != "$" else "") if p)
        if not field:
            messages.append(text)
        else:
            messages.append(f"{field} {text}" if text.startswith("is ") else f"{field}: {text}")
    return messages


def _format(exc: BaseException, type_: Any) -> str:
    if isinstance(exc, KeyError):
        return "is required"
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        return f"unknown field(s): {', '.join(sorted(exc.extra_fields))}"
    if isinstance(exc, ValueError | TypeError) and str(exc):
        return str(exc)
    return "has the wrong type"


# JSON bodies nest a few levels (a batch's email's data); past this, a body is an attack on the
# parsers and walkers behind it (cattrs, the NUL check), refused before any of them runs.
MAX_DEPTH = 32


def parse_json(raw: bytes | str) -> Any:
    """A request body as JSON: valid, at most MAX_DEPTH levels deep, with no NUL in any string."""
    if not raw:
        raise Invalid("the request body is empty; send a JSON object")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        if str(error).startswith("depth limit exceeded"):
            raise Invalid(_too_deep()) from None
        raise Invalid("the request body is not valid JSON") from None
    problem = _shape_problem(data, find_nul=b"\\u0000" in (raw if isinstance(raw, bytes) else raw.encode()))
    if problem is not None:
        raise Invalid(problem)
    return data


def _too_deep() -> str:
    return f"the request body is nested more than {MAX_DEPTH} levels deep"


def _shape_problem(data: Any, *, find_nul: bool) -> str | None:
    """Too deep, or where the first string (value or key) holding a NUL is; walked without
    recursion, so no body can exhaust the stack."""
    stack: list[tuple[Any, str, int]] = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                return _too_deep()
            for key, item in value.items():
                if find_nul and "\x00" in key:
                    return f"{path or 'a field name'} must not contain the NUL character (\\u0000)"
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return _too_deep()
            stack.extend((item, f"{path}[{index}]", depth + 1) for index, item in enumerate(value))
        elif find_nul and isinstance(value, str) and "\x00" in value:
            # No email can carry NUL (RFC 5322), and no database text column can store it.
            return f"{path or 'the request body'} must not contain the NUL character (\\u0000)"
    return None


def structure(data: Any, cls: type[T], *, where: str = "") -> T:
    if not isinstance(data, dict):
        raise Invalid(f"{where or 'the request body'} must be a JSON object")
    try:
        return converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError) as error:
        messages = _describe(error, where) if isinstance(error, cattrs.BaseValidationError) else [str(error)]
        raise Invalid("; ".join(messages) or "the request body is invalid") from None


def send_command(data: Any, *, where: str = "") -> SendCommand:
    return structure(data, SendCommand, where=where)


def template_input(data: Any) -> TemplateInput:
    return structure(data, TemplateInput)
