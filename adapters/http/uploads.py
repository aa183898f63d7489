"""Reading one file from a `multipart/form-data` body while it streams in, never holding or reading
more than the limit: python-multipart's streaming parser, fed chunk by chunk, stopped with 413 the
moment the file passes the limit (or the body passes the limit plus room for the other fields)."""

from __future__ import annotations

from attrs import define, field
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from autorelay_core.errors import Invalid, TooLarge

# Room for the part headers, boundaries and small extra fields around the file.
_OVERHEAD = 64 * 1024


@define
class Upload:
    filename: str | None
    data: bytes


@define
class _Part:
    headers: dict[bytes, bytes] = field(factory=dict)
    data: bytearray = field(factory=bytearray)
    field_name: bytes = b""
    current_header: bytes = b""


async def read_file(request: Request, field_name: str, limit: int) -> Upload:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise Invalid(f"send the file as multipart/form-data with a field named {field_name!r}", field=field_name)
    too_large = TooLarge(f"{field_name} is larger than {limit} bytes ({limit // (1024 * 1024)} MiB)")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _OVERHEAD:
        raise too_large  # said so up front: read nothing
    wanted = field_name.encode()
    found: list[_Part] = []
    part = _Part()

    def on_part_begin() -> None:
        nonlocal part
        part = _Part()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.current_header += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        name = part.current_header.lower()
        part.headers[name] = part.headers.get(name, b"") + data[start:end]

    def on_header_end() -> None:
        part.current_header = b""

    def on_headers_finished() -> None:
        _, disposition = parse_options_header(part.headers.get(b"content-disposition", b""))
        part.field_name = disposition.get(b"name", b"")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.field_name == wanted:
            part.data += data[start:end]
            if len(part.data) > limit:
                raise too_large

    def on_part_end() -> None:
        if part.field_name == wanted:
            found.append(part)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > limit + _OVERHEAD:
                raise too_large
            parser.write(chunk)
        parser.finalize()
    except FormParserError as error:
        raise Invalid(f"the multipart body could not be read: {error}", field=field_name) from None
    if len(found) != 1:
        raise Invalid(f"send exactly one file in the field {field_name!r}", field=field_name)
    _, disposition = parse_options_header(found[0].headers.get(b"content-disposition", b""))
    filename = disposition.get(b"filename")
    return Upload(filename.decode("utf-8", "replace") if filename else None, bytes(found[0].data))
