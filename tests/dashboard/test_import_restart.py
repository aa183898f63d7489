"""A large CSV import survives its server being killed: the job resumes after the restart where it
stopped, and every row is counted once (SIGKILL mid-import, then a new server on the same data)."""

from __future__ import annotations

import re
import time

import httpx

from tests.dashboard.conftest import PASSWORD, csrf_of, invite, link_path
from tests.e2e.server import Server

ROWS = 120_000


def _numbers(page: str) -> dict[str, int]:
    found = dict(re.findall(r'id="(imported|skipped|invalid)">([\d,]+)<', page))
    done = re.search(r'value="(\d+)"', page.split('id="import-bar"', 1)[1])
    return {k: int(v.replace(",", "")) for k, v in found.items()} | {"processed": int(done.group(1))}


def test_an_import_killed_midway_resumes_after_a_restart_and_counts_each_row_once(tmp_path):
    server = Server(tmp_path / "data").start()
    try:
        link = invite(server, "restart@acme.test", role="owner")
        with httpx.Client(base_url=server.base, timeout=60) as client:
            form = {"password": PASSWORD, "password_again": PASSWORD}
            assert client.post(link_path(link), data=form).status_code == 303
            token = csrf_of(client.get("/app/contacts").text)
            made = client.post("/app/contacts/lists", data={"csrf": token, "name": "Everyone"})
            list_path = made.headers["location"]
            rows = "".join(f"person{n}@example.com,Person {n}\n" for n in range(ROWS))
            upload = client.post(
                f"{list_path}/import",
                data={"csrf": token},
                files={"file": ("everyone.csv", ("email,name\n" + rows).encode(), "text/csv")},
            )
            assert upload.status_code == 303, upload.text
            job = upload.headers["location"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                seen = _numbers(client.get(f"{job}/progress").text)
                if seen["processed"] > 0:
                    break
                time.sleep(0.02)
            server.kill()  # mid-import: some chunks counted, the one in hand perhaps half inserted
            cookies = dict(client.cookies)
        assert 0 < seen["processed"] < ROWS, f"the import was not caught midway: {seen}"

        server = Server(tmp_path / "data").start()
        with httpx.Client(base_url=server.base, timeout=60, cookies=cookies) as client:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                page = client.get(job).text
                if "<h2>Imported</h2>" in page:
                    break
                time.sleep(0.2)
            final = _numbers(page)
            assert final == {"imported": ROWS, "skipped": 0, "invalid": 0, "processed": ROWS}, final
            listed = client.get(list_path).text
            assert f"{ROWS:,} contacts" in listed
    finally:
        server.stop()
