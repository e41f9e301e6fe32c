"""The city overview in a real browser: the live map draws, the language switches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from onegrid.dashboard import create_app, ids, start_server
from onegrid.geo.regions import load_regions
from onegrid.geo.registry import load_registry
from onegrid.geo.store import insert_dead_letters, insert_events
from tests.dashboard.test_app import dead_letters, random_events

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
_TRACE_JS = f"document.querySelector('#{ids.MAP} .js-plotly-plot')"


@pytest.fixture
def live_url(store):
    """The overview served on a free loopback port over a store of 3,000 recent events."""
    regions, registry = load_regions(), load_registry()
    events = random_events(regions, 3000, datetime.now(UTC), span=timedelta(minutes=50))
    store.write(lambda cur: insert_events(cur, events))
    store.write(lambda cur: insert_dead_letters(cur, dead_letters(3)))
    server = start_server(create_app(store, regions, registry, refresh_ms=1000), port=0)
    try:
        yield server.url
    finally:
        server.stop()


def test_overview_draws_the_live_map_and_switches_to_english(page, live_url):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    outside: list[str] = []  # the page must work offline: no tiles, fonts or scripts from afar
    page.on("request", lambda req: _is_local(req.url, live_url) or outside.append(req.url))
    page.goto(live_url, wait_until="domcontentloaded")
    page.wait_for_selector(f"#{ids.MAP} .js-plotly-plot", timeout=30_000)
    page.wait_for_function(f"{_TRACE_JS}.data[0].locations.length > 0", timeout=30_000)
    assert page.text_content(f"#{ids.TITLE}") == "城运总览"
    assert page.evaluate(f"{_TRACE_JS}.data[0].type") == "choroplethmap"
    _screenshot(page, "live_map.png")

    # Zooming in swaps the layer for finer cells: the H3 id's second hex digit is its resolution.
    box = page.locator(f"#{ids.MAP}").bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2 - 300, box["y"] + box["height"] / 2)
    for _ in range(6):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(150)
    page.wait_for_function(
        f"parseInt({_TRACE_JS}.data[0].locations[0][1], 16) > 7", timeout=15_000)

    page.get_by_text("English", exact=True).click()
    page.wait_for_function(
        f"document.getElementById('{ids.TITLE}').textContent === 'City overview'", timeout=10_000)
    page.wait_for_function(
        f"document.getElementById('{ids.STATUS}').textContent.includes('Events stored')",
        timeout=10_000)
    status = page.text_content(f"#{ids.STATUS}")
    assert "3,000" in status and "Dead letters" in status

    assert (page.text_content(f"#{ids.MAP_ERROR}") or "") == ""
    assert "Traceback" not in page.text_content("body")
    assert errors == []
    assert outside == []
    _screenshot(page, "live_map_en.png")


def _is_local(url: str, live_url: str) -> bool:
    # blob: and data: URLs are made in the page (MapLibre's worker), not fetched.
    return url.startswith((live_url, "blob:", "data:"))


def _screenshot(page, name: str) -> None:
    page.wait_for_timeout(500)  # let the map finish painting the cells
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name))
