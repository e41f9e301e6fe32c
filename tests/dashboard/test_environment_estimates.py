"""Between the stations on the environment page: estimated cells, marked as estimated on the
map and in the exports, never over a measured cell, scoped to the officer's region."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest
from h3.api import basic_int as h3i

from onegrid.alerts import aqi
from onegrid.dashboard.components import hexmap
from onegrid.dashboard.pages import environment as page
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.queries import estimates
from onegrid.dashboard.views import environment as view
from onegrid.geo.interpolation import MAX_KM, distances_km
from tests.dashboard import air_data


def ids_of(data) -> list[str]:
    return [f["properties"]["id"] for f in data["features"]]


def test_estimated_cells_are_the_regions_cells_without_a_station(air_ctx, actor):
    eo = actor("EO-01")
    step = page.map_step(air_ctx, eo, "aqi", "1h", None, None, "zh", None)
    measured, guessed = set(ids_of(step.hex_data)), set(ids_of(step.estimate_data))
    assert measured and guessed and not measured & guessed  # never over a measured cell
    city = {hexmap.cell_to_id(c) for c in estimates.region_cells(air_ctx.regions,
                                                                 air_ctx.scope(eo)).cells}
    assert measured | guessed == city
    assert {h3i.get_resolution(h3i.str_to_int(i)) for i in guessed} == {8}


def test_every_estimated_feature_is_marked_estimated_and_measured_ones_are_not(air_ctx, actor):
    step = page.map_step(air_ctx, actor("EO-01"), "aqi", "1h", None, None, "en", None)
    assert all(f["properties"]["estimated"] is True for f in step.estimate_data["features"])
    assert not any("estimated" in f["properties"] for f in step.hex_data["features"])
    assert step.estimate_hideout["label"] == "estimated AQI"
    assert len(step.estimate_hideout["level"]) == len(step.estimate_data["features"])


def test_an_estimate_is_the_inverse_distance_mean_of_the_stations_concentrations(air_ctx,
                                                                                actor):
    eo = actor("EO-01")
    stations, layer = page.side.read_layer(air_ctx, eo, "1h", air_data.END)
    where = estimates.targets(air_ctx.regions, air_ctx.scope(eo), stations)
    guess = estimates.estimate(layer, stations, where)
    # A cell with at least two stations within reach, checked by hand.
    lat = np.array([s.lat for s in stations])
    lng = np.array([s.lng for s in stations])
    dist = distances_km(where.lat, where.lng, lat, lng)
    valid = np.isfinite(layer.values["pm25"][:, -1])
    row = int(np.argmax(((dist <= MAX_KM) & valid).sum(axis=1) >= 3))
    near = (dist[row] <= MAX_KM) & valid
    w = 1 / dist[row, near] ** 2
    expected = float((w * layer.values["pm25"][near, -1]).sum() / w.sum())
    assert guess.layer.values["pm25"][row, -1] == pytest.approx(expected)
    assert guess.stations[row, -1] >= 3
    # ... and its index is computed from the estimated concentrations (HJ 633).
    assert guess.layer.indices["pm25"][row, -1] == aqi.iaqi([expected], "pm25", "24h")[0]


def test_cells_beyond_the_stations_reach_get_no_estimate(air_ctx, actor):
    eo = actor("EO-01")
    stations, layer = page.side.read_layer(air_ctx, eo, "1h", air_data.END)
    where = estimates.targets(air_ctx.regions, air_ctx.scope(eo), stations)
    guess = estimates.estimate(layer, stations, where)
    dist = distances_km(where.lat, where.lng, [s.lat for s in stations],
                        [s.lng for s in stations])
    lonely = (dist <= MAX_KM).sum(axis=1) < 2
    assert lonely.any() and np.isnan(guess.layer.aqi[lonely]).all()
    step = page.map_step(air_ctx, eo, "aqi", "1h", None, None, "zh", None)
    assert 0 in step.estimate_hideout["level"]  # drawn empty, not as clean air


def test_the_estimated_layer_follows_the_slider_and_sends_its_polygons_once(air_ctx, actor):
    eo = actor("EO-01")
    first = page.map_step(air_ctx, eo, "pm25", "1h", 23, None, "zh", None)
    later = page.map_step(air_ctx, eo, "pm25", "1h", 10, None, "zh", first.drawn)
    assert later.estimate_data is None and later.drawn == first.drawn
    assert later.estimate_hideout["v"] != first.estimate_hideout["v"]
    assert len(json.dumps(later.estimate_hideout).encode()) < 10_000


def test_switching_the_estimates_off_hides_them_but_keeps_the_measured_cells(air_ctx, actor):
    step = page.map_step(air_ctx, actor("EO-01"), "aqi", "1h", None, None, "zh", None,
                         ["sources"])
    assert step.estimate_hideout["show"] is False and max(step.hex_hideout["v"]) > 0


def test_a_district_officer_gets_estimates_only_inside_the_district_from_its_stations(
        air_ctx, actor):
    eo2 = actor("EO-02")
    step = page.map_step(air_ctx, eo2, "aqi", "1h", None, None, "zh", None)
    guessed = [h3i.str_to_int(i) for i in ids_of(step.estimate_data)]
    huangpu = set(air_ctx.regions.cells[air_ctx.regions.cell_ids["district_id"] == "HP"])
    for cell in guessed:  # every estimated cell holds some of Huangpu
        assert huangpu & set(h3i.cell_to_children(cell, 10))
    stations = reads.visible_stations(air_ctx, eo2)
    _, layer = page.side.read_layer(air_ctx, eo2, "1h", air_data.END)
    where = estimates.targets(air_ctx.regions, air_ctx.scope(eo2), stations)
    assert {s.station_id for s in stations} == {"SH-M-HP1", "SH-M-HP2", "SH-N-LWSZFX",
                                                "SH-N-SWC"}
    assert estimates.estimate(layer, stations, where).layer.aqi.shape[0] == len(guessed)


def test_the_legend_names_estimated_cells_in_both_languages():
    for lang, word in (("zh", "估算"), ("en", "estimated")):
        legend = json.dumps(view.legend(lang), default=lambda c: c.to_plotly_json(),
                            ensure_ascii=False)
        assert word in legend and "4 km" in legend


def test_the_csv_export_marks_every_row_estimated_or_measured(air_ctx, actor):
    content = page.export(air_ctx, actor("EO-01"), "csv", "1h", None)["content"]
    rows = list(csv.DictReader(io.StringIO(content.lstrip("\ufeff"))))
    assert {r["estimated"] for r in rows} == {"true", "false"}
    assert all(r["estimated"] == "false" for r in rows if r["kind"] == "station")
    measured = {r["id"] for r in rows if r["kind"] == "cell" and r["estimated"] == "false"}
    guessed = {r["id"] for r in rows if r["estimated"] == "true"}
    assert measured and guessed and not measured & guessed
    valued = [r for r in rows if r["estimated"] == "true" and r["aqi"]]
    assert valued and all(int(r["stations"]) >= 2 for r in valued)
    empty = [r for r in rows if r["estimated"] == "true" and not r["aqi"]]
    assert empty and all(r["stations"] == "" for r in empty)


def test_the_geojson_export_marks_estimated_cells_with_a_boolean(air_ctx, actor):
    content = page.export(air_ctx, actor("EO-02"), "geojson", "24h", None)["content"]
    features = json.loads(content)["features"]
    flags = {f["properties"]["estimated"] for f in features}
    assert flags == {True, False}
    guessed = [f for f in features if f["properties"]["estimated"]]
    assert all(f["geometry"]["type"] == "Polygon" and f["properties"]["kind"] == "cell"
               for f in guessed)
    assert len(guessed) % windows.STEPS == 0


def test_an_estimate_never_reads_a_station_outside_the_region(air_ctx, actor):
    # EO-02's estimates are those of Huangpu's stations alone; with the city's stations
    # (what EO-01 sees) the same cells would read otherwise.
    eo1, eo2 = actor("EO-01"), actor("EO-02")
    shown = page.map_step(air_ctx, eo2, "no2", "1h", None, None, "zh", None)
    where = estimates.targets(air_ctx.regions, air_ctx.scope(eo2),
                              reads.visible_stations(air_ctx, eo2))
    own, layer = page.side.read_layer(air_ctx, eo2, "1h", air_data.END)
    every, city = page.side.read_layer(air_ctx, eo1, "1h", air_data.END)
    mine = estimates.estimate(windows.at_step(layer, page.LAST), own, where)
    theirs = estimates.estimate(windows.at_step(city, page.LAST), every, where)
    ours = np.nan_to_num(mine.layer.indices["no2"][:, 0], nan=0).round().astype(int)
    assert shown.estimate_hideout["v"] == ours.tolist()
    assert not np.allclose(np.nan_to_num(theirs.layer.values["no2"][:, 0]),
                           np.nan_to_num(mine.layer.values["no2"][:, 0]))
