"""Reads of the command map: values per cell for a measure, markers, the status strip,
and what one cell holds.

Measures: `events` and `incidents` count stored events per cell over the
window, grouped by the stored parent column (no H3 work per event);
`aqi` is the hourly AQI (HJ 633, `alerts.aqi`) of each cell's stations over
the last hour; `alerts` counts firing alerts and `cases` open cases per
cell. Every read is scoped to the actor's region (and, for cases, their
casework). Only the padded view is read, so a street-level view of a big
city reads a few thousand cells, not the city.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
from h3.api import basic_int as h3i

from onegrid.alerts import aqi
from onegrid.dashboard.access import Scope, masked_rows
from onegrid.dashboard.components.hexmap import cell_column, padded_bbox
from onegrid.geo.cells import cells_to_parent
from onegrid.geo.store import Store

MEASURES: Final = ("events", "incidents", "aqi", "alerts", "cases")
MARKER_LIMIT: Final = 400
OPEN_STATES: Final = ("suggested", "new", "dispatched", "accepted", "in_progress", "resolved",
                      "verified", "returned", "arbitration", "reopened")
CLOCKED: Final = ("dispatched", "accepted", "in_progress", "returned", "reopened")
_AQI_WINDOW: Final = timedelta(hours=1)


def measure_values(store: Store, scope: Scope, measure: str, res: int, since: datetime,
                   now: datetime, bbox: Sequence[float] | None) -> tuple[np.ndarray, np.ndarray]:
    """Return (cells at `res`, values) of `measure` in the padded view, sorted by cell."""
    if measure in ("events", "incidents"):
        return _event_counts(store, scope, measure, res, since, now, bbox)
    if measure == "aqi":
        return _aqi(store, scope, res, now, bbox)
    if measure == "alerts":
        rows = store.query(f"SELECT cell FROM alerts a WHERE state = 'firing' AND cell IS NOT "
                           f"NULL AND {scope.alert_sql('a')[0]}", scope.alert_sql("a")[1])
        return _count_cells(_to_res(rows.column("cell").to_numpy(), res), res, bbox)
    if measure == "cases":
        where, params = scope.case_sql("cases")
        rows = store.query(f"SELECT cell FROM cases WHERE cell IS NOT NULL AND state IN "
                           f"(SELECT unnest(?::VARCHAR[])) AND {where}",
                           [list(OPEN_STATES), *params])
        return _count_cells(_to_res(rows.column("cell").to_numpy(), res), res, bbox)
    raise ValueError(f"unknown measure {measure!r}; one of {', '.join(MEASURES)}")


def _bbox_sql(bbox: Sequence[float] | None, res: int) -> tuple[str, list[Any]]:
    if not bbox:
        return "true", []
    west, south, east, north = padded_bbox(bbox, res)
    return "lat BETWEEN ? AND ? AND lng BETWEEN ? AND ?", [south, north, west, east]


def _event_counts(store: Store, scope: Scope, measure: str, res: int, since: datetime,
                  now: datetime, bbox) -> tuple[np.ndarray, np.ndarray]:
    col = cell_column(res)
    box, box_params = _bbox_sql(bbox, res)
    region, region_params = scope.region_sql("grid_id")
    topic = "AND topic = 'incident'" if measure == "incidents" else ""
    table = store.query(
        f"SELECT {col} AS cell, count(*)::DOUBLE AS v FROM events WHERE ts >= ? AND ts <= ? "
        f"AND {col} IS NOT NULL {topic} AND {box} AND {region} GROUP BY 1 ORDER BY 1",
        [since, now, *box_params, *region_params])
    return (table.column("cell").to_numpy().astype(np.uint64),
            table.column("v").to_numpy().astype(float))


def _aqi(store: Store, scope: Scope, res: int, now: datetime, bbox
         ) -> tuple[np.ndarray, np.ndarray]:
    col = cell_column(res)
    box, box_params = _bbox_sql(bbox, res)
    region, region_params = scope.region_sql("grid_id")
    means = ", ".join(f"avg({p}) AS {p}" for p in aqi.POLLUTANTS)
    table = store.query(
        f"SELECT {col} AS cell, {means} FROM events WHERE topic = 'environment' AND ts >= ? "
        f"AND ts <= ? AND {col} IS NOT NULL AND {box} AND {region} GROUP BY 1 ORDER BY 1",
        [now - _AQI_WINDOW, now, *box_params, *region_params])
    values = {p: table.column(p).to_numpy(zero_copy_only=False).astype(float)
              for p in aqi.POLLUTANTS}
    index, _primary = aqi.hourly_aqi(values)
    cells = table.column("cell").to_numpy().astype(np.uint64)
    keep = ~np.isnan(index) if len(index) else np.zeros(0, dtype=bool)
    return cells[keep], index[keep]


def _to_res(cells: np.ndarray, res: int) -> np.ndarray:
    """Return each cell at `res`: its parent when finer, its centre child when coarser."""
    cells = np.asarray(cells, dtype=np.uint64)
    if len(cells) == 0:
        return cells
    out = np.empty_like(cells)
    for i, c in enumerate(cells.tolist()):
        r = h3i.get_resolution(c)
        out[i] = c if r == res else (int(cells_to_parent(np.array([c], np.uint64), res)[0])
                                     if r > res else h3i.cell_to_center_child(c, res))
    return out


def _count_cells(cells: np.ndarray, res: int, bbox) -> tuple[np.ndarray, np.ndarray]:
    if len(cells) and bbox:
        lat, lng = _centres(cells)
        west, south, east, north = padded_bbox(bbox, res)
        keep = (lat >= south) & (lat <= north) & (lng >= west) & (lng <= east)
        cells = cells[keep]
    uniq, counts = np.unique(cells, return_counts=True)
    return uniq.astype(np.uint64), counts.astype(float)


def _centres(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pts = np.array([h3i.cell_to_latlng(int(c)) for c in cells.tolist()], dtype=float)
    pts = pts.reshape(-1, 2)
    return pts[:, 0], pts[:, 1]


# -- markers -------------------------------------------------------------------

def incident_markers(store: Store, scope: Scope, since: datetime, now: datetime,
                     bbox: Sequence[float] | None, limit: int = MARKER_LIMIT
                     ) -> list[dict[str, Any]]:
    """Return the newest incident reports in view: id, lat, lng, category, source, ts."""
    box, box_params = _bbox_sql(bbox, 10)
    region, region_params = scope.region_sql("grid_id")
    return store.query(
        "SELECT id, lat, lng, category, source, severity, ts FROM events WHERE topic = "
        f"'incident' AND ts >= ? AND ts <= ? AND lat IS NOT NULL AND {box} AND {region} "
        "ORDER BY ts DESC LIMIT ?", [since, now, *box_params, *region_params, limit]).to_pylist()


def alert_markers(store: Store, scope: Scope, bbox: Sequence[float] | None,
                  limit: int = MARKER_LIMIT) -> list[dict[str, Any]]:
    """Return firing alerts with a cell, placed at the cell's centre, severest first."""
    where, params = scope.alert_sql("a")
    rows = store.query(
        f"SELECT alert_id, rule_id, level, severity, cell, value, threshold FROM alerts a "
        f"WHERE state = 'firing' AND cell IS NOT NULL AND {where} "
        "ORDER BY severity DESC, updated_at DESC LIMIT ?", [*params, limit]).to_pylist()
    return _in_view(rows, bbox)


