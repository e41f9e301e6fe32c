"""The demo city ships complete, nested and consistent with its registers."""

from __future__ import annotations

import tomllib

import geopandas as gpd
import pytest
import shapely

from onegrid.geo.regions import LEVELS, PARENT_LEVEL, load_regions
from onegrid.geo.registry import DEMO_CITY_DIR, load_registry

SLACK_DEG = 1e-5  # about 1 m: coordinates are rounded to 1e-6 degrees


@pytest.fixture(scope="module")
def regions(tmp_path_factory):
    return load_regions(cache_dir=tmp_path_factory.mktemp("cells"))


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def city_area(regions):
    return shapely.union_all(regions.districts.geometry.values).buffer(SLACK_DEG)


def test_demo_city_loads_with_the_registry(registry):
    assert registry.timezone == "Asia/Shanghai"
    assert len(registry.categories) >= 30
    assert {"noise_db", "water_level_m", "manhole_tilt_deg", "smoke", "traffic_flow"} <= set(
        registry.metrics)


def test_city_toml_names_a_source_and_a_centre():
    meta = tomllib.loads((DEMO_CITY_DIR / "city.toml").read_text(encoding="utf-8"))
    assert meta["source"] and len(meta["center"]) == 2 and meta["id"]


def test_demo_city_has_at_least_500_grids(regions):
    assert len(regions.grids) >= 500
    assert len(regions.districts) == 7


@pytest.mark.parametrize("level", LEVELS[1:])
def test_every_region_lies_within_its_parent(regions, level):
    children, parents = regions.levels[level], regions.levels[PARENT_LEVEL[level]]
    assert children["parent_id"].isin(parents.index).all()
    parent_geoms = shapely.buffer(parents.geometry.loc[children["parent_id"]].values, SLACK_DEG)
    inside = shapely.within(children.geometry.values, parent_geoms)
    assert inside.all(), list(children.index[~inside][:5])


def test_grids_tile_their_community_without_overlap(regions):
    grid_area = regions.grids.to_crs(32651).area.groupby(regions.grids["parent_id"]).sum()
    comm_area = regions.communities.to_crs(32651).area
    assert ((grid_area / comm_area.loc[grid_area.index] - 1).abs() < 1e-3).all()


def test_ids_read_as_their_place_in_the_hierarchy(regions):
    for level in LEVELS[1:]:
        frame = regions.levels[level]
        assert all(i.startswith(p + "-") for i, p in zip(frame.index, frame["parent_id"],
                                                         strict=True))


def test_every_grid_has_a_worker_and_every_community_a_chief(regions):
    workers = gpd.pd.read_csv(DEMO_CITY_DIR / "grid_workers.csv", dtype=str,
                              keep_default_na=False)
    assert set(regions.grids.index) <= set(workers.loc[workers.role == "worker", "grid_id"])
    chiefs = workers[workers.role == "chief"]
    assert sorted(chiefs.community_id) == sorted(regions.communities.index)
    assert (chiefs.grid_id == "").all() and workers.worker_id.is_unique


def test_every_district_has_one_department_of_each_kind(registry, regions):
    kinds = {d.kind for d in registry.departments.values()}
    for district in regions.districts.index:
        here = [d.kind for d in registry.departments.values() if d.district_id == district]
        assert sorted(here) == sorted(kinds)
    assert {"cg", "sthj", "sw", "jt", "zj", "scjg", "yj", "xf", "zhzx"} <= kinds


def test_remits_cover_every_category_in_every_district(registry, regions):
    for district in regions.districts.index:
        covered = {c for d, c, r in registry.remits if r == district}
        assert set(registry.categories) <= covered
    assert all(c != "*" or registry.departments[d].kind == "zhzx" for d, c, _ in registry.remits)


def test_registered_places_lie_inside_the_city(registry, city_area):
    places = [*registry.sensors.values(), *registry.stations.values(),
              *registry.hotspots.values()]
    outside = [p for p in places if not city_area.contains(shapely.Point(p.lng, p.lat))]
    assert outside == []


def test_sensors_cover_five_metrics_and_point_at_real_departments(registry):
    assert len(registry.sensors) >= 300
    assert len({s.metric for s in registry.sensors.values()}) >= 5
    assert all(s.dept_id in registry.departments for s in registry.sensors.values())


def test_there_are_enough_stations_and_hotspots(registry):
    assert len(registry.stations) >= 20
    assert sum(s.level == "national" for s in registry.stations.values()) >= 5
    assert len(registry.hotspots) >= 15


def test_data_folder_stays_small():
    assert sum(f.stat().st_size for f in DEMO_CITY_DIR.iterdir()) < 4_000_000


def test_the_generator_is_deterministic(tmp_path):
    from onegrid.geo.demo_city import build_demo_city

    for name in ("seats.csv", "categories.csv"):
        (tmp_path / name).write_bytes((DEMO_CITY_DIR / name).read_bytes())
    build_demo_city(tmp_path)
    for name in ("grids.geojson", "districts.geojson", "sensors.csv", "grid_workers.csv"):
        assert (tmp_path / name).read_bytes() == (DEMO_CITY_DIR / name).read_bytes(), name
