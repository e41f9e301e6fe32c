"""The environment page in a real browser: the city-wide officer plays back 24 hours, picks a
station and sees its series, exports CSV and GeoJSON; nothing leaves loopback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from onegrid.dashboard.pages import environment as env
from onegrid.dashboard.queries.air_windows import STEPS
from onegrid.dashboard.views.air_export import COLUMNS
from tests.browser.conftest import login, screenshot, watch

_BADGES = "Array.from(document.querySelectorAll('.og-station-badge')).map(b => b.textContent)"
_CHART = f"document.querySelector('#{env.CHART} .js-plotly-plot')"


def pick_station(page, name: str) -> None:
    """Choose a station in the dropdown by clicking its option (Enter on half-typed text,
    on a busy machine, picks whichever station matched first)."""
    page.click(f"#{env.STATION}")
    page.keyboard.type(name)
    page.get_by_role("option", name=name).first.click()


def text_of(element_id: str) -> str:
    """Return a JS expression: the element's text, or "" while it is not on the page."""
    return f"((document.getElementById('{element_id}') || {{}}).textContent || '')"


def test_an_officer_plays_back_24_hours_picks_a_station_and_exports(page, serve, air_ctx):
    url = serve(air_ctx)
    seen = watch(page, url)
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, url, "EO-01", path="/environment")
    stations = len(air_ctx.registry.stations)
    page.wait_for_function(f"{_BADGES}.length === {stations}", timeout=30_000)
    page.wait_for_function(f"{text_of(env.EXCEED)}.includes('超标')", timeout=30_000)
    assert "SH-N-JA" not in page.text_content(f"#{env.EXCEED}")  # names, not ids
    assert "静安监测站" in page.text_content(f"#{env.EXCEED}")

    # Play: the slider goes back to the first hour and moves an hour a second; the map's
    # station values change with it. Pause stops it.
    first_label = page.text_content(f"#{env.STEP}")
    page.click(f"#{env.PLAY}")
    observed: list[tuple[str, tuple[str, ...]]] = []
    for _ in range(40):
        label = page.text_content(f"#{env.STEP}")
        badges = tuple(page.evaluate(_BADGES))
        if label != first_label and (not observed or observed[-1][0] != label):
            observed.append((label, badges))
        if len(observed) >= 3:
            break
        page.wait_for_timeout(250)
    page.click(f"#{env.PLAY}")
    assert len(observed) >= 3, observed
    assert len({b for _, b in observed}) >= 2  # the values on the map changed between steps
    page.wait_for_function(f"{text_of(env.PLAY)} === '▶ 播放'", timeout=15_000)

    # Pick a station from the list: its series and the limit lines draw.
    pick_station(page, "静安监测站")
    page.wait_for_function(f"{_CHART} && {_CHART}.data.length >= 1", timeout=15_000)
    assert "静安监测站" in page.evaluate(f"{_CHART}.layout.title.text")
    assert len(page.evaluate(f"{_CHART}.data[0].y")) == STEPS
    screenshot(page, "environment.png")

    # Export the window's hourly values as CSV and as GeoJSON.
    with page.expect_download() as got:
        page.click(f"#{env.CSV}")
    text = Path(got.value.path()).read_text("utf-8-sig")
    assert got.value.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert {r["id"] for r in rows if r["kind"] == "station"} == set(air_ctx.registry.stations)
    assert any(r["name_zh"] == "静安监测站" and r["no2"] == "260.0" for r in rows)
    with page.expect_download() as got:
        page.click(f"#{env.GEOJSON}")
    collection = json.loads(Path(got.value.path()).read_text("utf-8"))
    kinds = {f["geometry"]["type"] for f in collection["features"]}
    assert collection["type"] == "FeatureCollection" and kinds == {"Point", "Polygon"}

    page.get_by_text("English", exact=True).click()
    page.wait_for_function(f"{text_of(env.EXCEED)}.includes('Exceedances')", timeout=15_000)
    page.wait_for_function(f"{_BADGES}.length === {stations}", timeout=15_000)
    pick_station(page, "Jing'an Monitoring Station")
    page.wait_for_function(f"{_CHART} && {_CHART}.data.length >= 1", timeout=15_000)
    assert "Jing'an Monitoring Station" in page.evaluate(f"{_CHART}.layout.title.text")
    assert "Averaging" in page.text_content("#shell-page")
    assert "Traceback" not in page.text_content("body")
    assert (page.text_content(f"#{env.ERROR}") or "") == ""
    screenshot(page, "environment_en.png")
    assert seen["errors"] == [] and seen["outside"] == []
