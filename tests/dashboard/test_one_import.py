"""One contact file, three doors, one reading: the same semicolon-separated Latin-1 spreadsheet
export, with a header a person wrote ("E-mail;Full name;Company"), imports the same contacts
through the API (text/csv), `autorelay contacts import` and the dashboard's upload."""

from __future__ import annotations

import re
import time

import httpx

from tests.dashboard.conftest import PASSWORD, csrf_of, invite, link_path
from tests.e2e.server import autorelay

FILE = (
    "E-mail;Full name;Company\r\n"
    "ann@example.com;Ann Müller;Acme\r\n"
    "\r\n"
    "not-an-address;Broken;X\r\n"
    "jose@example.com;José;Bäckerei\r\n"
    "bob@example.com;Bob;\r\n"
).encode("latin-1")
EXPECTED = {
    ("ann@example.com", "Ann Müller", "Acme"),
    ("jose@example.com", "José", "Bäckerei"),
    ("bob@example.com", "Bob", None),
}


def _contacts(api: httpx.Client, list_id: str) -> set[tuple[str, str | None, str | None]]:
    rows = api.get("/contacts", params={"listId": list_id, "pageSize": 100}).json()["contacts"]
    return {(row["email"], row.get("name"), row.get("company")) for row in rows}


def test_the_same_file_imports_alike_through_the_api_the_cli_and_the_dashboard(dash_server, tmp_path):
    server = dash_server
    with server.client(server.keys["live"]) as api:
        lists = {
            door: api.post("/lists", json={"name": f"From the {door}"}).json()["id"]
            for door in ("api", "cli", "dashboard")
        }

        answer = api.post(
            "/contacts/import",
            params={"listId": lists["api"]},
            content=FILE,
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["importedCount"], body["skippedCount"]) == (3, 0)
        assert [e["index"] for e in body["errors"]] == [1] and "email" in body["errors"][0]["error"]

        path = tmp_path / "export.csv"
        path.write_bytes(FILE)
        out = autorelay(server.data_dir, "contacts", "import", str(path), "--list", lists["cli"], extra=server.extra)
        assert "imported 3, skipped 0 already in the list, 1 invalid row(s)" in out
        assert re.search(r"line 4: .*email", out), out  # the line an editor shows (after the blank one)

        link = invite(server, "importer@acme.test", role="member")
        with httpx.Client(base_url=server.base, timeout=30) as client:
            assert (
                client.post(link_path(link), data={"password": PASSWORD, "password_again": PASSWORD}).status_code == 303
            )
            token = csrf_of(client.get("/app/contacts").text)
            upload = client.post(
                f"/app/contacts/lists/{lists['dashboard']}/import",
                data={"csrf": token},
                files={"file": ("export.csv", FILE, "text/csv")},
            )
            assert upload.status_code == 303, upload.text
            job = upload.headers["location"]
            mapping = client.get(job).text  # the header is not named exactly: the guesses are shown to confirm
            chosen = dict(re.findall(r'<select id="map-(\w+)".*?<option value="(\d+)" selected>', mapping, re.S))
            assert chosen == {"email": "0", "name": "1", "company": "2"}, chosen
            assert client.post(f"{job}/start", data={"csrf": token, **chosen}).status_code == 303
            deadline = time.monotonic() + 30
            while "<h2>Imported</h2>" not in (page := client.get(job).text) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert re.search(r'id="imported">3<', page) and re.search(r'id="invalid">1<', page), page

        assert (
            _contacts(api, lists["api"])
            == _contacts(api, lists["cli"])
            == _contacts(api, lists["dashboard"])
            == EXPECTED
        )
