"""Material for the environment page's tests: two and a half days of station readings with
known episodes, placed on the grid as the engine places them, and a context over them.

The demo day holds three hours, too few for an 8-hour or 24-hour mean; this
holds `HOURS` hours up to `END` for every registered station, a reading
every 5 minutes, with a diurnal swing and these episodes (hour ends, UTC):

- SH-M-HP1 (Huangpu): PM2.5 and PM10 haze, PM2.5 160 µg/m³ for the 12 hours
  ending at END - 2 h, so its 24-hour mean goes above 75 in the last hours;
- SH-N-JA (Jing'an national station): NO2 260 µg/m³ for the hour ending END - 5 h
  and SO2 900 µg/m³ for the hour ending END - 3 h (above 800: the 24-hour rule);
- SH-M-XH1: O3 230 µg/m³ for the afternoon hours ending END - 8 h .. END - 6 h;
- SH-M-CN2: the hour ending END - 1 h has readings in two quarters only (invalid).

Municipal stations (SH-M-*) measure no SO2 or CO, like the real network.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from onegrid.geo.cells import cells_to_parents, latlng_to_cells
from onegrid.geo.regions import cells_to_regions
from onegrid.geo.store import Store, insert_events

END = datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
HOURS = 56
STEP_MIN = 5
HAZE_STATION, NO2_STATION, O3_STATION, GAP_STATION = "SH-M-HP1", "SH-N-JA", "SH-M-XH1", \
    "SH-M-CN2"
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")


def hour_end(hours_before_end: int) -> datetime:
    """Return the hour end `hours_before_end` hours before END."""
    return END - timedelta(hours=hours_before_end)


def _level(station: str, pollutant: str, t: datetime) -> float | None:
    """Return the concentration a station reads at `t` (None: not measured)."""
    municipal = station.startswith("SH-M-")
    if municipal and pollutant in ("so2", "co"):
        return None
    local = (t.hour + 8) % 24 + t.minute / 60
    swing = np.sin((local - 9) / 24 * 2 * np.pi)  # highest mid-afternoon
    k = 0.8 + (sum(map(ord, station)) % 9) / 10  # each station its own level
    base = k * {"pm25": 30 + 8 * swing, "pm10": 55 + 12 * swing, "so2": 8 + 2 * swing,
                "no2": 35 - 10 * swing, "o3": 70 + 40 * swing,
                "co": 0.7 + 0.1 * swing}[pollutant]
    end = t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    before = round((END - end).total_seconds() / 3600)
    if station == HAZE_STATION and 2 <= before < 14 and pollutant in ("pm25", "pm10"):
        return 160.0 if pollutant == "pm25" else 260.0
    if station == NO2_STATION and pollutant == "no2" and before == 5:
        return 260.0
    if station == NO2_STATION and pollutant == "so2" and before == 3:
        return 900.0
    if station == O3_STATION and pollutant == "o3" and 6 <= before <= 8:
        return 230.0
    return round(float(base), 2 if pollutant == "co" else 1)


def station_readings(registry, regions) -> pa.Table:
    """Return the `environment` events of every station over the HOURS before END."""
    start = END - timedelta(hours=HOURS)
    times = [start + timedelta(minutes=m + 2) for m in range(0, HOURS * 60, STEP_MIN)]
    rows: dict[str, list] = {k: [] for k in ("id", "ts", "source_id", "lat", "lng",
                                              *POLLUTANTS)}
    for station in registry.stations.values():
        for t in times:
            if station.station_id == GAP_STATION and t > hour_end(2) and t < hour_end(1) \
                    and t.minute >= 30:
                continue  # half an hour without readings: the hour is invalid
            rows["id"].append(f"air-{station.station_id}-{t:%Y%m%d%H%M}")
            rows["ts"].append(t)
            rows["source_id"].append(station.station_id)
            rows["lat"].append(station.lat)
            rows["lng"].append(station.lng)
            for p in POLLUTANTS:
                rows[p].append(_level(station.station_id, p, t))
    lat, lng = np.asarray(rows["lat"]), np.asarray(rows["lng"])
    cells = latlng_to_cells(lat, lng)
    parents = cells_to_parents(cells)
    places = cells_to_regions(regions, cells)
    n = len(cells)
    return pa.table({
        "id": rows["id"], "topic": ["environment"] * n,
        "ts": pa.array(rows["ts"], pa.timestamp("us", tz="UTC")), "lat": lat, "lng": lng,
        "located_by": ["registry"] * n, "cell": cells, "cell_r9": parents[9],
        "cell_r8": parents[8], "cell_r7": parents[7],
        **{col: pa.array(values.tolist(), pa.string()) for col, values in places.items()},
        "source_id": rows["source_id"],
        **{p: pa.array(rows[p], pa.float64()) for p in POLLUTANTS},
        "wind_dir_deg": [90.0] * n, "wind_speed_ms": [2.0] * n,
        # The store folds every batch into cell_stats, which reads these columns too.
        "metric": pa.nulls(n, pa.string()), "value": pa.nulls(n, pa.float64()),
        "category": pa.nulls(n, pa.string()), "severity": pa.nulls(n, pa.int8()),
    })


def air_store(path: Path, registry, regions) -> Path:
    """Write the readings to a new store file at `path`; return the path."""
    with Store(path, threads=1) as store:
        table = station_readings(registry, regions)
        store.write(lambda cur: insert_events(cur, table))
    return path


def air_context(ctx, store: Store):
    """Return `ctx` reading `store`, its clock at END."""
    return dataclasses.replace(ctx, store=store, clock=lambda: END, _scopes={})
