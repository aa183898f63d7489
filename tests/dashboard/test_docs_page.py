"""The API reference page at /docs in a real Chromium: Redoc (vendored, no CDN) renders the served
contract, nothing it needs is refused by the page's policy, and the JSON form of the contract is the
YAML's."""

from __future__ import annotations

import os

import httpx
import pytest
import yaml

from tests.dashboard.conftest import CHROMIUM, SHOTS

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")


def test_the_docs_page_renders_the_served_contract(dash_server):
    server = dash_server
    as_json = httpx.get(f"{server.base}/api/v1/openapi.json")
    as_yaml = httpx.get(f"{server.base}/api/v1/openapi.yaml")
    assert as_json.status_code == 200 and as_json.json() == yaml.safe_load(as_yaml.text)
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems = []
        page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        requested = []
        page.on("request", lambda request: requested.append(request.url))
        page.goto(f"{server.base}/docs")
        expect = playwright.expect
        expect(page.get_by_role("heading", name="AutoRelay API", exact=False).first).to_be_visible(timeout=20_000)
        expect(page.get_by_text("/api/v1/emails").first).to_be_attached()
        SHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SHOTS / "docs.png"))  # the first screen: the whole page is 50,000 px tall
        browser.close()
    # The contract reads cleanly: Redoc merges every allOf without a type conflict (#36 item 10).
    assert not [p for p in problems if "Incompatible types" in p], problems
    # Redoc's bundle shows its maker's logo from a CDN: the page's policy refuses it, and nothing else.
    refused = [p for p in problems if "Content Security Policy" in p]
    assert all("cdn.redoc.ly/redoc/logo-mini.svg" in p for p in refused), refused
    elsewhere = [u for u in requested if not u.startswith((server.base, "blob:", "data:"))]
    assert all("cdn.redoc.ly" in u for u in elsewhere) and (not elsewhere or refused), (elsewhere, refused)
