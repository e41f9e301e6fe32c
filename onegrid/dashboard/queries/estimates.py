"""Estimated cells of the environment page: the res-8 cells of an actor's region that hold
no station the actor sees, with values estimated between the stations.

Estimates are made from concentrations, not from indices: each pollutant's
window value (and what its index also reads, e.g. SO2's 24-hour mean) is
interpolated by `geo.interpolation.idw` from the stations' values at the
cell's centre, then indexed by HJ 633 like any cell's means, so an estimated
AQI and its primary pollutant agree. Measured cells (a station's res-8 cell)
are never estimated: they keep their stations' mean, valid or not. Only the
stations the actor sees feed the estimates, and only cells of their region
are estimated (every read is scoped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import numpy as np
from h3.api import basic_int as h3i

from onegrid.dashboard.access import Scope
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries.environment import MAP_RES, StationPlace
from onegrid.geo.cells import cells_to_parent
from onegrid.geo.interpolation import MAX_KM, MIN_SOURCES, POWER, idw
from onegrid.geo.regions import Regions

METHOD: Final = {"method": "idw", "power": POWER, "max_km": MAX_KM,
                 "min_stations": MIN_SOURCES}


@dataclass(frozen=True)
class Targets:
    """Cells to estimate (sorted H3 res-8 integers) and their centres (degrees)."""

    cells: np.ndarray
    lat: np.ndarray
    lng: np.ndarray


@dataclass(frozen=True)
class Estimated:
    """The estimated cells and their layer: one row per cell, `stations` how many
    stations each cell-step's AQI inputs were estimated from (the most over pollutants;
    0: no estimate)."""

    cells: np.ndarray
    layer: windows.Layer
    stations: np.ndarray


def region_cells(regions: Regions, scope: Scope) -> Targets:
    """Return the res-8 cells holding any res-10 cell of the actor's region, with centres."""
    return _region_cells(regions, None if scope.city_wide else scope.region_id)


@lru_cache(maxsize=64)
def _region_cells(regions: Regions, region_id: str | None) -> Targets:
    """Once per city and region (None: the city): a mask over the city's res-10 cells (a
    cell is in a region when any of its region ids is it, as `Scope` decides), then
    their parents."""
    if region_id is None:
        inside = regions.cells
    else:
        mask = np.zeros(len(regions.cells), dtype=bool)
        for column in ("grid_id", "community_id", "street_id", "district_id"):
            mask |= regions.cell_ids[column] == region_id
        inside = regions.cells[mask]
    cells = np.unique(cells_to_parent(inside, MAP_RES)) if len(inside) else np.zeros(
        0, np.uint64)
    centres = np.array([h3i.cell_to_latlng(int(c)) for c in cells.tolist()]).reshape(-1, 2)
    return Targets(cells, centres[:, 0], centres[:, 1])


def targets(regions: Regions, scope: Scope, stations: Sequence[StationPlace]) -> Targets:
    """Return the region's cells without a station the actor sees: those to estimate."""
    every = region_cells(regions, scope)
    measured = np.asarray([s.cell_r8 for s in stations], dtype=np.uint64)
    keep = ~np.isin(every.cells, measured)
    return Targets(every.cells[keep], every.lat[keep], every.lng[keep])


def estimate(layer: windows.Layer, stations: Sequence[StationPlace], where: Targets) -> Estimated:
    """Return the estimated layer at `where` from the stations' layer (rows in `stations`
    order): every statistic interpolated, then indexed."""
    lat = np.array([s.lat for s in stations], dtype=float)
    lng = np.array([s.lng for s in stations], dtype=float)
    stats, used = {}, np.zeros((len(where.cells), len(layer.hours)), dtype=int)
    for name, values in windows.statistics_of(layer).items():
        found = idw(where.lat, where.lng, lat, lng, values)
        stats[name] = found.values
        used = np.maximum(used, found.sources)
    return Estimated(where.cells, windows.indexed(layer.window, layer.hours, stats), used)
