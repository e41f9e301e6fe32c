"""The hex map component: resolution by zoom, polygons once per view, values per tick."""

from __future__ import annotations

import numpy as np
import pytest
from h3.api import basic_int as h3i

from onegrid.dashboard.components import hexmap


@pytest.mark.parametrize(("zoom", "res"), [(10.5, 7), (11.75, 7), (12.0, 8), (13.0, 9),
                                           (14.75, 9), (15.0, 10), (18.0, 10)])
def test_zooming_in_shows_finer_cells(zoom, res):
    assert hexmap.zoom_to_res(zoom) == res


@pytest.mark.parametrize(("res", "column"), [(7, "cell_r7"), (8, "cell_r8"), (9, "cell_r9"),
                                             (10, "cell")])
def test_each_resolution_reads_its_stored_column(res, column):
    assert hexmap.cell_column(res) == column


def test_a_resolution_without_a_stored_column_is_refused():
    with pytest.raises(ValueError, match="7-10"):
        hexmap.cell_column(6)


def test_cell_polygon_is_a_closed_ring_in_lng_lat_order():
    cell = h3i.latlng_to_cell(31.23, 121.47, 10)
    ring = hexmap.cell_to_feature(cell)["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    lat, lng = h3i.cell_to_latlng(cell)
    assert abs(ring[0][0] - lng) < 0.01 and abs(ring[0][1] - lat) < 0.01


def test_each_feature_carries_its_id_and_its_place_in_the_value_list():
    cells = [h3i.latlng_to_cell(31.23, 121.47 + i / 100, 9) for i in range(3)]
    fc = hexmap.cells_to_geojson(cells)
    assert [f["properties"] for f in fc["features"]] == [
        {"i": i, "id": h3i.int_to_str(c)} for i, c in enumerate(cells)]


def test_digest_changes_with_the_cells_drawn_and_the_resolution():
    a = hexmap.cells_digest(8, [1, 2, 3])
    assert a == hexmap.cells_digest(8, [1, 2, 3])
    assert a != hexmap.cells_digest(8, [1, 2, 4]) and a != hexmap.cells_digest(9, [1, 2, 3])


def test_values_line_up_with_the_drawn_cells_and_cells_without_data_read_zero():
    cells = np.array([10, 20, 30, 40], dtype=np.uint64)
    values = hexmap.values_for(cells, np.array([20, 40, 50], dtype=np.uint64),
                               np.array([2.0, 4.123, 5.0]))
    assert values == [0.0, 2.0, 0.0, 4.12]  # 50 is not drawn, so it has no place


def test_a_tick_sends_numbers_the_scale_and_its_top():
    hideout = hexmap.hex_hideout([0.0, 3.0, 12.0], "events", "事件数")
    assert hideout["v"] == [0.0, 3.0, 12.0] and hideout["max"] == 12.0
    assert hideout["scale"] == hexmap.COLORSCALES["events"] and hideout["label"] == "事件数"
    assert hexmap.hex_hideout([80.0], "aqi", "AQI")["max"] == 500  # the standard's scale


def test_markers_say_what_a_click_picked():
    fc = hexmap.points_to_geojson([{"lat": 31.2, "lng": 121.4, "id": "A-1", "text": "烟感"}],
                                  "alerts")
    (feature,) = fc["features"]
    assert feature["geometry"]["coordinates"] == [121.4, 31.2]
    assert hexmap.click_to_pick(feature) == {"kind": "alerts", "id": "A-1"}
    cell = hexmap.cells_to_geojson([h3i.latlng_to_cell(31.23, 121.47, 10)])["features"][0]
    assert hexmap.click_to_pick(cell)["kind"] == "cell"
    assert hexmap.click_to_pick(None) is None


def test_the_map_draws_no_tiles_unless_given_a_tile_url():
    kw = {"center": (31.2, 121.4), "zoom": 11, "hex_id": "h", "marker_ids": {"alerts": "a"},
          "boundary_ids": {lvl: lvl for lvl in hexmap.BOUNDARY_LEVELS},
          "boundaries": {}, "visible_levels": ["district"]}
    plain = hexmap.map_component("m", **kw)
    names = [type(c).__name__ for c in plain.children]
    layers = [type(g).__name__ for pane in plain.children
              for g in (pane.children if isinstance(pane.children, list) else [pane.children])]
    assert "TileLayer" not in names and layers.count("GeoJSON") == 6
    tiles = hexmap.map_component("m", tile_url="https://tiles.example/{z}/{x}/{y}.png", **kw)
    assert type(tiles.children[0]).__name__ == "TileLayer"
    assert tiles.children[0].url == "https://tiles.example/{z}/{x}/{y}.png"


def test_boundary_levels_are_shown_and_hidden_by_their_hideout():
    assert hexmap.boundary_hideout("grid", False)["visible"] is False
    shown = hexmap.boundary_hideout("district", True)
    assert shown["visible"] is True and shown["weight"] > hexmap.BOUNDARY_STYLES["grid"]["weight"]


def test_the_view_follows_leaflets_zoom_and_bounds():
    view = hexmap.view_of(15.5, [[31.20, 121.40], [31.25, 121.45]])
    assert view == {"res": 10, "zoom": 15.5, "bbox": [121.40, 31.20, 121.45, 31.25]}
    assert hexmap.view_of(11, None)["bbox"] is None


def test_the_city_fits_the_screen_at_a_snapped_zoom(demo_city):
    zoom = hexmap.bounds_to_zoom(demo_city.regions.districts.total_bounds, 900, 680)
    assert 10.5 <= zoom <= 12.5 and zoom % hexmap.ZOOM_SNAP == 0


def test_the_view_box_grows_by_a_cell_so_edge_cells_are_counted_whole():
    west, south, east, north = hexmap.padded_bbox([121.40, 31.20, 121.45, 31.25], 7)
    assert west < 121.40 and south < 31.20 and east > 121.45 and north > 31.25


def test_only_the_city_cells_in_view_are_drawn(demo_city):
    from onegrid.geo.cells import cells_to_latlng

    cells = demo_city.regions.cells
    lat, lng = cells_to_latlng(cells)
    everything = hexmap.city_cells_in_view(cells, lat, lng, 7, None)
    street = hexmap.city_cells_in_view(cells, lat, lng, 10, [121.47, 31.22, 121.48, 31.23])
    assert 50 < len(everything) < 400
    assert 0 < len(street) < 1000
    assert {h3i.get_resolution(int(c)) for c in street} == {10}
