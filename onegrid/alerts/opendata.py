"""Daily per-cell open data (开放数据): a day's aggregates per res-8 cell, de-identified.

From the store's per-cell counts and means and the stations' hours, one row
per res-8 cell that had any event that day: events per topic, incident
reports (also per category, in a second table), each pollutant's mean and
largest valid 1-hour mean and the AQI (HJ 633 hourly and daily, over the
cell's stations' valid 1-hour means, averaged first as HJ 633 averages an
area's stations), and each sensor metric's mean. docs/opendata.md is the
data dictionary; a test keeps the columns and the dictionary in step.

De-identified: only counts and means leave, with the cell's centre, never a
report's place, id, reporter or text. Small counts are withheld so that no
single report can be traced: a cell's report count under k is left empty (0
too, so a withheld count cannot be told from none), a cell with nothing else
to publish is left out (as a cell with no events is), every category count
under k is withheld, and where the withheld categories of a cell would add up
to 1..k-1 (its published total minus its published categories) the smallest
published category is withheld too. Reading the store and writing files are
the caller's. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import numpy as np
import pandas as pd
import pyarrow as pa
from h3.api import basic_int as h3i

from onegrid.alerts import aqi
from onegrid.alerts.station_hours import StationHours, hourly_aqi
from onegrid.geo.cells import cells_to_latlng, cells_to_parent

SUPPRESS_K: Final = 3  # counts below this (and above 0) are withheld
OPEN_RES: Final = 8
COUNT_COLUMNS: Final = ("sensor_readings", "station_readings", "reports")
POLLUTANT_COLUMNS: Final = tuple(f"{p}_{s}" for p in aqi.POLLUTANTS for s in ("mean", "max"))
AQI_COLUMNS: Final = ("valid_hours", "aqi_mean", "aqi_max", "aqi_day", "primary_pollutants_day")
CATEGORY_COLUMNS: Final = ("date", "cell", "category", "reports")


def cell_columns(metrics: Sequence[str]) -> tuple[str, ...]:
    """Return the cells table's columns, in order, for a city with these sensor metrics."""
    return ("date", "cell", "lat", "lng", "district_id", *COUNT_COLUMNS, *POLLUTANT_COLUMNS,
            *AQI_COLUMNS, *(f"{m}_mean" for m in metrics))


@dataclass(frozen=True)
class DailyCells:
    """A day's open data: `cells` (cell_columns) and the published `categories`
    (CATEGORY_COLUMNS); `cell_ids` holds each cells row's H3 integer (for geometry)."""

    day: date
    k: int
    cells: pd.DataFrame
    categories: pd.DataFrame
    cell_ids: np.ndarray


def daily_cells(day: date, counts: pa.Table, categories: pa.Table, sensors: pa.Table,
                hours: StationHours, station_cells: Mapping[str, int], metrics: Sequence[str],
                lookback: int, k: int = SUPPRESS_K) -> DailyCells:
    """Return the day's open data.

    `counts`, `categories`, `sensors` are `geo.daily_cells`' tables; `hours` the
    stations' hours, whose first `lookback` columns precede the day (they feed
    SO2's 24-hour mean only); `station_cells` each station's res-10 cell.
    """
    if k < 1:
        raise ValueError(f"k must be 1 or more, got {k}")
    cells = counts.to_pandas().rename(columns={"cell_r8": "cell_id"})
    air = air_by_cell(hours, station_cells, lookback)
    means = _metric_means(sensors, metrics)
    # Left joins: a cell is published for the day only if it had an event that day.
    cells = cells.merge(air, on="cell_id", how="left").merge(means, on="cell_id", how="left")
    cells = _rounded(cells, metrics)
    for c in ("sensor_readings", "station_readings", "reports"):
        cells[c] = cells[c].fillna(0).astype("int64")
    cells["valid_hours"] = cells["valid_hours"].astype("Int64")  # NA: no station
    cats = categories.to_pandas().rename(columns={"cell_r8": "cell_id"})
    cells, cats = suppress(cells, cats, k)
    ids = cells["cell_id"].to_numpy(dtype=np.uint64)
    lat, lng = cells_to_latlng(ids)
    cells = cells.assign(date=day.isoformat(), cell=[h3i.int_to_str(int(c)) for c in ids],
                         lat=np.round(lat, 6), lng=np.round(lng, 6))
    cats = cats.assign(date=day.isoformat(),
                       cell=[h3i.int_to_str(int(c)) for c in cats["cell_id"]])
    order = np.argsort(cells["cell"].to_numpy(), kind="stable")
    out = cells.iloc[order].reset_index(drop=True)
    return DailyCells(day, k, out.reindex(columns=list(cell_columns(metrics))),
                      cats.sort_values(["cell", "category"]).reindex(
                          columns=list(CATEGORY_COLUMNS)).reset_index(drop=True),
                      ids[order])


