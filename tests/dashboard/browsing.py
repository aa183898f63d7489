"""What the browser tests share: Debian's Chromium through Playwright, screenshots for a person to
look at, an axe-core accessibility audit, and small waits."""

from __future__ import annotations

import time
from pathlib import Path

from tests.dashboard.conftest import PASSWORD, SHOTS, link_path

AXE = (Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js").read_text()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def nav(page):
    return page.get_by_role("navigation", name="Main")


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def sign_in_with_link(page, base: str, link: str, email: str) -> None:
    """A new user's first visit: the sign-in link, then a password."""
    page.goto(base + link_path(link))
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("The same password again").fill(PASSWORD)
    page.get_by_role("button", name="Save and sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()


def serious_problems(browser, context, base: str, paths: list[str]) -> dict[str, list[str]]:
    """axe-core's serious and critical findings per page (labels, contrast, names, landmarks)."""
    audit = browser.new_context(
        viewport={"width": 1280, "height": 900}, bypass_csp=True, storage_state=context.storage_state()
    )
    checker = audit.new_page()
    found = {}
    for path in paths:
        checker.goto(f"{base}{path}" if path.startswith("/") else f"{base}/app/{path}")  # "/...": not the app's
        checker.evaluate(AXE)
        problems = checker.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => ['serious', 'critical'].includes(v.impact))"
            ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
        )
        if problems:
            found[path] = problems
    audit.close()
    return found
