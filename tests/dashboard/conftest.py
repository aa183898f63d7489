"""Dashboard tests: a real server, a real Chromium (Debian's, driven by Playwright), and httpx for
the attacks. Screenshots of every page go to `screenshots/` (not committed) for a person to look at."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests import backends
from tests.e2e.server import Server, autorelay

CHROMIUM = os.environ.get("AUTORELAY_TEST_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "screenshots"
PASSWORD = "correct horse battery staple"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/dashboard/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def first_owner_link(server: Server) -> str:
    (link,) = re.findall(r"(https?://\S+/app/welcome\?token=\S+)", server.log.read_text())
    return link


def invite(server: Server, email: str, project: str = "default", role: str = "member") -> str:
    out = autorelay(server.data_dir, "users", "create", email, "--project", project, "--role", role, extra=server.extra)
    (link,) = re.findall(r"(https?://\S+/app/welcome\?token=\S+)", out)
    return link


@contextmanager
def signed_in_client(server: Server, link: str, email: str | None = None) -> Iterator[httpx.Client]:
    """An httpx client holding a dashboard session, signed in through a sign-in link."""
    with httpx.Client(base_url=server.base, timeout=30) as client:
        form = {"password": PASSWORD, "password_again": PASSWORD} | ({"email": email} if email else {})
        answer = client.post(link_path(link), data=form)
        assert answer.status_code == 303, answer.text
        yield client


def link_path(link: str) -> str:
    """The link's path: the CLI prints it with the configured public URL, not the test's port."""
    return link[link.index("/app/welcome") :]


def csrf_of(page_html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page_html).group(1)


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per test module (Playwright downloads no browser here)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def dash_server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("dashboard")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session", autouse=True)
def drop_postgres_schemas():
    yield
    backends.drop_server_schemas()
