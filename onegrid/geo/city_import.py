"""City import: a city's own boundaries, from any GIS file, into OneGrid's format.

A city usually has its grids (网格) or communities (社区) as one layer in a
GeoPackage, Shapefile or GeoJSON, each polygon carrying the ids (and names) of
the regions above it in attribute columns. `import_city` reads that layer with
geopandas, reprojects it to EPSG:4326, derives every upper level as the exact
union of its children, optionally cuts communities into grids when the city has
none, and writes the four level files that `regions.load_regions` reads. The
registers (departments, sensors, ...) are CSV files the city writes itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from onegrid.geo.regions import LEVEL_FILES, LEVELS, PARENT_LEVEL, load_regions, write_level
from onegrid.geo.subdivision import subdivide

PRECISION: Final = 1e-6  # degrees kept in the files; shared edges snap to the same points


class CityImportError(ValueError):
    """The source file cannot be imported; the message says which file and what to fix."""


@dataclass(frozen=True)
class LevelFields:
    """The source columns holding one level's id and, optionally, its names."""

    id: str
    name_zh: str | None = None
    name_en: str | None = None


DEFAULT_FIELDS: Final = {
    level: LevelFields(f"{level}_id", f"{level}_name_zh", f"{level}_name_en") for level in LEVELS
}


def import_city(
    src: Path,
    out_dir: Path,
    *,
    layer: str | None = None,
    fields: Mapping[str, LevelFields] | None = None,
    src_crs: str | None = None,
    qualify_ids: bool = False,
    grid_area_m2: float = 360_000.0,
    echo: Callable[[str], None] | None = None,
) -> Path:
    """Import the boundaries in `src` into `out_dir`; return `out_dir`.

    `src` is any file geopandas reads (GeoPackage, Shapefile, GeoJSON, ...);
    `layer` picks a layer of a multi-layer file. Each feature is a grid, or a
    community when `fields` has no "grid" entry (or the grid id column is
    absent): grids are then cut from each community by seeded Voronoi
    subdivision, about `grid_area_m2` each. `fields` maps level -> LevelFields
    (default: columns district_id, street_id, community_id, grid_id and
    <level>_name_zh / <level>_name_en when present). With `qualify_ids`, ids
    that are unique only within their parent ("03") are prefixed with the
    parent id ("HP-01-03"). `src_crs` is used only when the file has no CRS.
    Writes districts/streets/communities/grids.geojson, builds the cell table
    and reports counts through `echo`. Raises CityImportError.
    """
    fields = dict(DEFAULT_FIELDS if fields is None else fields)
    frame = _read(Path(src), layer, src_crs)
    has_grids = "grid" in fields and fields["grid"].id in frame.columns
    levels_in = LEVELS if has_grids else LEVELS[:-1]
    table = _attribute_table(Path(src), frame, fields, levels_in, qualify_ids)
    if not has_grids:
        table = _cut_grids(table, grid_area_m2)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for level, level_frame in _levels(table).items():
        write_level(out_dir / LEVEL_FILES[level], level_frame)
    regions = load_regions(out_dir)
    if echo:
        counts = ", ".join(f"{len(regions.levels[lv])} {Path(LEVEL_FILES[lv]).stem}"
                           for lv in LEVELS)
        echo(f"imported {counts}; {len(regions.cells)} res-10 cells -> {out_dir}")
    return out_dir


def _read(src: Path, layer: str | None, src_crs: str | None) -> gpd.GeoDataFrame:
    if not src.exists():
        raise CityImportError(f"{src}: file not found")
    try:
        frame = gpd.read_file(src, layer=layer)
    except Exception as exc:  # pyogrio raises its own error types for every format problem
        raise CityImportError(f"{src}: cannot read: {exc}") from None
    if frame.crs is None:
        if src_crs is None:
            raise CityImportError(f"{src}: no coordinate reference system; pass src_crs")
        frame = frame.set_crs(src_crs)
    frame = frame.to_crs("EPSG:4326")
    polygonal = frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])
    if not polygonal.all():
        i = int(np.flatnonzero(~polygonal.to_numpy())[0])
        raise CityImportError(f"{src}: feature {i} is not a polygon")
    frame["geometry"] = [_polygonal(g) for g in shapely.make_valid(frame.geometry.values)]
    return frame


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Return the polygon parts of `geom`: repairs and clipping can leave stray lines."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts)


