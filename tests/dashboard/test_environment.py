"""The environment page (生态环境), its callbacks called with plain values: over the demo day
(three hours) and over `air_data`'s 56 hours of readings with known episodes."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from datetime import timedelta

import numpy as np
import pytest
from dash import Patch, no_update
from dash.exceptions import PreventUpdate
from h3.api import basic_int as h3i

from onegrid.alerts import aqi
from onegrid.dashboard import create_app
from onegrid.dashboard.components import hexmap
from onegrid.dashboard.pages import environment as page
from onegrid.dashboard.pages import environment_side as side
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.views import air_export
from onegrid.dashboard.views.environment import W
from tests.dashboard import air_data
from tests.dashboard.conftest import DEMO_END

HUANGPU = {"SH-M-HP1", "SH-M-HP2", "SH-N-LWSZFX", "SH-N-SWC"}


def layout_ids(component) -> set[str]:
    """Return every string id in a layout tree (html, dcc and dash-leaflet children)."""
    found, todo = set(), [component]
    while todo:
        c = todo.pop()
        if isinstance(getattr(c, "id", None), str):
            found.add(c.id)
        kids = getattr(c, "children", None)
        todo += kids if isinstance(kids, list) else [kids] if kids is not None else []
    return found


def step_of(hours_before_end: int) -> int:
    """Return the slider step of the hour ending `hours_before_end` hours before the end."""
    return windows.STEPS - 1 - hours_before_end


def station_row(layer_stations, station_id: str) -> int:
    return next(i for i, s in enumerate(layer_stations) if s.station_id == station_id)


# -- the page ------------------------------------------------------------------------

def test_every_id_the_callbacks_use_is_in_the_layout(dash_ctx, actor):
    found = layout_ids(page.layout(dash_ctx, actor("EO-01"), "zh", "/environment"))
    assert set(page.IDS) <= found, set(page.IDS) - found


def test_the_page_has_the_same_words_in_both_languages():
    assert W.keys("zh") == W.keys("en")


def test_the_page_opens_for_command_env_officers_and_supervisors_only(actor):
    assert page.PAGE.allows(actor("EO-01")) and page.PAGE.allows(actor("CC-01"))
    assert not page.PAGE.allows(actor("GW-00001"))


# -- scope ---------------------------------------------------------------------------

def test_a_city_wide_officer_sees_every_station(dash_ctx, actor):
    seen = reads.visible_stations(dash_ctx, actor("EO-01"))
    assert {s.station_id for s in seen} == set(dash_ctx.registry.stations)


def test_a_district_officer_sees_only_the_stations_of_the_district(dash_ctx, actor):
    seen = reads.visible_stations(dash_ctx, actor("EO-02"))
    assert {s.station_id for s in seen} == HUANGPU
    assert {s.district_id for s in seen} == {"HP"}


def test_a_district_officer_reads_no_readings_outside_the_district_even_when_asked(
        dash_ctx, actor):
    everyone = reads.visible_stations(dash_ctx, actor("EO-01"))
    hourly = reads.hourly_means(dash_ctx.store, dash_ctx.scope(actor("EO-02")), everyone,
                                DEMO_END, 3)
    has_data = {s.station_id for i, s in enumerate(everyone)
                if np.isfinite(hourly.values["pm25"][i]).any()}
    assert has_data == HUANGPU


def test_a_role_that_may_not_open_the_page_reads_nothing_through_its_callbacks(dash_ctx, actor):
    worker = actor("GW-00001")
    assert reads.visible_stations(dash_ctx, worker) == ()
    step = page.map_step(dash_ctx, worker, "aqi", "1h", None, None, "zh", None)
    assert step.station_data["features"] == [] and step.hex_hideout["v"] == []
    exported = page.export(dash_ctx, worker, "csv", "1h", None)["content"]
    assert exported.lstrip("\ufeff").strip().splitlines() == [",".join(air_export.COLUMNS)]


def test_a_callback_posted_straight_to_dash_returns_only_the_district(air_ctx):
    app = create_app(air_ctx)
    client = app.server.test_client()
    signed = client.post("/login", data={"user": "EO-02", "password": "onegrid", "lang": "zh"})
    assert signed.status_code == 302
    body = {"output": f"{page.DOWNLOAD}.data",
            "outputs": {"id": page.DOWNLOAD, "property": "data"},
            "inputs": [{"id": page.CSV, "property": "n_clicks", "value": 1},
                       {"id": page.GEOJSON, "property": "n_clicks", "value": 0}],
            "state": [{"id": page.WINDOW, "property": "value", "value": "24h"},
                      {"id": page.ANCHOR, "property": "data", "value": None}],
            "changedPropIds": [f"{page.CSV}.n_clicks"]}
    response = client.post("/_dash-update-component", data=json.dumps(body),
                           content_type="application/json")
    assert response.status_code == 200
    content = response.get_json()["response"][page.DOWNLOAD]["data"]["content"]
    rows = list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))
    assert {r["id"] for r in rows if r["kind"] == "station"} == HUANGPU


# -- hourly means and the map ----------------------------------------------------------

def test_hourly_means_are_the_stored_readings_of_each_hour(dash_ctx, actor):
    scope = dash_ctx.scope(actor("EO-01"))
    stations = reads.visible_stations(dash_ctx, actor("EO-01"))
    hourly = reads.hourly_means(dash_ctx.store, scope, stations, DEMO_END, 3)
    row = station_row(stations, "SH-M-HP1")
    for col, end in enumerate(hourly.hours):
        stored = dash_ctx.store.scalar(
            "SELECT avg(pm25) FROM events WHERE topic = 'environment' AND source_id = ? "
            "AND ts >= ? AND ts < ?", ["SH-M-HP1", end - timedelta(hours=1), end])
        assert hourly.values["pm25"][row, col] == pytest.approx(stored)


def test_an_hour_sampled_under_45_minutes_is_not_a_valid_hour(air_ctx, actor):
    stations = reads.visible_stations(air_ctx, actor("EO-01"))
    hourly = reads.hourly_means(air_ctx.store, air_ctx.scope(actor("EO-01")), stations,
                                air_data.END, 3)
    row = station_row(stations, air_data.GAP_STATION)
    assert math.isnan(hourly.values["pm25"][row, 1])  # the hour ending END - 1 h
    assert np.isfinite(hourly.values["pm25"][row, [0, 2]]).all()


def test_the_map_colours_each_station_cell_by_its_hourly_aqi(dash_ctx, actor):
    stations = reads.visible_stations(dash_ctx, actor("EO-01"))
    step = page.map_step(dash_ctx, actor("EO-01"), "aqi", "1h", None, None, "zh", None)
    cells = [f["properties"]["id"] for f in step.hex_data["features"]]
    alone = next(s for s in stations if [t.cell_r8 for t in stations].count(s.cell_r8) == 1)
    means = dash_ctx.store.query(
        f"SELECT {', '.join(f'avg({p}) AS {p}' for p in aqi.POLLUTANTS)} FROM events WHERE "
        "topic = 'environment' AND source_id = ? AND ts >= ? AND ts < ?",
        [alone.station_id, DEMO_END - timedelta(hours=1), DEMO_END]).to_pylist()[0]
    expected, _ = aqi.hourly_aqi({p: [np.nan if v is None else v] for p, v in means.items()})
    value = step.hex_hideout["v"][cells.index(hexmap.cell_to_id(alone.cell_r8))]
    assert value == expected[0] > 0
    assert step.hex_hideout["max"] == 500  # the HJ 633 colours on 0-500


def test_station_cells_are_drawn_at_resolution_8_once_and_then_only_values_change(dash_ctx,
                                                                                 actor):
    eo = actor("EO-01")
    first = page.map_step(dash_ctx, eo, "aqi", "1h", 23, None, "zh", None)
    ids = [f["properties"]["id"] for f in first.hex_data["features"]]
    assert {h3i.get_resolution(h3i.str_to_int(i)) for i in ids} == {8}
    assert len(ids) == len(first.hex_hideout["v"]) > 10
    earlier = page.map_step(dash_ctx, eo, "pm25", "1h", 22, None, "zh", first.drawn)
    assert earlier.hex_data is None and earlier.station_data is None
    assert earlier.drawn == first.drawn
    assert earlier.hex_hideout["v"] != first.hex_hideout["v"]
    assert earlier.station_hideout["label"] != first.station_hideout["label"]
    sent = json.dumps([earlier.hex_hideout, earlier.station_hideout], ensure_ascii=False)
    assert len(sent.encode()) < 8_000


def test_a_district_officer_gets_only_the_district_on_the_map(dash_ctx, actor):
    step = page.map_step(dash_ctx, actor("EO-02"), "aqi", "1h", None, None, "zh", None)
    assert {f["properties"]["id"] for f in step.station_data["features"]} == HUANGPU
    drawn = {f["properties"]["id"] for f in step.hex_data["features"]}
    assert drawn == {hexmap.cell_to_id(s.cell_r8)
                     for s in reads.visible_stations(dash_ctx, actor("EO-02"))}


def test_station_badges_carry_value_category_and_name(dash_ctx, actor):
    step = page.map_step(dash_ctx, actor("EO-01"), "no2", "1h", None, None, "en", None)
    point = next(f["properties"] for f in step.station_data["features"]
                 if f["properties"]["id"] == "SH-M-HP1")
    assert point["kind"] == "station"
    badge = {k: v[point["i"]] for k, v in step.station_hideout.items()}
    assert badge["label"].isdigit()
    assert "Huangpu Nanjing Road East" in badge["tooltip"] and "µg/m³" in badge["tooltip"]
    assert badge["colour"] in {c.colour for c in aqi.CATEGORIES}
    assert "06-01 10:00 – 11:00" in step.label  # the last hour, in Shanghai time


def test_long_windows_say_when_there_are_too_few_hours(dash_ctx, air_ctx, actor):
    short = page.map_step(dash_ctx, actor("EO-01"), "aqi", "24h", None, None, "zh", None)
    assert "20" in short.note and set(short.hex_hideout["v"]) == {0.0}
    assert set(short.station_hideout["label"]) == {"—"}
    full = page.map_step(air_ctx, actor("EO-01"), "aqi", "24h", None, None, "zh", None)
    assert full.note == "" and min(full.hex_hideout["v"]) > 0


# -- playback ----------------------------------------------------------------------

def test_play_starts_from_the_first_hour_when_the_slider_is_at_the_end():
    assert page.play(page.PLAY, page.LAST, True, "zh") == (0, False, W("zh", "pause"))
    assert page.play(page.PLAY, 5, True, "en") == (no_update, False, W("en", "pause"))


def test_each_tick_of_the_player_moves_one_hour_and_it_stops_at_the_end():
    assert page.play(page.PLAYER, 5, False, "zh") == (6, False, W("zh", "pause"))
    assert page.play(page.PLAYER, page.LAST - 1, False, "zh") == (page.LAST, True,
                                                                   W("zh", "play"))


def test_pause_stops_the_player_where_it_is():
    assert page.play(page.PLAY, 9, False, "zh") == (no_update, True, W("zh", "play"))
    with pytest.raises(PreventUpdate):
        page.play(page.PLAYER, 9, True, "zh")  # a late tick after a pause moves nothing


def test_the_slider_labels_every_third_hour_in_local_time(dash_ctx):
    marks = side.slider_marks(dash_ctx, DEMO_END)
    assert marks[page.LAST] == "11:00" and marks[page.LAST - 3] == "08:00"
    assert len(marks) == 8


def test_the_last_hour_moves_on_when_the_clock_passes_into_a_new_hour(dash_ctx):
    with pytest.raises(PreventUpdate):
        page.follow(dash_ctx, DEMO_END.isoformat())
    later = dataclasses.replace(dash_ctx, clock=lambda: DEMO_END + timedelta(minutes=61))
    anchor, marks = page.follow(later, DEMO_END.isoformat())
    assert anchor == (DEMO_END + timedelta(hours=1)).isoformat() and marks[page.LAST] == "12:00"


def test_the_anchor_follows_the_clock_and_refuses_a_future_or_odd_hour(dash_ctx):
    assert reads.anchor_of(dash_ctx, None) == DEMO_END
    earlier = (DEMO_END - timedelta(hours=2)).isoformat()
    assert reads.anchor_of(dash_ctx, earlier) == DEMO_END - timedelta(hours=2)
    for bad in ((DEMO_END + timedelta(hours=1)).isoformat(), "yesterday",
                (DEMO_END - timedelta(minutes=30)).isoformat()):
        assert reads.anchor_of(dash_ctx, bad) == DEMO_END


# -- the station series -------------------------------------------------------------

def test_a_picked_station_shows_its_hourly_series_with_the_limit_lines(air_ctx, actor):
    fig = page.series(air_ctx, actor("EO-01"), air_data.NO2_STATION, "no2", "1h", None, 23,
                      "zh")
    hourly = fig.data[0].y
    assert len(hourly) == windows.STEPS and hourly[step_of(5)] == 260.0
    lines = [s.y0 for s in fig.layout.shapes if s.type == "line" and s.xref == "paper"]
    assert lines == [200.0]  # NO2's 1-hour limit is the same in grade I and II
    assert "静安监测站" in fig.layout.title.text


def test_a_long_window_adds_its_running_mean_and_its_limits(air_ctx, actor):
    fig = page.series(air_ctx, actor("EO-01"), air_data.HAZE_STATION, "pm25", "24h", None, 23,
                      "en")
    assert [t.name for t in fig.data] == ["1-hour mean", "24 h running mean"]
    assert fig.data[1].y[-1] > 75
    assert sorted(s.y0 for s in fig.layout.shapes if s.xref == "paper") == [35.0, 75.0]


def test_the_aqi_series_draws_the_categories(air_ctx, actor):
    fig = page.series(air_ctx, actor("EO-01"), air_data.HAZE_STATION, "aqi", "1h", None, 23,
                      "zh")
    bands = [s for s in fig.layout.shapes if s.type == "rect"]
    assert bands[0].fillcolor == "#00e400" and max(fig.data[0].y) > 200


def test_a_station_outside_the_region_gives_no_series(air_ctx, actor):
    fig = page.series(air_ctx, actor("EO-02"), air_data.NO2_STATION, "no2", "1h", None, 23,
                      "zh")
    assert fig.data == () and W("zh", "pick_station") in fig.layout.annotations[0].text


def test_a_slider_step_moves_only_the_charts_hour_line(dash_ctx):
    patch = side.chart_step(dash_ctx, "1h", None, 20)
    ops = patch.to_plotly_json()["operations"]
    assert isinstance(patch, Patch) and [op["location"] for op in ops] == [
        ["layout", "shapes", 0]]
    assert ops[0]["params"]["value"]["x0"].hour == 8  # the hour ending 08:00 Shanghai


def test_a_tick_moves_on_only_once_the_map_has_drawn_the_sliders_hour():
    with pytest.raises(PreventUpdate):
        page.play(page.PLAYER, 5, False, "zh", None, 4)  # the map still shows hour 4
    assert page.play(page.PLAYER, 5, False, "zh", None, 5) == (6, False, W("zh", "pause"))
    assert page.play(page.PLAY, 5, False, "zh", None, 4) == (no_update, True, W("zh", "play"))


def test_the_chart_moves_only_its_hour_line_when_the_browser_shows_that_series(air_ctx,
                                                                              actor):
    eo = actor("EO-01")
    first, shows = page.chart_update(air_ctx, eo, air_data.HAZE_STATION, "aqi", "1h", None,
                                     23, "zh", None)
    assert not isinstance(first, Patch) and first.data and shows
    moved, kept = page.chart_update(air_ctx, eo, air_data.HAZE_STATION, "aqi", "1h", None,
                                    10, "zh", shows)
    assert isinstance(moved, Patch) and kept is no_update
    # What the browser shows differs (another language, or a response Dash dropped left
    # it on the hint): the whole series is drawn again.
    for other in ([*shows[:4], "en"], None):
        again, now = page.chart_update(air_ctx, eo, air_data.HAZE_STATION, "aqi", "1h", None,
                                       10, "zh", other)
        assert not isinstance(again, Patch) and again.data and now == shows
    hint, none = page.chart_update(air_ctx, eo, None, "aqi", "1h", None, 10, "zh", shows)
    assert not isinstance(hint, Patch) and hint.data == () and none is None


def test_every_map_layer_sent_carries_the_digest_the_page_reads_back(dash_ctx, actor):
    step = page.map_step(dash_ctx, actor("EO-01"), "aqi", "1h", 23, None, "zh", None)
    assert step.hex_data["digest"] == step.drawn["cells"]
    assert step.estimate_data["digest"] == step.drawn["estimates"]
    assert step.station_data["digest"] == step.drawn["stations"]


def test_clicking_a_station_or_its_cell_picks_it_inside_the_region_only(dash_ctx, actor):
    badge = {"properties": {"kind": "station", "id": "SH-M-HP1"}}
    assert page.picked_station(dash_ctx, actor("EO-02"), badge) == "SH-M-HP1"
    hp1 = next(s for s in reads.visible_stations(dash_ctx, actor("EO-02"))
               if s.station_id == "SH-M-HP1")
    cell = {"properties": {"i": 0, "id": hexmap.cell_to_id(hp1.cell_r8)}}
    assert page.picked_station(dash_ctx, actor("EO-02"), cell) == "SH-M-HP1"
    with pytest.raises(PreventUpdate):
        page.picked_station(dash_ctx, actor("EO-02"),
                            {"properties": {"kind": "station", "id": "SH-N-JA"}})


# -- exceedances ---------------------------------------------------------------------

def test_exceedances_are_the_station_hours_above_grade_ii_worst_first(air_ctx, actor):
    rows, has_limit = side.exceedances(air_ctx, actor("EO-01"), "aqi", "1h", air_data.END)
    assert has_limit
    top = rows[0]
    assert (top.station.station_id, top.pollutant, top.value, top.limit) == (
        air_data.NO2_STATION, "so2", 900.0, 500.0)
    assert top.hour_end == air_data.hour_end(3)
    # Above 800 µg/m³ the hour is indexed by SO2's 24-hour mean (HJ 633 table 1, note 2).
    day_mean = air_ctx.store.scalar(
        "SELECT avg(so2) FROM events WHERE source_id = ? AND ts >= ? AND ts < ?",
        [top.station.station_id, top.hour_end - timedelta(hours=24), top.hour_end])
    assert top.iaqi == aqi.iaqi([day_mean], "so2", "24h")[0] < 100
    assert [r.ratio for r in rows] == sorted((r.ratio for r in rows), reverse=True)
    assert {(r.pollutant, r.value) for r in rows} >= {("no2", 260.0), ("o3", 230.0)}


def test_the_exceedance_list_shows_time_station_value_limit_and_category(air_ctx, actor):
    table = json.dumps(page.exceedance_list(air_ctx, actor("EO-01"), "aqi", "24h", None, "zh"),
                       default=lambda c: c.to_plotly_json(), ensure_ascii=False)
    assert "黄浦南京东路" in table and "PM2.5" in table and "µg/m³" in table
    assert "75" in table and "轻度污染" in table and "超标倍数" in table


def test_particles_have_no_one_hour_limit_and_the_list_says_so(air_ctx, actor):
    table = json.dumps(page.exceedance_list(air_ctx, actor("EO-01"), "pm25", "1h", None, "en"),
                       default=lambda c: c.to_plotly_json())
    assert "sets no 1 h limit for PM2.5" in table


def test_a_district_officer_sees_only_the_districts_exceedances(air_ctx, actor):
    rows, _ = side.exceedances(air_ctx, actor("EO-02"), "aqi", "24h", air_data.END)
    assert rows and {r.station.station_id for r in rows} == {air_data.HAZE_STATION}
    rows, _ = side.exceedances(air_ctx, actor("EO-02"), "aqi", "1h", air_data.END)
    assert rows == []  # the NO2, SO2 and O3 episodes are outside Huangpu


# -- exports -------------------------------------------------------------------------

def test_the_csv_export_holds_every_station_and_cell_hour_of_the_window(air_ctx, actor):
    download = page.export(air_ctx, actor("EO-01"), "csv", "24h", None)
    assert download["filename"] == "onegrid_air_24h_20260602T0600Z.csv"
    rows = list(csv.DictReader(io.StringIO(download["content"].lstrip("\ufeff"))))
    assert list(rows[0]) == list(air_export.COLUMNS)
    stations = [r for r in rows if r["kind"] == "station"]
    cells = {r["id"] for r in rows if r["kind"] == "cell"}
    assert len(stations) == windows.STEPS * len(air_ctx.registry.stations)
    assert len(rows) == windows.STEPS * (len(air_ctx.registry.stations) + len(cells))
    last = next(r for r in stations if r["id"] == air_data.HAZE_STATION
                and r["hour_end"] == "2026-06-02T06:00:00Z")
    assert float(last["pm25"]) > 75 and last["window"] == "24h"
    assert last["category_zh"] == aqi.category_name(int(last["aqi"]), "zh")
    assert last["so2"] == "" and last["primary"]  # municipal stations measure no SO2


def test_the_geojson_export_has_stations_as_points_and_cells_as_polygons(air_ctx, actor):
    download = page.export(air_ctx, actor("EO-02"), "geojson", "1h", None)
    assert download["filename"].endswith(".geojson")
    features = json.loads(download["content"])["features"]
    points = [f for f in features if f["geometry"]["type"] == "Point"]
    polygons = [f for f in features if f["geometry"]["type"] == "Polygon"]
    assert {f["properties"]["id"] for f in points} == HUANGPU
    assert len(points) == windows.STEPS * len(HUANGPU) and polygons
    hp1 = next(f for f in points if f["properties"]["id"] == air_data.HAZE_STATION
               and f["properties"]["hour_end"] == "2026-06-02T04:00:00Z")
    assert hp1["geometry"]["coordinates"] == [121.481, 31.238]
    assert hp1["properties"]["pm25"] == 160.0 and hp1["properties"]["aqi"] == 210
    ring = polygons[0]["geometry"]["coordinates"][0]
    assert len(ring) == 7 and ring[0] == ring[-1]
