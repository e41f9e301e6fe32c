"""Exports of the environment page: the chosen window's hourly values per station, per
station cell and per estimated cell, as CSV rows and as GeoJSON (stations as points,
cells as H3 polygons).

One row per (station or cell, hour end) over the slider's 24 hours; the
columns are `COLUMNS`, described on the page in one line (the data
dictionary). `estimated` tells measured rows (stations, and the cells holding
them: their stations' mean) from estimated ones (cells between stations,
`queries.estimates`), which also say how many stations they were made from
(`stations`). Missing values (too few valid hours, no estimate) are empty in
CSV and null in GeoJSON.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

import numpy as np
from h3.api import basic_int as h3i

from onegrid.alerts import aqi
from onegrid.dashboard.components.hexmap import cell_to_feature, cell_to_id
from onegrid.dashboard.queries.air_windows import Layer
from onegrid.dashboard.queries.environment import StationPlace
from onegrid.dashboard.queries.estimates import Estimated

COLUMNS: Final = ("kind", "id", "name_zh", "name_en", "lat", "lng", "cell_r8", "hour_end",
                  "window", "estimated", "stations", *aqi.POLLUTANTS, "aqi", "aqi_level",
                  "category_zh", "category_en", "primary")


def export_rows(stations: Sequence[StationPlace], layer: Layer, cells: np.ndarray,
                cells_layer: Layer, estimated: Estimated | None = None
                ) -> list[dict[str, Any]]:
    """Return the rows: every station's hours, then every station cell's, then every
    estimated cell's, oldest hour first."""
    places = [{"kind": "station", "id": s.station_id, "name_zh": s.name_zh,
               "name_en": s.name_en, "lat": s.lat, "lng": s.lng,
               "cell_r8": cell_to_id(s.cell_r8), "estimated": False} for s in stations]
    rows = _rows(places, layer, np.ones(layer.aqi.shape, dtype=int))
    members = np.asarray([s.cell_r8 for s in stations], dtype=np.uint64)
    per_cell = (np.asarray(cells, dtype=np.uint64)[:, None] == members[None, :]).sum(axis=1)
    counts = np.repeat(per_cell[:, None], len(layer.hours), axis=1)
    rows += _rows(_cell_places(cells, False), cells_layer, counts)
    if estimated is not None and len(estimated.cells):
        rows += _rows(_cell_places(estimated.cells, True), estimated.layer, estimated.stations)
    return rows


def _cell_places(cells: np.ndarray, estimated: bool) -> list[dict[str, Any]]:
    """Return the place columns of cells (their centres)."""
    places = []
    for cell in np.asarray(cells).tolist():
        lat, lng = h3i.cell_to_latlng(int(cell))
        places.append({"kind": "cell", "id": cell_to_id(cell), "name_zh": "", "name_en": "",
                       "lat": round(lat, 5), "lng": round(lng, 5),
                       "cell_r8": cell_to_id(cell), "estimated": estimated})
    return places


def _rows(places: list[dict[str, Any]], layer: Layer, stations: np.ndarray
          ) -> list[dict[str, Any]]:
    """Return one row per place (a layer row) and step; `stations` (rows x steps) says how
    many stations each value was made from (estimates without a value get none)."""
    # Whole arrays to plain lists once: per-value numpy calls cost more than the rest.
    values = {p: _plain(layer.values[p], 2) for p in aqi.POLLUTANTS}
    index = _plain(layer.aqi, 0)
    used = np.asarray(stations, dtype=int).tolist()
    hours = [_iso(h) for h in layer.hours]
    out = []
    for row, place in enumerate(places):
        for step, hour in enumerate(hours):
            found = index[row][step]
            cat = aqi.category_of(found)
            out.append({**place, "hour_end": hour, "window": layer.window,
                        "stations": used[row][step] or None,
                        **{p: values[p][row][step] for p in aqi.POLLUTANTS},
                        "aqi": None if found is None else int(found),
                        "aqi_level": cat.level if cat else None,
                        "category_zh": cat.zh if cat else None,
                        "category_en": cat.en if cat else None,
                        "primary": ";".join(layer.primary[row, step]) or None})
    return out


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Return the rows as CSV text with a header of `COLUMNS` (UTF-8, missing = empty,
    booleans true/false)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    # Lists, not DictWriter, and one conversion per value: a city's export is ~15k rows.
    writer.writerows([["" if v is None else ("true" if v else "false") if v is True or v is False
                       else v for v in (row[k] for k in COLUMNS)] for row in rows])
    return out.getvalue()


def rows_to_geojson(rows: Sequence[dict[str, Any]]) -> str:
    """Return the rows as a GeoJSON FeatureCollection: stations as Points, cells as their
    H3 polygons, every column a property."""
    # Each place's geometry is encoded once and spliced into its 24 hourly features: the
    # encoder would otherwise write the same polygon 24 times over (most of the time).
    geometries: dict[str, str] = {}
    features = []
    for row in rows:
        key = f"{row['kind']}:{row['id']}"
        geometry = geometries.get(key)
        if geometry is None:
            shape = ({"type": "Point", "coordinates": [row["lng"], row["lat"]]}
                     if row["kind"] == "station"
                     else cell_to_feature(int(row["id"], 16))["geometry"])
            geometry = geometries[key] = json.dumps(shape, separators=(",", ":"))
        properties = json.dumps({k: row[k] for k in COLUMNS}, ensure_ascii=False,
                                separators=(",", ":"))
        features.append(f'{{"type":"Feature","geometry":{geometry},"properties":{properties}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(features) + "]}"


def _plain(values: np.ndarray, decimals: int) -> list[list[float | None]]:
    """Return rows of values rounded to `decimals`, None where missing."""
    rounded = np.round(np.asarray(values, dtype=float), decimals).tolist()
    return [[None if v != v else v for v in row] for row in rounded]  # v != v: NaN


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
