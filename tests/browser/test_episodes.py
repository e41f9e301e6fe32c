"""Episodes on the environment page in a real browser (the bar of issue 6): the officer opens
an episode, replays it (the slider moves through its hours), sees estimated cells marked as
such on the map, sees its upwind candidates, and exports it; nothing leaves loopback."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from onegrid.dashboard.pages import environment as env
from onegrid.dashboard.pages import environment_episodes as ep
from tests.browser.conftest import login, screenshot, watch
from tests.dashboard import air_data

_ROWS = f"document.querySelectorAll('#{ep.EPISODES} tbody tr td[data-dash-column=station]')"
_BADGES = "document.querySelectorAll('.og-station-badge').length"
_CHART = f"document.querySelector('#{env.CHART} .js-plotly-plot')"


@pytest.fixture(scope="module")
def air_ctx(air_ctx):
    """The shared air context (tests/dashboard/fixtures.py) with `air_data`'s demo sources
    in its register."""
    return air_data.with_sources(air_ctx)


def text_of(element_id: str) -> str:
    """Return a JS expression: the element's text, or "" while it is not on the page."""
    return f"((document.getElementById('{element_id}') || {{}}).textContent || '')"


def keep_layers(page) -> dict[str, list]:
    """Collect what the server sends the estimated-cells and focus layers."""
    sent: dict[str, list] = {"estimates": [], "hideouts": [], "focus": []}

    def keep(response):
        if "_dash-update-component" not in response.url or response.status != 200:
            return
        body = response.text()
        if ep.FOCUS not in body and env.ESTIMATES not in body:
            return
        found = json.loads(body).get("response") or {}
        layer = found.get(env.ESTIMATES) or {}
        if layer.get("data"):
            sent["estimates"].append(layer["data"])
        if layer.get("hideout"):
            sent["hideouts"].append(layer["hideout"])
        if (found.get(ep.FOCUS) or {}).get("data"):
            sent["focus"].append(found[ep.FOCUS]["data"])
    page.on("response", keep)
    return sent


def open_episode(page, station: str) -> None:
    """Click the station cell of the episode's row in the list."""
    page.locator(f"#{ep.EPISODES} td[data-dash-column=station]",
                 has_text=station).first.click()


def steps_until_stopped(page, play_text: str) -> list[str]:
    """Return the slider labels seen until the player stops (the button reads play)."""
    seen: list[str] = []
    for _ in range(200):
        label = page.text_content(f"#{env.STEP}")
        if not seen or seen[-1] != label:
            seen.append(label)
        if page.text_content(f"#{env.PLAY}") == play_text and len(seen) > 1:
            break
        page.wait_for_timeout(150)
    return seen


