"""Assets through the real server: uploads at the size limit, content-based categories, the public
URL's bytes and headers, paging through 250, and a send that attaches an upload."""

from __future__ import annotations

import email
import email.policy
import socket
import time

import httpx
import pytest

from tests.e2e.server import Server, autorelay, wait_for

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")
HTML = b"<!doctype html><html><body><script>alert(document.domain)</script></body></html>"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("assets")).start()
    for endpoint in ("POST /api/v1/assets", "GET /api/v1/assets"):
        autorelay(srv.data_dir, "limits", "set", endpoint, "100000/min", "--project", "default")
    yield srv
    srv.stop()


@pytest.fixture
def api(server):
    with server.client(server.keys["live"]) as client:
        yield client


def upload(api, name: str, data: bytes, content_type: str = "application/octet-stream") -> httpx.Response:
    return api.post("/assets", files={"file": (name, data, content_type)})


def test_exactly_2_mib_is_accepted_and_one_byte_more_is_413(api):
    accepted = upload(api, "exact.png", PNG + b"\0" * (2 * MIB - len(PNG)), "image/png")
    assert accepted.status_code == 201, accepted.text
    body = accepted.json()
    assert body["size"] == 2 * MIB and body["category"] == "image" and body["object"] == "asset"
    assert set(body) == {"object", "id", "name", "url", "content_type", "category", "size", "created_at"}
    refused = upload(api, "over.png", PNG + b"\0" * (2 * MIB - len(PNG) + 1), "image/png")
    assert refused.status_code == 413
    names = [a["name"] for a in api.get("/assets", params={"limit": 100}).json()["data"]]
    assert "over.png" not in names and "exact.png" in names


def test_a_huge_streamed_upload_is_refused_without_being_read(server):
    """Chunked (no Content-Length): the answer comes while most of the body is still unsent."""
    boundary = "xYzZY"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="huge.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            (
                "POST /api/v1/assets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Bearer {server.keys['live']}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        chunk = b"\0" * (256 * 1024)
        sent = 0
        sock.sendall(f"{len(head):x}\r\n".encode() + head + b"\r\n")
        sock.settimeout(0.05)
        reply = b""
        while sent < 100 * MIB and b"\r\n\r\n" not in reply:
            try:
                sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                sent += len(chunk)
                reply += sock.recv(65536)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in reply and time.monotonic() < deadline:
            try:
                reply += sock.recv(65536)
            except TimeoutError:
                continue
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert sent < 4 * MIB  # refused after about 2 MiB, not after the 100 MiB on offer


def test_an_html_file_named_png_is_not_an_image_and_is_served_as_a_download(api):
    created = upload(api, "logo.png", HTML, "image/png")  # the client's claim is ignored
    assert created.status_code == 201
    asset = created.json()
    assert asset["category"] == "other" and asset["content_type"] == "application/octet-stream"
    served = httpx.get(asset["url"])
    assert served.status_code == 200 and served.content == HTML
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-type"] == "application/octet-stream"
    assert served.headers["content-disposition"].startswith("attachment")
    image = upload(api, "../../pixel.png", PNG).json()
    assert image["name"] == "pixel.png" and image["category"] == "image"
    shown = httpx.get(image["url"])
    assert shown.content == PNG and shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"] == "inline" and shown.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(image["url"].replace("pixel.png", "other.png")).status_code == 404


def test_bad_uploads_get_clear_errors(api):
    assert api.post("/assets", json={"file": "x"}).status_code == 400
    missing = api.post("/assets", files={"attachment": ("a.png", PNG, "image/png")})
    assert missing.status_code == 400 and "file" in missing.json()["error"]
    assert upload(api, "empty.png", b"").status_code == 400
    assert api.get("/assets", params={"category": "images"}).status_code == 400


def test_paging_through_250_assets_has_no_duplicate_or_gap(server):
    keys = autorelay(server.data_dir, "projects", "create", "paging", "--with-keys")
    live = dict(line.split(" key: ") for line in keys.splitlines() if " key: " in line)["  live"]
    autorelay(server.data_dir, "limits", "set", "POST /api/v1/assets", "100000/min", "--project", "paging")
    with server.client(live) as api:
        uploaded = [upload(api, f"{n}.png", PNG + n.to_bytes(2, "big")).json()["id"] for n in range(250)]
        seen, cursor = [], None
        while True:
            page = api.get("/assets", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
            seen += [a["id"] for a in page["data"]]
            if not page["has_more"]:
                assert page["next_cursor"] is None
                break
            cursor = page["next_cursor"]
        assert seen == list(reversed(uploaded))
        images = api.get("/assets", params={"category": "image", "limit": 5}).json()
        assert len(images["data"]) == 5 and images["has_more"]


def test_a_send_attaches_an_uploaded_asset_as_a_mime_part(server, api):
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
    asset = upload(api, "invoice 1042.pdf", pdf).json()
    assert asset["category"] == "pdf"
    sent = api.post(
        "/emails",
        json={
            "to": "ann@example.com",
            "from": "Billing <billing@acme.test>",
            "subject": "Your invoice",
            "html": "<p>Attached.</p>",
            "attachments": [{"asset_id": asset["id"]}, {"filename": "note.txt", "content": "aGk="}],
        },
    )
    assert sent.status_code == 200, sent.text
    path = server.data_dir / "mail" / f"{sent.json()['id']}.eml"
    wait_for(path.exists, timeout=10)
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    parts = {part.get_filename(): part for part in message.iter_attachments()}
    assert parts["invoice 1042.pdf"].get_content() == pdf
    assert parts["invoice 1042.pdf"].get_content_type() == "application/pdf"
    assert parts["note.txt"].get_content() == "hi"
    unknown = api.post(
        "/emails",
        json={
            "to": "a@example.com",
            "from": "billing@acme.test",
            "subject": "s",
            "html": "h",
            "attachments": [{"asset_id": "ast_nope"}],
        },
    )
    assert unknown.status_code == 404 and "ast_nope" in unknown.json()["error"]
