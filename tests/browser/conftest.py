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
