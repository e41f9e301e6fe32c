"""Regions: the city's hierarchy of boundaries and the res-10 cells of each grid.

A city folder holds four GeoJSON files, one per level (district 区 > street 街道 >
community 社区 > grid 网格), each feature with `id`, `name_zh`, `name_en` and
`parent_id`. This module reads and checks them, polyfills every grid to H3
res-10 cells once (a cell belongs to the one grid that holds its centre) and
caches that cell table as parquet, so that `cells_to_regions` maps any array of
cells to its grid and parents with one `searchsorted`. It also writes the same
format (`write_level`) for the demo-city generator and the importer. Drawing
boundaries for the map is left to `boundaries`, reading registers to `registry`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from h3.api import basic_int as h3i
from shapely.geometry import mapping, shape

from onegrid.geo.registry import DEMO_CITY_DIR

BASE_RES: Final = 10
LEVELS: Final = ("district", "street", "community", "grid")
LEVEL_FILES: Final = {
    "district": "districts.geojson",
    "street": "streets.geojson",
    "community": "communities.geojson",
    "grid": "grids.geojson",
}
# level -> the level its parent_id points at
PARENT_LEVEL: Final = {"street": "district", "community": "street", "grid": "community"}
ID_COLUMNS: Final = tuple(f"{level}_id" for level in reversed(LEVELS))
# Bump when the cached cell table's meaning changes, so old caches are ignored.
_CACHE_VERSION: Final = "1"


class RegionsError(ValueError):
    """A boundary file is missing or malformed; the message names the file and feature."""


@dataclass(frozen=True, eq=False)
class Regions:
    """The four levels of a city and its cell table.

    `levels[level]` is a GeoDataFrame (EPSG:4326) indexed by id with columns
    name_zh, name_en, parent_id, geometry. `cells` is sorted ascending (uint64
    H3 res-10 cells); `cell_ids["grid_id"][i]` (and community_id, street_id,
    district_id) is the region of `cells[i]`.
    """

    folder: Path
    levels: dict[str, gpd.GeoDataFrame]
    cells: np.ndarray
    cell_ids: dict[str, np.ndarray]

    @property
    def districts(self) -> gpd.GeoDataFrame:
        return self.levels["district"]

    @property
    def streets(self) -> gpd.GeoDataFrame:
        return self.levels["street"]

    @property
    def communities(self) -> gpd.GeoDataFrame:
        return self.levels["community"]

    @property
    def grids(self) -> gpd.GeoDataFrame:
        return self.levels["grid"]

    def cell_table(self) -> pd.DataFrame:
        """Return the cell table: cell, grid_id, community_id, street_id, district_id."""
        return pd.DataFrame({"cell": self.cells, **self.cell_ids})


def load_regions(folder: Path | None = None, *, cache_dir: Path | None = None) -> Regions:
    """Return the regions of the city in `folder` (default: the demo city).

    The cell table is read from the cache (`cache_dir`, default
    `$ONEGRID_CACHE_DIR` or `~/.cache/onegrid`) when one exists for these exact
    GeoJSON bytes, else polyfilled and cached. Raises `RegionsError`.
    """
    folder = Path(folder) if folder else DEMO_CITY_DIR
    raw = {level: _read_bytes(folder / LEVEL_FILES[level]) for level in LEVELS}
    levels = {level: _parse_level(folder / LEVEL_FILES[level], raw[level]) for level in LEVELS}
    _check_parents(folder, levels)
    cache = _cache_path(cache_dir, raw)
    table = _read_cache(cache)
    if table is None:
        table = _build_cell_table(levels)
        _write_cache(cache, table)
    cells = table.pop("cell")
    return Regions(folder=folder, levels=levels, cells=cells, cell_ids=table)


def cells_to_regions(regions: Regions, cells: np.ndarray) -> dict[str, np.ndarray]:
    """Return grid_id, community_id, street_id and district_id arrays for `cells`.

    Each array is object dtype, aligned with `cells`, None where the cell is
    not in the city (outside every grid, or not a res-10 cell).
    """
    cells = np.asarray(cells, dtype=np.uint64).ravel()
    keys = regions.cells
    if len(keys) == 0:
        return {col: np.full(len(cells), None, dtype=object) for col in ID_COLUMNS}
    pos = np.minimum(np.searchsorted(keys, cells), len(keys) - 1)
    found = keys[pos] == cells
    out = {}
    for col in ID_COLUMNS:
        arr = np.full(len(cells), None, dtype=object)
        arr[found] = regions.cell_ids[col][pos[found]]
        out[col] = arr
    return out


def write_level(path: Path, frame: gpd.GeoDataFrame, precision: int = 6) -> None:
    """Write one level in the city format: one feature per line, coordinates rounded.

    `frame` is indexed by id with columns name_zh, name_en, parent_id, geometry
    (EPSG:4326).
    """
    lines = [json.dumps(_feature(rid, row, precision), ensure_ascii=False, separators=(",", ":"))
             for rid, row in frame.iterrows()]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


def level_to_features(frame: gpd.GeoDataFrame, precision: int = 6) -> list[dict[str, Any]]:
    """Return the GeoJSON features of one level, coordinates rounded to `precision` decimals."""
    return [_feature(rid, row, precision) for rid, row in frame.iterrows()]


def _feature(rid: str, row: pd.Series, precision: int) -> dict[str, Any]:
    parent = row["parent_id"]
    props = {"id": str(rid), "name_zh": row["name_zh"], "name_en": row["name_en"],
             "parent_id": None if parent is None or pd.isna(parent) else str(parent)}
    return {"type": "Feature", "properties": props,
            "geometry": _round_coords(mapping(row.geometry), precision)}


def _round_coords(geom: dict[str, Any], precision: int) -> dict[str, Any]:
    def rnd(c: Any) -> Any:
        if isinstance(c[0], int | float):
            return [round(float(v), precision) for v in c]
        return [rnd(x) for x in c]

    return {"type": geom["type"], "coordinates": rnd(geom["coordinates"])}


# --- reading and checking -------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RegionsError(f"{path}: file not found") from None


def _parse_level(path: Path, raw: bytes) -> gpd.GeoDataFrame:
    """Return one level's GeoDataFrame, checking every feature; errors name path and index."""
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RegionsError(f"{path}: not valid GeoJSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise RegionsError(f"{path}: not a GeoJSON FeatureCollection")
    features = doc.get("features")
    if not isinstance(features, list):
        raise RegionsError(f"{path}: FeatureCollection has no 'features' list")
    rows, seen = [], {}
    for i, feat in enumerate(features):
        row = _parse_feature(path, i, feat)
        if row["id"] in seen:
            raise RegionsError(f"{path}: feature {i}: duplicate id {row['id']!r} "
                               f"(first at feature {seen[row['id']]})")
        seen[row["id"]] = i
        rows.append(row)
    frame = gpd.GeoDataFrame(rows, columns=["id", "name_zh", "name_en", "parent_id", "geometry"],
                             geometry="geometry", crs="EPSG:4326")
    return frame.set_index("id")


def _parse_feature(path: Path, i: int, feat: Any) -> dict[str, Any]:
    where = f"{path}: feature {i}"
    if not isinstance(feat, dict) or not isinstance(feat.get("properties"), dict):
        raise RegionsError(f"{where}: not a Feature with properties")
    props = feat["properties"]
    rid = props.get("id")
    if rid is None or str(rid).strip() == "":
        raise RegionsError(f"{where}: no 'id' property")
    rid = str(rid)
    where = f"{path}: feature {i} (id {rid!r})"
    try:
        geom = shape(feat["geometry"])
    except Exception as exc:  # shapely raises several types for malformed geometry
        raise RegionsError(f"{where}: bad geometry: {exc}") from None
    if geom.geom_type not in ("Polygon", "MultiPolygon") or geom.is_empty:
        raise RegionsError(f"{where}: geometry must be a non-empty Polygon or MultiPolygon, "
                           f"got {geom.geom_type}")
    if not geom.is_valid:
        # Imported boundaries often have small self-intersections; repair, keep the area.
        geom = shapely.make_valid(geom).buffer(0)
    parent = props.get("parent_id")
    return {"id": rid, "name_zh": str(props.get("name_zh") or rid),
            "name_en": str(props.get("name_en") or rid),
            "parent_id": None if parent in (None, "") else str(parent), "geometry": geom}


def _check_parents(folder: Path, levels: dict[str, gpd.GeoDataFrame]) -> None:
    for level, parent_level in PARENT_LEVEL.items():
        frame, parents = levels[level], levels[parent_level].index
        missing = ~frame["parent_id"].isin(parents)
        if missing.any():
            i = int(np.flatnonzero(missing.to_numpy())[0])
            rid, pid = frame.index[i], frame["parent_id"].iloc[i]
            raise RegionsError(
                f"{folder / LEVEL_FILES[level]}: feature {i} (id {rid!r}): parent_id {pid!r} "
                f"is not a {parent_level} in {LEVEL_FILES[parent_level]}")


# --- the cell table ---------------------------------------------------------------------


def _build_cell_table(levels: dict[str, gpd.GeoDataFrame]) -> dict[str, np.ndarray]:
    """Polyfill every grid and return the sorted cell table as column arrays."""
    grids = levels["grid"].sort_index()
    parts = [np.asarray(h3i.geo_to_cells(geom, BASE_RES), dtype=np.uint64)
             for geom in grids.geometry]
    cells = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
    owner = np.repeat(np.arange(len(parts)), [len(p) for p in parts])
    # A centre exactly on a shared edge can land in two grids: keep the first grid by id.
    order = np.lexsort((owner, cells))
    cells, owner = cells[order], owner[order]
    first = np.r_[True, cells[1:] != cells[:-1]] if len(cells) else np.empty(0, dtype=bool)
    cells, owner = cells[first], owner[first]
    chain = _grid_chain(levels, grids.index)
    return {"cell": cells, **{col: chain[col][owner] for col in ID_COLUMNS}}


def _grid_chain(levels: dict[str, gpd.GeoDataFrame], grid_ids: pd.Index) -> dict[str, np.ndarray]:
    """Return, per grid (in `grid_ids` order), its id and the ids of its ancestors."""
    out = {"grid_id": np.asarray(grid_ids, dtype=object)}
    current = pd.Series(grid_ids, index=grid_ids)
    for level in ("grid", "community", "street"):
        parent_level = PARENT_LEVEL[level]
        current = current.map(levels[level]["parent_id"])
        out[f"{parent_level}_id"] = current.to_numpy(dtype=object)
    return out


def _cache_path(cache_dir: Path | None, raw: dict[str, bytes]) -> Path:
    base = cache_dir or Path(os.environ.get("ONEGRID_CACHE_DIR", Path.home() / ".cache/onegrid"))
    digest = hashlib.sha256(f"v{_CACHE_VERSION} res{BASE_RES}".encode())
    for level in LEVELS:
        digest.update(hashlib.sha256(raw[level]).digest())
    return Path(base) / f"cells-{digest.hexdigest()[:24]}.parquet"


def _read_cache(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path, read_dictionary=list(ID_COLUMNS))
    except (OSError, pa.ArrowException):
        return None  # a damaged cache is rebuilt, never trusted
    out = {"cell": table.column("cell").to_numpy().astype(np.uint64)}
    for col in ID_COLUMNS:
        # Dictionary-decode with numpy: a few hundred distinct ids, tens of thousands of rows.
        arr = table.column(col).combine_chunks()
        names = np.asarray(arr.dictionary.to_pylist(), dtype=object)
        out[col] = names[arr.indices.to_numpy(zero_copy_only=False)]
    return out


def _write_cache(path: Path, table: dict[str, np.ndarray]) -> None:
    arrays = {"cell": pa.array(table["cell"], type=pa.uint64())}
    arrays |= {col: pa.array(table[col].tolist(), type=pa.string()).dictionary_encode()
               for col in ID_COLUMNS}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(arrays), tmp)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old or the new file
    except OSError:
        tmp.unlink(missing_ok=True)  # no writable cache: the next load polyfills again


_ARROW_CELLS: dict[int, tuple[Regions, pa.Table]] = {}  # id(regions) -> (regions, table)


def cell_table_arrow(regions: Regions) -> pa.Table:
    """Return the cell table (cell UBIGINT, grid_id, community_id, street_id,
    district_id) as Arrow, built once per Regions, for SQL joins."""
    cached = _ARROW_CELLS.get(id(regions))
    if cached is None or cached[0] is not regions:
        table = pa.table({"cell": pa.array(regions.cells, pa.uint64()),
                          **{k: pa.array(v, pa.string()) for k, v in regions.cell_ids.items()}})
        cached = _ARROW_CELLS[id(regions)] = (regions, table)
    return cached[1]