def case_markers(store: Store, scope: Scope, bbox: Sequence[float] | None,
                 limit: int = MARKER_LIMIT) -> list[dict[str, Any]]:
    """Return open cases with a cell, placed at the cell's centre, newest change first."""
    where, params = scope.case_sql("cases")
    rows = store.query(
        f"SELECT case_id, category, state, severity, cell, due_at FROM cases WHERE cell IS NOT "
        f"NULL AND state IN (SELECT unnest(?::VARCHAR[])) AND {where} "
        "ORDER BY updated_at DESC LIMIT ?", [list(OPEN_STATES), *params, limit]).to_pylist()
    return _in_view(rows, bbox)


def _in_view(rows: list[dict[str, Any]], bbox) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        lat, lng = h3i.cell_to_latlng(int(r["cell"]))
        if bbox:
            west, south, east, north = bbox
            if not (south <= lat <= north and west <= lng <= east):
                continue
        out.append({**r, "lat": lat, "lng": lng})
    return out


# -- status strip ----------------------------------------------------------------

def status(store: Store, scope: Scope, now: datetime) -> dict[str, int]:
    """Return the strip's figures: events stored, dead letters, stored in the last minute,
    firing alerts, open cases and overdue cases the scope sees."""
    region, region_params = scope.region_sql("grid_id")
    alerts_where, alert_params = scope.alert_sql("a")
    cases_where, case_params = scope.case_sql("cases")
    row = store.query(
        f"SELECT (SELECT count(*) FROM events WHERE {region}) AS events, "
        "(SELECT count(*) FROM dead_letters) AS dead_letters, "
        f"(SELECT count(*) FROM events WHERE ingested_at >= ? AND {region}) AS last_minute, "
        f"(SELECT count(*) FROM alerts a WHERE state = 'firing' AND {alerts_where}) AS firing, "
        "(SELECT count(*) FROM cases WHERE state IN (SELECT unnest(?::VARCHAR[])) "
        f"AND {cases_where}) AS open_cases, "
        "(SELECT count(*) FROM cases WHERE state IN (SELECT unnest(?::VARCHAR[])) "
        f"AND due_at < ? AND {cases_where}) AS overdue",
        [*region_params, now - timedelta(minutes=1), *region_params, *alert_params,
         list(OPEN_STATES), *case_params, list(CLOCKED), now, *case_params]).to_pylist()[0]
    if not scope.city_wide:  # dead letters have no place; only city-wide staff see them
        row["dead_letters"] = None
    return row


