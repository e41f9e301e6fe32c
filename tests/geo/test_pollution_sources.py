"""The pollution-source register (污染源): the demo one is complete, bad rows fail at their line."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from onegrid.geo.registry import (
    DEMO_CITY_DIR,
    SOURCE_CATEGORIES,
    SOURCES_FILE,
    RegistryError,
    load_registry,
    load_sources,
)
from tests.streams.conftest_city import make_tiny_city

HEADER = ("source_id,name_zh,name_en,category,lat,lng,district_id,permit_pm25_t,permit_pm10_t,"
          "permit_so2_t,permit_no2_t\n")
GOOD_ROW = "PS-1,桃浦化工厂,Taopu chemical works,enterprise,31.283,121.376,PT,1.5,3,6,18\n"


@pytest.fixture(scope="module")
def demo():
    return load_registry()


def write(folder: Path, text: str) -> Path:
    path = folder / SOURCES_FILE
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_register_has_dozens_of_sources_of_several_kinds_in_every_district(demo):
    sources = demo.sources.values()
    assert len(demo.sources) >= 30
    assert len({s.category for s in sources}) >= 5
    assert {s.district_id for s in sources} == {"HP", "XH", "CN", "JA", "PT", "HK", "YP"}
    assert all(s.category in SOURCE_CATEGORIES for s in sources)


def test_demo_permits_are_tonnes_a_year_by_pollutant_and_building_sites_hold_none(demo):
    chemical = demo.sources["PS-PT-01"]
    assert chemical.permits == {"pm25": 1.5, "pm10": 3.0, "so2": 6.0, "no2": 18.0, "vocs": 25.0}
    sites = [s for s in demo.sources.values() if s.category == "construction"]
    assert sites and all(s.permits == {} for s in sites)
    enterprises = [s for s in demo.sources.values() if s.category == "enterprise"]
    assert all(s.permits.get("no2", 0) > 0 for s in enterprises)


def test_every_demo_source_lies_inside_the_district_it_names():
    districts = gpd.read_file(DEMO_CITY_DIR / "districts.geojson").set_index("id").geometry
    wrong = [s.source_id for s in load_registry().sources.values()
             if not districts[s.district_id].contains(shapely.Point(s.lng, s.lat))]
    assert wrong == []


def test_every_demo_source_is_labelled_as_demo_data(demo):
    assert all("演示" in s.name_zh and "(demo)" in s.name_en for s in demo.sources.values())
    readme = (DEMO_CITY_DIR.parent / "README.md").read_text(encoding="utf-8")
    assert SOURCES_FILE in readme and "排污许可" in readme


def test_a_city_without_a_register_has_no_sources(tmp_path):
    assert load_registry(make_tiny_city(tmp_path)).sources == {}


def test_a_register_in_a_city_folder_is_read_with_the_rest(tmp_path):
    folder = make_tiny_city(tmp_path)
    write(folder, HEADER + GOOD_ROW + "PS-2,工地,Site,construction,31.25,121.45,,,,,\n")
    sources = load_registry(folder).sources
    assert sources["PS-1"].permits["so2"] == 6.0 and sources["PS-1"].lat == 31.283
    assert sources["PS-2"].permits == {} and sources["PS-2"].district_id == ""


# (name, text after the header, line, part of the reason)
BAD = [
    ("not a number", GOOD_ROW.replace("31.283", "north"), 2, "column 'lat' is not a number"),
    ("lat out of range", GOOD_ROW.replace("31.283", "131.283"), 2, "lat/lng out of range"),
    ("unknown category", GOOD_ROW + GOOD_ROW.replace("PS-1", "PS-2").replace(
        "enterprise", "factory"), 3, "unknown category 'factory'"),
    ("negative permit", GOOD_ROW.replace(",6,", ",-6,"), 2, "'permit_so2_t' must be >= 0"),
    ("permit not a number", GOOD_ROW.replace(",18\n", ",lots\n"), 2,
     "column 'permit_no2_t' is not a number"),
    ("duplicate id", GOOD_ROW + GOOD_ROW, 3, "duplicate id 'PS-1' (first on line 2)"),
    ("unknown district", GOOD_ROW.replace(",PT,", ",ZZ,"), 2, "unknown district_id 'ZZ'"),
    ("empty id", GOOD_ROW.replace("PS-1", ""), 2, "empty source_id"),
]


@pytest.mark.parametrize(("rows", "line", "reason"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_a_bad_row_fails_naming_file_line_and_reason(tmp_path, rows, line, reason):
    path = write(tmp_path, HEADER + rows)
    with pytest.raises(RegistryError) as caught:
        load_sources(tmp_path, {"PT", "JA"})
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert reason in str(caught.value)


def test_a_register_missing_a_column_fails_at_its_header(tmp_path):
    path = write(tmp_path, HEADER.replace("category,", "") + GOOD_ROW)
    with pytest.raises(RegistryError, match=rf"^{path}:1: missing column\(s\) category"):
        load_sources(tmp_path)