def suppress(cells: pd.DataFrame, cats: pd.DataFrame, k: int
             ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the cells that may be published, report counts under k emptied, and the
    category counts that may be published (see the module's rule)."""
    published = cells["reports"] >= k
    keep = published | (cells["sensor_readings"] > 0) | (cells["station_readings"] > 0)
    cells = cells.assign(reports=cells["reports"].astype("Int64").where(published))[keep]
    cats = cats.sort_values(["cell_id", "reports", "category"]).reset_index(drop=True)
    withheld = (cats["reports"] < k) | ~cats["cell_id"].isin(cells["cell_id"][published[keep]])
    residual = cats["reports"].where(withheld, 0).groupby(cats["cell_id"]).sum()
    exposed = residual[(residual > 0) & (residual < k)].index
    # The smallest published category of such a cell: withheld too, so the rest is >= k.
    candidates = cats[~withheld & cats["cell_id"].isin(exposed)]
    withheld[candidates.groupby("cell_id").head(1).index] = True
    return cells.reset_index(drop=True), cats[~withheld].reset_index(drop=True)


def air_by_cell(hours: StationHours, station_cells: Mapping[str, int],
                lookback: int) -> pd.DataFrame:
    """Return per res-8 cell with a station: each pollutant's day mean and largest valid
    1-hour mean, the hourly AQI's mean and largest, its valid hours, and the daily AQI
    (日报) with its primary pollutants, over the cell's hourly means of its stations."""
    known = [i for i, s in enumerate(hours.station_ids) if s in station_cells]
    if not known:
        return pd.DataFrame({"cell_id": pd.Series(dtype="uint64"),
                             **{c: pd.Series(dtype=float) for c in (*POLLUTANT_COLUMNS,
                                                                    *AQI_COLUMNS)}})
    r8 = cells_to_parent(np.array([station_cells[hours.station_ids[i]] for i in known],
                                  dtype=np.uint64), OPEN_RES)
    cells, member = np.unique(r8, return_inverse=True)
    onehot = np.zeros((len(cells), len(known)))
    onehot[member, np.arange(len(known))] = 1.0
    values = {p: _group_mean(onehot, v[known]) for p, v in hours.values.items()}
    nan = np.full((len(cells), len(hours.ends)), np.nan)
    index, _ = hourly_aqi(StationHours(tuple(map(str, cells)), hours.ends, values, nan, nan))
    day = {p: v[:, lookback:] for p, v in values.items()}
    out = {"cell_id": cells}
    for p in aqi.POLLUTANTS:
        out[f"{p}_mean"], out[f"{p}_max"] = _nanmean(day[p]), _nanmax(day[p])
    hourly = index[:, lookback:]
    out.update(valid_hours=(~np.isnan(hourly)).sum(axis=1), aqi_mean=_nanmean(hourly),
               aqi_max=_nanmax(hourly))
    daily = {p: aqi.mean_24h(day[p])[:, -1] for p in aqi.POLLUTANTS if p != "o3"}
    daily.update(o3_8h=aqi.max_8h_of_day(day["o3"])[:, -1],
                 o3_1h=aqi.max_1h_of_day(day["o3"])[:, -1])
    out["aqi_day"], primary = aqi.daily_aqi(daily)
    out["primary_pollutants_day"] = [";".join(p) or None for p in primary]
    return pd.DataFrame(out)


def _metric_means(sensors: pa.Table, metrics: Sequence[str]) -> pd.DataFrame:
    """Return cell_id and `<metric>_mean` for every metric of the city (NaN: none there)."""
    frame = sensors.to_pandas()
    wide = pd.DataFrame(index=pd.Index(frame["cell_r8"].unique(), name="cell_id"))
    for m in metrics:
        mine = frame[frame["metric"] == m].set_index("cell_r8")["mean"]
        wide[f"{m}_mean"] = mine.reindex(wide.index)
    return wide.reset_index()


# column -> decimals kept (a mean of readings to one more place than a reading)
_DECIMALS: Final = {**{c: 3 if c.startswith("co_") else 1 for c in POLLUTANT_COLUMNS},
                    "aqi_mean": 1}


def _rounded(cells: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    decimals = {**_DECIMALS, **{f"{m}_mean": 3 for m in metrics}}
    return cells.round({c: d for c, d in decimals.items() if c in cells.columns})


def _group_mean(onehot: np.ndarray, values: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(values)
    total = onehot @ np.where(valid, values, 0.0)
    count = onehot @ valid.astype(float)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _nanmean(x: np.ndarray) -> np.ndarray:
    n = (~np.isnan(x)).sum(axis=1)
    return np.where(n > 0, np.nansum(x, axis=1) / np.maximum(n, 1), np.nan)


def _nanmax(x: np.ndarray) -> np.ndarray:
    empty = np.isnan(x).all(axis=1)
    return np.where(empty, np.nan, np.where(np.isnan(x), -np.inf, x).max(axis=1))
