"""Second pass, CSV import (#32 item 4), against a real server: a file built to exhaust memory stops
at its first limit, the server's peak memory stays bounded and its health check answers while
it is read, a row of millions of cells is refused, what a page shows of a file is capped, and
uploads are limited per person."""

from __future__ import annotations

import threading
import time
import uuid

import httpx
import pytest

from tests.dashboard.conftest import csrf_of, invite, signed_in_client
from tests.e2e.server import Server, grown_mb, peak_memory_mb


@pytest.fixture(scope="module")
def importer(server: Server):
    with signed_in_client(server, invite(server, f"imp-{uuid.uuid4().hex[:6]}@acme.test", role="owner")) as client:
        with server.client(server.keys["live"]) as api:
            listed = api.post("/lists", json={"name": f"imports-{uuid.uuid4().hex[:6]}"}).json()["id"]
        yield client, listed


def _upload(client: httpx.Client, listed: str, content: bytes, name: str = "contacts.csv") -> httpx.Response:
    token = csrf_of(client.get(f"/app/contacts/lists/{listed}").text)
    return client.post(
        f"/app/contacts/lists/{listed}/import", data={"csrf": token}, files={"file": (name, content, "text/csv")}
    )


def test_a_file_built_to_exhaust_memory_stops_at_its_first_limit(server, importer):
    client, listed = importer
    huge = b"email\n" + b"a@x.co\n" * 2_300_000  # 16 MB of rows, 4.6 times the limit
    before = peak_memory_mb(server.pid)
    answers: list[httpx.Response] = []
    uploads = [threading.Thread(target=lambda: answers.append(_upload(client, listed, huge))) for _ in range(2)]
    health: list[float] = []
    for upload in uploads:
        upload.start()
    while any(u.is_alive() for u in uploads):
        started = time.monotonic()
        assert httpx.get(f"{server.base}/healthz", timeout=30).status_code == 200
        health.append(time.monotonic() - started)
        time.sleep(0.05)
    grown = grown_mb(before, peak_memory_mb(server.pid))
    print(f"two hostile 16 MB imports: peak RSS +{grown:.0f} MB, slowest /healthz {max(health) * 1000:.0f} ms")
    for answer in answers:
        assert answer.status_code == 400 and "more than 500,000 rows" in answer.text
    assert grown < 400, f"the server's peak memory grew {grown:.0f} MB"
    assert max(health) < 2, f"/healthz waited {max(health):.1f} s"


def test_a_row_of_millions_of_cells_is_refused_and_a_page_shows_a_bounded_sample(server, importer):
    client, listed = importer
    wide = _upload(client, listed, b"email,name\na@x.com,A\n" + b"," * 2_800_000 + b"\n")
    assert wide.status_code == 400 and "at most 50 per line" in wide.text
    long_cells = b"Email Address,Notes\n" + b"".join(b"b%d@x.com,%s\n" % (n, b"n" * 5000) for n in range(3))
    made = _upload(client, listed, long_cells, "notes.csv")
    assert made.status_code == 303, made.text
    page = client.get(made.headers["location"])
    assert page.status_code == 200 and "n" * 200 not in page.text and len(page.text) < 50_000


def test_uploads_are_limited_per_person(server):
    with signed_in_client(server, invite(server, f"many-{uuid.uuid4().hex[:6]}@acme.test", role="owner")) as client:
        with server.client(server.keys["live"]) as api:
            listed = api.post("/lists", json={"name": f"many-{uuid.uuid4().hex[:6]}"}).json()["id"]
        codes = [_upload(client, listed, b"email\n").status_code for _ in range(21)]
        assert codes == [400] * 20 + [429], codes
