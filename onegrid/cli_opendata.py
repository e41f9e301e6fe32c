"""`onegrid opendata export`: a day's de-identified per-cell open data, as CSV and GeoJSON.

Reads a node's DuckDB file (one no engine holds open, or a replica's), builds
the day's aggregates with `alerts.opendata` and writes three files into the
output folder: `cells_<day>.csv`, `cells_<day>.geojson` (the same rows as
res-8 hexagons, with each cell's published report counts per category) and
`reports_by_category_<day>.csv`. The day is the city's local day. The data
dictionary is docs/opendata.md. Parsing of the other commands is in `cli`.
"""

from __future__ import annotations

import argparse
import json
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from h3.api import basic_int as h3i

from onegrid.alerts.opendata import SUPPRESS_K, DailyCells, daily_cells
from onegrid.alerts.station_hours import HOUR, epoch_hour, rows_to_hours
from onegrid.geo import air_hours
from onegrid.geo import daily_cells as reads

LOOKBACK_HOURS = 23  # hours read before the day: SO2's 24-hour mean for the hourly AQI
LICENCE = "LICENCE: to be set by the publishing authority before release (placeholder)"


def build_day(cur: duckdb.DuckDBPyConnection, registry, day: date, k: int) -> DailyCells:
    """Return the open data of the city's local `day` from a store's cursor."""
    tz = ZoneInfo(registry.timezone)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    rows = air_hours.station_hours(cur, start - LOOKBACK_HOURS * HOUR, end).to_pydict()
    stations = sorted(set(rows["source_id"]))
    latest: dict[str, tuple[int, int]] = {}  # station -> (time of its latest reading, cell)
    for s, ms, cell in zip(rows["source_id"], rows["last_ms"], rows["cell"], strict=True):
        if cell is not None and ms >= latest.get(s, (-1, 0))[0]:
            latest[s] = (ms, cell)
    hours = rows_to_hours(rows, stations, epoch_hour(start) - LOOKBACK_HOURS + 1,
                          epoch_hour(end))
    return daily_cells(day, reads.cell_counts(cur, start, end),
                       reads.category_counts(cur, start, end), reads.sensor_means(cur, start, end),
                       hours, {s: c for s, (_, c) in latest.items()}, list(registry.metrics),
                       LOOKBACK_HOURS, k)


def write_day(data: DailyCells, out: Path) -> list[Path]:
    """Write the day's CSV and GeoJSON files into `out`; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    day = data.day.isoformat()
    cells_csv = out / f"cells_{day}.csv"
    categories_csv = out / f"reports_by_category_{day}.csv"
    geojson = out / f"cells_{day}.geojson"
    data.cells.to_csv(cells_csv, index=False, na_rep="", lineterminator="\n")
    data.categories.to_csv(categories_csv, index=False, na_rep="", lineterminator="\n")
    geojson.write_text(json.dumps(to_geojson(data), ensure_ascii=False), encoding="utf-8")
    return [cells_csv, geojson, categories_csv]


def to_geojson(data: DailyCells) -> dict:
    """Return the cells as a GeoJSON FeatureCollection of res-8 hexagons (RFC 7946)."""
    by_cell: dict[str, dict[str, int]] = {}
    for cell, category, n in data.categories[["cell", "category", "reports"]].itertuples(
            index=False):
        by_cell.setdefault(cell, {})[category] = int(n)
    features = []
    for cell_id, row in zip(data.cell_ids.tolist(), data.cells.to_dict("records"), strict=True):
        ring = [[round(lng, 6), round(lat, 6)] for lat, lng in h3i.cell_to_boundary(cell_id)]
        props = {k: _plain(v) for k, v in row.items()}
        props["reports_by_category"] = by_cell.get(row["cell"], {})
        features.append({"type": "Feature", "id": row["cell"], "properties": props,
                         "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}})
    return {"type": "FeatureCollection", "name": f"onegrid_cells_{data.day.isoformat()}",
            "suppression_k": data.k, "licence": LICENCE, "dictionary": "docs/opendata.md",
            "features": features}


def _plain(value):
    """Return a JSON value for a table cell: None for NA/NaN, Python scalars otherwise."""
    if isinstance(value, str):
        return value
    if value is None or pd.isna(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _day(text: str) -> date:
    from onegrid.cli import UserError

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UserError(f"--day {text!r}: expected a date as YYYY-MM-DD") from None


def cmd_opendata_export(args) -> int:
    """Export a day's de-identified per-cell aggregates as CSV and GeoJSON."""
    from onegrid.cli import UserError
    from onegrid.cli_cases import _open
    from onegrid.geo.registry import RegistryError, load_registry

    day = _day(args.day)
    if args.k < 1:
        raise UserError(f"--k {args.k}: the suppression threshold must be 1 or more")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    try:
        registry = load_registry(Path(args.city) if args.city else None)
    except RegistryError as exc:
        raise UserError(str(exc)) from None
    try:
        with _open(args.db) as store:
            data = build_day(store.cursor(), registry, day, args.k)
    except duckdb.Error as exc:
        raise UserError(f"{args.db}: not a OneGrid store ({str(exc).splitlines()[0]})") from None
    paths = write_day(data, out)
    shown = int(data.cells["reports"].notna().sum())
    print(f"onegrid opendata export: {len(data.cells)} cells on {day}, report counts in "
          f"{shown} (k={args.k}) -> {', '.join(str(p) for p in paths)}")
    return 0


def add_opendata_commands(sub: argparse._SubParsersAction, add_db, add_city) -> None:
    """Register `opendata export` on the CLI's subcommands."""
    opendata = sub.add_parser("opendata", help="de-identified open data from a node's store")
    osub = opendata.add_subparsers(dest="opendata_command", required=True, metavar="COMMAND")
    p = osub.add_parser("export", help="a day's per-cell aggregates as CSV and GeoJSON "
                                       "(docs/opendata.md)")
    add_db(p), add_city(p)
    p.add_argument("--day", required=True, help="the city's local day, YYYY-MM-DD")
    p.add_argument("--out", required=True, help="folder to write the files into")
    p.add_argument("--k", type=int, default=SUPPRESS_K,
                   help=f"withhold report counts from 1 to k-1 (default {SUPPRESS_K})")
    p.set_defaults(func=cmd_opendata_export)


__all__ = ["add_opendata_commands", "build_day", "cmd_opendata_export", "to_geojson",
           "write_day"]