# -- one cell --------------------------------------------------------------------

def cell_detail(store: Store, scope: Scope, cell: int, since: datetime, now: datetime,
                limit: int = 20) -> dict[str, Any]:
    """Return what a cell (any resolution 7-10) holds: statistics per metric over the
    window, its newest events (masked), its alerts and its open cases, its grids."""
    res = h3i.get_resolution(int(cell))
    col = cell_column(res)
    region, region_params = scope.region_sql("grid_id")
    stats = store.query(
        f"SELECT coalesce(metric, 'incident:' || category, topic) AS metric, count(*) AS n, "
        f"avg(coalesce(value, pm25)) AS mean, max(coalesce(value, pm25)) AS max FROM events "
        f"WHERE {col} = ? AND ts >= ? AND ts <= ? AND {region} GROUP BY 1 ORDER BY n DESC",
        [int(cell), since, now, *region_params]).to_pylist()
    events = store.query(
        "SELECT id, topic, ts, source_id, metric, value, pm25, category, source, description, "
        f"address, reporter_name, reporter_phone, grid_id FROM events WHERE {col} = ? AND "
        f"ts <= ? AND {region} ORDER BY ts DESC LIMIT ?",
        [int(cell), now, *region_params, limit]).to_pylist()
    grids = store.query(
        f"SELECT DISTINCT grid_id FROM events WHERE {col} = ? AND grid_id IS NOT NULL "
        f"AND {region}", [int(cell), *region_params]).column("grid_id").to_pylist()
    alerts_where, alert_params = scope.alert_sql("a")
    alerts = [a for a in store.query(
        f"SELECT alert_id, rule_id, state, level, severity, cell, value, threshold, started_at "
        f"FROM alerts a WHERE cell IS NOT NULL AND state <> 'resolved' AND {alerts_where}",
        alert_params).to_pylist() if _same_cell(a["cell"], int(cell), res)]
    cases_where, case_params = scope.case_sql("cases")
    cases = [c for c in store.query(
        "SELECT case_id, state, category, department, grid_id, cell, due_at FROM cases WHERE "
        f"cell IS NOT NULL AND state IN (SELECT unnest(?::VARCHAR[])) AND {cases_where}",
        [list(OPEN_STATES), *case_params]).to_pylist() if _same_cell(c["cell"], int(cell), res)]
    return {"cell": int(cell), "res": res, "stats": stats, "events": masked_rows(scope, events),
            "grids": sorted(grids), "alerts": alerts, "cases": cases}


def _same_cell(other: int, cell: int, res: int) -> bool:
    """Return whether `other` (any resolution) falls in `cell` at `res`."""
    r = h3i.get_resolution(int(other))
    if r == res:
        return int(other) == cell
    if r > res:
        return h3i.cell_to_parent(int(other), res) == cell
    return h3i.cell_to_parent(cell, r) == int(other)