def _attribute_table(src: Path, frame: gpd.GeoDataFrame, fields: Mapping[str, LevelFields],
                     levels: tuple[str, ...], qualify_ids: bool) -> gpd.GeoDataFrame:
    """Return the features with columns <level>_id, <level>_zh, <level>_en per level."""
    out = gpd.GeoDataFrame(geometry=frame.geometry.values, crs="EPSG:4326")
    parent_ids = None
    for level in levels:
        spec = fields.get(level)
        if spec is None or spec.id not in frame.columns:
            column = spec.id if spec else f"{level}_id"
            raise CityImportError(f"{src}: no id column {column!r} for level {level}; "
                                  f"columns are {', '.join(map(str, frame.columns))}")
        ids = frame[spec.id].astype(str).str.strip()
        if qualify_ids and parent_ids is not None:
            ids = parent_ids + "-" + ids
        out[f"{level}_id"] = ids
        out[f"{level}_zh"] = _names(frame, spec.name_zh, ids)
        out[f"{level}_en"] = _names(frame, spec.name_en, ids)
        parent_ids = ids
    _check_single_parent(src, out, levels)
    return out


def _names(frame: gpd.GeoDataFrame, column: str | None, ids: pd.Series) -> pd.Series:
    if column is None or column not in frame.columns:
        return ids  # no names given: a region is called by its id
    return frame[column].astype("string").fillna(ids).astype(str)


def _check_single_parent(src: Path, table: gpd.GeoDataFrame, levels: tuple[str, ...]) -> None:
    for level in levels[1:]:
        parent = PARENT_LEVEL[level]
        n_parents = table.groupby(f"{level}_id")[f"{parent}_id"].nunique()
        bad = n_parents[n_parents > 1]
        if len(bad):
            raise CityImportError(f"{src}: {level} {bad.index[0]!r} lies in more than one "
                                  f"{parent} (ids unique only within their parent? "
                                  "use qualify_ids)")


def _cut_grids(table: gpd.GeoDataFrame, grid_area_m2: float) -> gpd.GeoDataFrame:
    """Return one row per grid, cut from each community by seeded subdivision."""
    communities = table.dissolve(by="community_id", aggfunc="first").reset_index()
    metric = communities.to_crs(communities.estimate_utm_crs())
    rows = []
    for comm, geom in zip(communities.itertuples(), metric.geometry, strict=True):
        n = int(np.clip(round(geom.area / grid_area_m2), 1, 50))
        for g, piece in enumerate(subdivide(geom, n, seed_key=comm.community_id), start=1):
            row = {k: getattr(comm, k) for k in communities.columns if k != "geometry"}
            gid = f"{comm.community_id}-{g:02d}"
            rows.append(row | {"grid_id": gid, "grid_zh": f"{comm.community_zh}{g:02d}号网格",
                               "grid_en": f"{comm.community_en} Grid {g:02d}", "geometry": piece})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=metric.crs).to_crs("EPSG:4326")


def _levels(table: gpd.GeoDataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Return the four levels, each region the exact union of its grids."""
    table = table.copy()
    table["geometry"] = shapely.set_precision(table.geometry.values, PRECISION)
    out = {}
    for level in LEVELS:
        parent = PARENT_LEVEL.get(level)
        groups = table.groupby(f"{level}_id")
        first = groups.first()
        geoms = {k: _polygonal(shapely.union_all(g.geometry.values, grid_size=PRECISION))
                 for k, g in groups}
        frame = gpd.GeoDataFrame({
            "name_zh": first[f"{level}_zh"], "name_en": first[f"{level}_en"],
            "parent_id": first[f"{parent}_id"] if parent else None,
            "geometry": pd.Series(geoms),
        }, geometry="geometry", crs="EPSG:4326")
        out[level] = frame.rename_axis("id").sort_index()
    return out
