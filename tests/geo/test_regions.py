"""Regions: every res-10 cell of the city maps to exactly one grid and its parents."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import numpy as np
import pytest
from h3.api import basic_int as h3i

from onegrid.geo.boundaries import boundaries_geojson
from onegrid.geo.regions import LEVEL_FILES, RegionsError, cells_to_regions, load_regions
from onegrid.geo.registry import DEMO_CITY_DIR


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    return load_regions(cache_dir=tmp_path_factory.mktemp("cells"))


@pytest.fixture
def city_copy(tmp_path):
    """A writable copy of the demo city's boundary files."""
    for name in LEVEL_FILES.values():
        shutil.copy(DEMO_CITY_DIR / name, tmp_path / name)
    return tmp_path


def _edit(folder, level, change):
    path = folder / LEVEL_FILES[level]
    doc = json.loads(path.read_text(encoding="utf-8"))
    change(doc["features"])
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_every_cell_belongs_to_exactly_one_grid(regions):
    assert len(regions.cells) > 10_000
    assert np.all(np.diff(regions.cells.astype(np.int64)) > 0)  # sorted and unique
    assert set(regions.cell_ids["grid_id"]) == set(regions.grids.index)


def test_cell_table_parents_follow_the_hierarchy(regions):
    table = regions.cell_table()
    assert (table["community_id"] == table["grid_id"].map(regions.grids["parent_id"])).all()
    assert (table["district_id"] == table["street_id"].map(regions.streets["parent_id"])).all()


def test_cells_to_regions_agrees_with_point_in_polygon(regions):
    rng = np.random.default_rng(1)
    cells = rng.choice(regions.cells, 400, replace=False)
    centres = [h3i.cell_to_latlng(int(c)) for c in cells]
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy([c[1] for c in centres],
                                                          [c[0] for c in centres]),
                              crs="EPSG:4326")
    joined = gpd.sjoin(points, regions.grids.reset_index(), predicate="within")
    expected = joined.groupby(level=0)["id"].agg(set)
    got = cells_to_regions(regions, cells)["grid_id"]
    assert all(got[i] in expected.get(i, {got[i]}) for i in range(len(cells)))
    assert len(expected) >= 395  # centres exactly on an edge may match no polygon


def test_cells_to_regions_gives_all_four_levels(regions):
    out = cells_to_regions(regions, regions.cells[:3])
    assert out["grid_id"][0].startswith(out["community_id"][0])
    assert out["community_id"][0].startswith(out["street_id"][0])
    assert out["street_id"][0].startswith(out["district_id"][0])


def test_a_point_outside_the_city_maps_to_none(regions):
    pudong = h3i.latlng_to_cell(31.2397, 121.4998 + 0.02, 10)  # Lujiazui, across the river
    beijing = h3i.latlng_to_cell(39.9042, 116.4074, 10)
    out = cells_to_regions(regions, np.array([pudong, beijing, 0], dtype=np.uint64))
    for col in ("grid_id", "community_id", "street_id", "district_id"):
        assert list(out[col]) == [None, None, None]


def test_a_second_load_reads_the_cached_cell_table(tmp_path):
    first = load_regions(cache_dir=tmp_path)
    assert len(list(tmp_path.glob("cells-*.parquet"))) == 1
    second = load_regions(cache_dir=tmp_path)
    assert np.array_equal(first.cells, second.cells)
    assert list(first.cell_ids["grid_id"]) == list(second.cell_ids["grid_id"])


def test_changed_boundaries_do_not_reuse_an_old_cache(city_copy, tmp_path):
    cache = tmp_path / "cache"
    before = load_regions(city_copy, cache_dir=cache)
    _edit(city_copy, "grid", lambda feats: feats.pop())
    after = load_regions(city_copy, cache_dir=cache)
    assert len(after.cells) < len(before.cells)


def test_missing_file_is_named(city_copy):
    (city_copy / "streets.geojson").unlink()
    with pytest.raises(RegionsError, match=r"streets\.geojson: file not found"):
        load_regions(city_copy)


def test_bad_geojson_is_named(city_copy):
    (city_copy / "grids.geojson").write_text("{not json", encoding="utf-8")
    with pytest.raises(RegionsError, match=r"grids\.geojson: not valid GeoJSON"):
        load_regions(city_copy)


def test_feature_without_id_is_named_by_index(city_copy):
    _edit(city_copy, "community", lambda feats: feats[3]["properties"].pop("id"))
    with pytest.raises(RegionsError, match=r"communities\.geojson: feature 3: no 'id'"):
        load_regions(city_copy)


def test_unknown_parent_is_named(city_copy):
    def orphan(feats):
        feats[0]["properties"]["parent_id"] = "XX-99"

    _edit(city_copy, "street", orphan)
    with pytest.raises(RegionsError, match=r"streets\.geojson: feature 0 .*'XX-99'"):
        load_regions(city_copy)


def test_duplicate_id_is_named(city_copy):
    def duplicate(feats):
        feats[5]["properties"]["id"] = feats[4]["properties"]["id"]

    _edit(city_copy, "grid", duplicate)
    with pytest.raises(RegionsError, match=r"grids\.geojson: feature 5: duplicate id"):
        load_regions(city_copy)


def test_non_polygon_geometry_is_named(city_copy):
    def point(feats):
        feats[1]["geometry"] = {"type": "Point", "coordinates": [121.45, 31.23]}

    _edit(city_copy, "district", point)
    with pytest.raises(RegionsError, match=r"districts\.geojson: feature 1 .*Point"):
        load_regions(city_copy)


def test_region_errors_are_value_errors():
    assert issubclass(RegionsError, ValueError)


@pytest.mark.parametrize("level", ["district", "street", "community", "grid"])
def test_boundaries_for_the_map_are_small_and_complete(regions, level):
    doc = boundaries_geojson(regions, level)
    assert len(doc["features"]) == len(regions.levels[level])
    assert len(json.dumps(doc)) < 600_000
    assert set(doc["features"][0]["properties"]) == {"id", "name_zh", "name_en", "parent_id"}


def test_unknown_boundary_level_is_refused(regions):
    with pytest.raises(ValueError, match="unknown level"):
        boundaries_geojson(regions, "province")


def test_map_boundaries_drop_sliver_holes_but_keep_real_ones():
    from shapely.geometry import Polygon

    from onegrid.geo.boundaries import _without_slivers

    d = 0.01  # about 1 km: a real hole; 0.0005 deg (~50 m) across is a sliver
    outer = [(121.0, 31.0), (121.1, 31.0), (121.1, 31.1), (121.0, 31.1)]
    real = [(121.02, 31.02), (121.02 + d, 31.02), (121.02 + d, 31.02 + d), (121.02, 31.02 + d)]
    sliver = [(121.06, 31.06), (121.0605, 31.06), (121.0605, 31.0605), (121.06, 31.0605)]
    cleaned = _without_slivers(Polygon(outer, [real, sliver]))
    assert len(cleaned.interiors) == 1
    assert cleaned.interiors[0].bounds[0] == 121.02
