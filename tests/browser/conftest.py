"""Browser fixtures: Debian's chromium driven headless by Playwright, nothing downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
# No network beyond loopback: no updater, no first-run pages, no GPU in CI.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    """A headless chromium. Outside CI a missing browser skips the test; in CI
    (which installs it) a missing browser is a failure, never a silent skip."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI must install /usr/bin/chromium (.ci/run does)")
        pytest.skip("no /usr/bin/chromium: apt-get install -y chromium")
    if os.environ.get("CI"):
        from playwright import sync_api
    else:
        sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser page, 1280×800."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def serve():
    """Return a function that serves a DashboardContext on a free loopback port and gives
    its base URL (servers stop at teardown)."""
    from onegrid.dashboard import create_app, start_server

    running = []

    def start(ctx) -> str:
        server = start_server(create_app(ctx), port=0)
        running.append(server)
        return server.url

    yield start
    for server in running:
        server.stop()


def login(page, base_url: str, user: str, password: str = "onegrid", path: str = "",
          lang: str = "zh") -> None:
    """Sign in on the login page as `user` and wait for the shell to draw `path`."""
    page.goto(f"{base_url}login?lang={lang}&next=/{path.lstrip('/')}" if path
              else f"{base_url}login?lang={lang}", wait_until="domcontentloaded")
    page.fill("#login-user", user)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_selector("#shell-page > *", timeout=30_000)


def watch(page, base_url: str) -> dict[str, list[str]]:
    """Collect page errors and requests that leave loopback (the pages must work offline)."""
    seen: dict[str, list[str]] = {"errors": [], "outside": []}
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on("request", lambda req: req.url.startswith((base_url, "blob:", "data:"))
            or seen["outside"].append(req.url))
    return seen


def screenshot(page, name: str) -> None:
    """Save a screenshot of the page to docs/screenshots/`name` (the README shows them)."""
    page.wait_for_timeout(500)  # let maps and charts finish painting
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
