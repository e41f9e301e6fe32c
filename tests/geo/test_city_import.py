"""City import: a city's own GeoPackage or Shapefile becomes a loadable OneGrid city."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from onegrid.geo.city_import import CityImportError, LevelFields, import_city
from onegrid.geo.regions import load_regions

# A small city of 2 districts x 2 streets x 2 communities x 2 grids, in local codes.
FIELDS = {
    "district": LevelFields("QU_DM", "QU_MC"),
    "street": LevelFields("JD_DM", "JD_MC"),
    "community": LevelFields("SQ_DM"),
    "grid": LevelFields("WG_DM"),
}


def _small_city():
    import geopandas as gpd

    rows, size = [], 0.004  # degrees, about 400 m
    for q in range(2):
        for j in range(2):
            for s in range(2):
                for w in range(2):
                    x = 121.40 + (q * 8 + j * 4 + s * 2 + w) * size
                    rows.append({"QU_DM": f"Q{q}", "QU_MC": f"区{q}", "JD_DM": f"Q{q}J{j}",
                                 "JD_MC": f"街道{j}", "SQ_DM": f"Q{q}J{j}S{s}",
                                 "WG_DM": f"Q{q}J{j}S{s}W{w}",
                                 "geometry": shapely.box(x, 31.20, x + size, 31.20 + 2 * size)})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


@pytest.mark.parametrize("suffix", [".gpkg", ".shp"])
def test_a_grid_layer_round_trips_through_import(tmp_path, suffix):
    src = tmp_path / f"grids{suffix}"
    _small_city().to_crs("EPSG:32651").to_file(src)  # a projected source gets reprojected
    messages = []
    out = import_city(src, tmp_path / "city", fields=FIELDS, echo=messages.append)
    regions = load_regions(out, cache_dir=tmp_path / "cache")
    assert [len(regions.levels[lv]) for lv in ("district", "street", "community", "grid")] == [
        2, 4, 8, 16]
    assert regions.streets.loc["Q1J0", "name_zh"] == "街道0"
    assert regions.grids.loc["Q0J1S0W1", "parent_id"] == "Q0J1S0"
    assert set(regions.cell_ids["grid_id"]) == set(regions.grids.index)
    assert "16 grids" in messages[0]


def test_communities_without_grids_are_cut_into_grids(tmp_path):
    communities = _small_city().dissolve(by="SQ_DM", aggfunc="first").reset_index()
    src = tmp_path / "communities.gpkg"
    communities.drop(columns=["WG_DM"]).to_file(src, layer="shequ")
    fields = {k: v for k, v in FIELDS.items() if k != "grid"}
    out = import_city(src, tmp_path / "city", layer="shequ", fields=fields,
                      grid_area_m2=80_000)
    regions = load_regions(out, cache_dir=tmp_path / "cache")
    assert len(regions.grids) > len(regions.communities) == 8
    comm_area = regions.communities.to_crs(32651).area
    grid_area = regions.grids.to_crs(32651).area.groupby(regions.grids["parent_id"]).sum()
    assert np.allclose(grid_area.loc[comm_area.index], comm_area, rtol=1e-3)


def test_ids_unique_only_within_their_parent_can_be_qualified(tmp_path):
    city = _small_city()
    city["SQ_DM"] = city["SQ_DM"].str[-2:]  # "S0", "S1" repeat in every street
    city["WG_DM"] = city["WG_DM"].str[-2:]
    src = tmp_path / "grids.gpkg"
    city.to_file(src)
    with pytest.raises(CityImportError, match="qualify_ids"):
        import_city(src, tmp_path / "bad", fields=FIELDS)
    out = import_city(src, tmp_path / "city", fields=FIELDS, qualify_ids=True)
    regions = load_regions(out, cache_dir=tmp_path / "cache")
    assert "Q1-Q1J0-S1-W0" in regions.grids.index


def test_a_missing_id_column_is_named(tmp_path):
    src = tmp_path / "grids.gpkg"
    _small_city().drop(columns=["JD_DM"]).to_file(src)
    with pytest.raises(CityImportError, match="JD_DM"):
        import_city(src, tmp_path / "city", fields=FIELDS)


def test_a_missing_source_file_is_named(tmp_path):
    with pytest.raises(CityImportError, match=r"nothing\.gpkg: file not found"):
        import_city(tmp_path / "nothing.gpkg", tmp_path / "city", fields=FIELDS)