def test_an_officer_opens_replays_and_exports_an_episode(page, serve, air_ctx):
    url = serve(air_ctx)
    seen = watch(page, url)

    def chart_of(station: str) -> None:
        title = f"((({_CHART} || {{}}).layout || {{}}).title || {{}}).text || ''"
        page.wait_for_function(f"({title}).includes(\"{station}\")", timeout=30_000)

    sent = keep_layers(page)
    page.set_viewport_size({"width": 1400, "height": 900})
    login(page, url, "EO-01", path="/environment")
    page.wait_for_function(f"{_BADGES} === {len(air_ctx.registry.stations)}", timeout=30_000)
    page.wait_for_function(f"{_ROWS}.length === {len(air_data.EPISODES)}", timeout=30_000)

    # Estimated cells are on their own layer, every feature marked, and named in the legend.
    page.wait_for_function(f"{text_of(env.LEGEND)}.includes('估算')", timeout=30_000)
    assert sent["estimates"], "the estimated cells' polygons were never sent"
    features = sent["estimates"][-1]["features"]
    assert features and all(f["properties"]["estimated"] is True for f in features)
    levels = sent["hideouts"][-1]["level"]
    assert len(levels) == len(features) and any(levels) and sent["hideouts"][-1]["show"]
    assert sent["hideouts"][-1]["label"].startswith("估算")

    # The list filters: ongoing only leaves the Yangpu episode.
    page.get_by_text("仅进行中", exact=True).click()
    page.wait_for_function(f"{_ROWS}.length === 1", timeout=30_000)
    assert "杨浦五角场" in page.text_content(f"#{ep.EPISODES}")
    page.get_by_text("仅进行中", exact=True).click()
    page.wait_for_function(f"{_ROWS}.length === {len(air_data.EPISODES)}", timeout=30_000)

    # The worst episode is older than the slider's 24 hours: opening it moves the slider
    # back to its hours and plays them, three hours of PM10, then stops.
    open_episode(page, "普陀长征")
    page.wait_for_function(f"{text_of(ep.REPLAY_LINE)}.includes('普陀长征')", timeout=30_000)
    hours = ["06-01 04:00 – 05:00（1小时）", "06-01 05:00 – 06:00（1小时）",
             "06-01 06:00 – 07:00（1小时）"]
    labels = steps_until_stopped(page, "▶ 播放")
    # The map's label follows the slider's last step a moment after the player stops.
    page.wait_for_function(f"{text_of(env.STEP)} === '{hours[-1]}'", timeout=30_000)
    labels.append(page.text_content(f"#{env.STEP}"))
    shown = [h for i, h in enumerate(labels) if h in hours and labels[i - 1] != h]
    assert shown == hours, labels  # every hour of the episode, in order
    page.wait_for_timeout(1500)
    assert page.text_content(f"#{env.STEP}") == hours[-1]  # and it stopped there
    page.wait_for_function(f"{text_of(env.STATION)}.includes('普陀长征')", timeout=30_000)
    assert sent["focus"], "the episode's station was not highlighted"

    # The haze episode of Huangpu: its upwind candidate is listed first and ringed.
    open_episode(page, "黄浦南京东路")
    page.wait_for_function(f"{text_of(ep.CANDIDATES)}.includes('外滩印刷厂')", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('.og-candidate').length >= 1",
                           timeout=30_000)
    first = page.locator(f"#{ep.CANDIDATES} tbody tr").first.text_content()
    assert "外滩印刷厂" in first
    page.wait_for_function(f"{text_of(env.STEP)}.startsWith('06-02 00:00')", timeout=30_000)
    chart_of("黄浦南京东路")  # the replayed station's series, over the replayed hours
    page.wait_for_timeout(2500)  # a few hours into the replay
    screenshot(page, "episodes.png")

    # Export the replayed day: the rows say which cells are estimated.
    with page.expect_download() as got:
        page.click(f"#{env.CSV}")
    rows = list(csv.DictReader(io.StringIO(Path(got.value.path()).read_text("utf-8-sig"))))
    assert {r["estimated"] for r in rows} == {"true", "false"}
    assert all(r["estimated"] == "false" for r in rows if r["kind"] == "station")
    assert any(r["id"] == air_data.HAZE_STATION and r["pm25"] == "160.0" for r in rows)
    with page.expect_download() as got:
        page.click(f"#{env.GEOJSON}")
    collection = json.loads(Path(got.value.path()).read_text("utf-8"))
    guessed = [f for f in collection["features"] if f["properties"]["estimated"] is True]
    assert guessed and {f["geometry"]["type"] for f in guessed} == {"Polygon"}

    page.get_by_text("English", exact=True).click()
    page.wait_for_function(f"{text_of('shell-page')}.includes('Exceedance episodes')",
                           timeout=30_000)
    page.wait_for_function(f"{text_of(env.LEGEND)}.includes('estimated')", timeout=30_000)
    page.wait_for_function(f"{_ROWS}.length === {len(air_data.EPISODES)}", timeout=30_000)
    open_episode(page, "Huangpu Nanjing Road East")
    page.wait_for_function(f"{text_of(ep.CANDIDATES)}.includes('Bund Printing Works')",
                           timeout=30_000)
    page.wait_for_function(f"{text_of(ep.REPLAY_LINE)}.includes('Replaying')", timeout=30_000)
    chart_of("Huangpu Nanjing Road East")
    page.wait_for_timeout(1500)
    assert "Traceback" not in page.text_content("body")
    assert (page.text_content(f"#{env.ERROR}") or "") == ""
    screenshot(page, "episodes_en.png")
    assert seen["errors"] == [] and seen["outside"] == []
