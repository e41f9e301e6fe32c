"""Exports of the environment page: the chosen window's hourly values per station and per
station cell, as CSV rows and as GeoJSON (stations as points, cells as H3 polygons).

One row per (station or cell, hour end) over the last 24 hours; the columns
are `COLUMNS`, described on the page in one line (the data dictionary).
Missing values (too few valid hours) are empty in CSV and null in GeoJSON.
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

COLUMNS: Final = ("kind", "id", "name_zh", "name_en", "lat", "lng", "cell_r8", "hour_end",
                  "window", *aqi.POLLUTANTS, "aqi", "aqi_level", "category_zh", "category_en",
                  "primary")


def export_rows(stations: Sequence[StationPlace], layer: Layer, cells: np.ndarray,
                cells_layer: Layer) -> list[dict[str, Any]]:
    """Return the rows: every station's hours, then every cell's, oldest hour first."""
    places = [{"kind": "station", "id": s.station_id, "name_zh": s.name_zh,
               "name_en": s.name_en, "lat": s.lat, "lng": s.lng,
               "cell_r8": cell_to_id(s.cell_r8)} for s in stations]
    rows = _rows(places, layer)
    places = []
    for cell in np.asarray(cells).tolist():
        lat, lng = h3i.cell_to_latlng(int(cell))
        places.append({"kind": "cell", "id": cell_to_id(cell), "name_zh": "", "name_en": "",
                       "lat": round(lat, 5), "lng": round(lng, 5),
                       "cell_r8": cell_to_id(cell)})
    return rows + _rows(places, cells_layer)


def _rows(places: list[dict[str, Any]], layer: Layer) -> list[dict[str, Any]]:
    """Return one row per place (a layer row) and step."""
    # Whole arrays to plain lists once: per-value numpy calls cost more than the rest.
    values = {p: _plain(layer.values[p], 2) for p in aqi.POLLUTANTS}
    index = _plain(layer.aqi, 0)
    hours = [_iso(h) for h in layer.hours]
    out = []
    for row, place in enumerate(places):
        for step, hour in enumerate(hours):
            found = index[row][step]
            cat = aqi.category_of(found)
            out.append({**place, "hour_end": hour, "window": layer.window,
                        **{p: values[p][row][step] for p in aqi.POLLUTANTS},
                        "aqi": None if found is None else int(found),
                        "aqi_level": cat.level if cat else None,
                        "category_zh": cat.zh if cat else None,
                        "category_en": cat.en if cat else None,
                        "primary": ";".join(layer.primary[row, step]) or None})
    return out


def rows_to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Return the rows as CSV text with a header of `COLUMNS` (UTF-8, missing = empty)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row[k] is None else row[k] for k in COLUMNS})
    return out.getvalue()


def rows_to_geojson(rows: Sequence[dict[str, Any]]) -> str:
    """Return the rows as a GeoJSON FeatureCollection: stations as Points, cells as their
    H3 polygons, every column a property."""
    polygons: dict[str, Any] = {}
    features = []
    for row in rows:
        if row["kind"] == "station":
            geometry = {"type": "Point", "coordinates": [row["lng"], row["lat"]]}
        else:
            if row["id"] not in polygons:
                polygons[row["id"]] = cell_to_feature(int(row["id"], 16))["geometry"]
            geometry = polygons[row["id"]]
        features.append({"type": "Feature", "geometry": geometry,
                         "properties": {k: row[k] for k in COLUMNS}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False)


def _plain(values: np.ndarray, decimals: int) -> list[list[float | None]]:
    """Return rows of values rounded to `decimals`, None where missing."""
    rounded = np.round(np.asarray(values, dtype=float), decimals).tolist()
    return [[None if v != v else v for v in row] for row in rounded]  # v != v: NaN


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
