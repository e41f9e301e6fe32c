"""The overview's views with plain values: cells to polygons, zoom to resolution, figures."""

from __future__ import annotations

from datetime import UTC, datetime

import plotly.graph_objects as go
import pytest
from h3.api import basic_int as h3i

from onegrid.dashboard import views

# Three res-10 cells around People's Square, Shanghai.
CELLS = sorted({h3i.latlng_to_cell(31.2304 + d, 121.4737 + d, 10) for d in (0.0, 0.002, 0.004)})


@pytest.mark.parametrize(("zoom", "res"), [
    (9.0, 7), (10.6, 7), (11.0, 8), (11.9, 8), (12.0, 9), (13.4, 9), (13.5, 10), (18.0, 10)])
def test_zooming_in_shows_finer_cells(zoom, res):
    assert views.zoom_to_res(zoom) == res


@pytest.mark.parametrize(("res", "column"), [
    (7, "cell_r7"), (8, "cell_r8"), (9, "cell_r9"), (10, "cell")])
def test_each_resolution_reads_its_stored_column(res, column):
    assert views.cell_column(res) == column


def test_a_resolution_without_a_stored_column_is_refused():
    with pytest.raises(ValueError, match="resolution 6"):
        views.cell_column(6)


def test_geojson_feature_ids_match_the_trace_locations():
    update = views.counts_trace_update(CELLS, [3, 1, 2])
    feature_ids = [f["id"] for f in update["geojson"]["features"]]
    assert feature_ids == update["locations"] == [h3i.int_to_str(c) for c in CELLS]
    assert update["z"] == [3, 1, 2]
    assert (update["zmin"], update["zmax"]) == (0, 3)


def test_cell_polygon_is_a_closed_ring_in_lng_lat_order():
    ring = views.cell_to_feature(CELLS[0])["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    assert len(ring) == 7  # a hexagon, closed
    lng, lat = ring[0]
    assert 121.4 < lng < 121.6
    assert 31.2 < lat < 31.3


def test_numbers_only_update_sends_no_polygons():
    update = views.counts_trace_update(CELLS, [1, 1, 1], with_geometry=False)
    assert "geojson" not in update
    assert update["locations"]


def test_digest_changes_with_the_cells_drawn_and_the_resolution():
    assert views.cells_digest(10, CELLS) == views.cells_digest(10, list(CELLS))
    assert views.cells_digest(10, CELLS) != views.cells_digest(10, CELLS[:2])
    assert views.cells_digest(10, CELLS) != views.cells_digest(9, CELLS)


def test_patch_touches_only_the_count_trace():
    patch = views.trace_update_to_patch(views.counts_trace_update(CELLS, [1, 2, 3]), "en")
    operations = patch.to_plotly_json()["operations"]
    assert operations
    assert all(op["location"][:2] == ["data", 0] for op in operations)
    locations = {tuple(op["location"]) for op in operations}
    assert ("data", 0, "z") in locations
    assert ("data", 0, "colorbar", "title", "text") in locations


def test_empty_store_gives_an_empty_but_valid_figure():
    fig = views.counts_figure(center=(31.23, 121.47), zoom=10.5, lang="zh")
    fig.update_traces(views.counts_trace_update([], []))
    checked = go.Figure(fig.to_dict())  # validates every property
    trace = checked.data[0]
    assert trace.type == "choroplethmap"
    assert list(trace.locations) == [] and list(trace.z) == []
    assert trace.geojson == {"type": "FeatureCollection", "features": []}
    assert trace.zmax == 1


def test_figure_draws_no_tiles_unless_given_a_tile_url():
    boundary = ({"type": "FeatureCollection", "features": []}, {"color": "#123456", "width": 2})
    fig = views.counts_figure(center=(31.23, 121.47), zoom=10.5, lang="zh", boundaries=[boundary])
    assert fig.layout.map.style == "white-bg"
    assert [layer.type for layer in fig.layout.map.layers] == ["line"]
    assert fig.layout.uirevision == views.UIREVISION

    tiled = views.counts_figure(center=(31.23, 121.47), zoom=10.5, lang="zh",
                                boundaries=[boundary], tile_url="https://t.example/{z}/{x}/{y}.png")
    raster = tiled.layout.map.layers[0]
    assert raster.sourcetype == "raster" and raster.below == "traces"
    assert list(raster.source) == ["https://t.example/{z}/{x}/{y}.png"]


def test_figure_featureidkey_points_at_the_cell_id():
    fig = views.counts_figure(center=(31.23, 121.47), zoom=10.5, lang="en")
    assert fig.data[0].featureidkey == "id"
    assert fig.data[0].colorbar.title.text == "Events"


def test_relayout_without_a_zoom_keeps_the_view():
    assert views.relayout_to_view(None) is None
    assert views.relayout_to_view({"autosize": True}) is None


def test_relayout_gives_the_resolution_and_visible_box():
    corners = [[121.40, 31.26], [121.50, 31.26], [121.50, 31.20], [121.40, 31.20]]
    view = views.relayout_to_view({"map.zoom": 13.6, "map._derived": {"coordinates": corners}})
    assert view == {"res": 10, "bbox": [121.40, 31.20, 121.50, 31.26]}
    assert views.relayout_to_view({"map.zoom": 10}) == {"res": 7, "bbox": None}


def test_view_box_grows_by_one_cell_so_edge_cells_are_counted_whole():
    west, south, east, north = views.padded_bbox([121.40, 31.20, 121.50, 31.26], 7)
    assert south == pytest.approx(31.20 - 2 * 1.406 / 111.32)
    assert west < 121.40 - (31.20 - south)  # a degree of longitude is shorter
    assert north > 31.26 and east > 121.50


def test_city_view_of_the_demo_bounds_starts_at_res_7():
    zoom = views.bounds_to_zoom([121.325, 31.11, 121.569, 31.346])
    assert 10 < zoom < 11.5
    assert views.zoom_to_res(zoom) == 7


def test_status_strip_shows_numbers_with_separators():
    status = views.Status(events=123456, dead_letters=2, last_minute=40,
                          as_of=datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC))
    cards = views.status_strip(status, "en")
    texts = [[c.children for c in card.children] for card in cards]
    assert texts == [["Events stored", "123,456"], ["Dead letters", "2"],
                     ["Stored in the last minute", "40"], ["Updated", "12:00:05 UTC"]]
    assert views.status_strip(status, "zh")[0].children[0].children == "已入库事件"


def test_window_choices_are_labelled_in_the_language():
    assert [o["value"] for o in views.window_options("zh")] == [15, 60, 1440]
    assert [o["label"] for o in views.window_options("en")] == [
        "Last 15 min", "Last 1 h", "Last 24 h"]
