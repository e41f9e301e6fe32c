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
- SH-M-CN2: the hour ending END - 1 h has readings in two quarters only (invalid);
- SH-M-PT2 (Putuo): PM10 400 µg/m³ for the hours ending END - 33 h .. END - 31 h,
  older than the slider's 24 hours (a replay moves the slider back);
- SH-M-YP1 (Yangpu): PM2.5 120 µg/m³ for the last 3 hours, still going on.

Municipal stations (SH-M-*) measure no SO2 or CO, like the real network. The
`episodes` table holds these exceedance episodes (AQI above 100) as the
engine records them (`EPISODES`); the NO2 hour of SH-N-JA is one, its SO2
hour is not (above 800 µg/m³ SO2 is indexed by its 24-hour mean, under 100).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from onegrid.geo.cells import cells_to_parents, latlng_to_cells
from onegrid.geo.regions import cells_to_regions
from onegrid.geo.registry import PollutionSource
from onegrid.geo.store import Store, insert_events

END = datetime(2026, 6, 2, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai
HOURS = 56
STEP_MIN = 5
HAZE_STATION, NO2_STATION, O3_STATION, GAP_STATION = "SH-M-HP1", "SH-N-JA", "SH-M-XH1", \
    "SH-M-CN2"
OLD_STATION, ONGOING_STATION = "SH-M-PT2", "SH-M-YP1"
POLLUTANTS = ("pm25", "pm10", "so2", "no2", "o3", "co")
WIND_FROM_DEG, WIND_MS = 90.0, 2.0  # every reading: an east wind

# The `episodes` table as the brief of issue 6 gives it (the engine's DDL, once it lands,
# is the same with IF NOT EXISTS, so this stays harmless).
EPISODES_DDL = """
CREATE TABLE IF NOT EXISTS episodes (
    episode_id VARCHAR PRIMARY KEY, scope VARCHAR, key VARCHAR, cell UBIGINT, grid_id VARCHAR,
    district_id VARCHAR, pollutant VARCHAR, start_at TIMESTAMPTZ, peak_at TIMESTAMPTZ,
    peak_aqi DOUBLE, peak_value DOUBLE, end_at TIMESTAMPTZ, hours INTEGER,
    wind_dir_deg DOUBLE, wind_speed_ms DOUBLE, near_edge BOOLEAN, shared_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ
)
"""
# episode id -> (station, primary pollutant, hours before END its first exceeding hour
# starts, its last ends (None: going on), peak AQI, peak concentration); the peak is the
# first exceeding hour (every hour of these episodes reads the same).
EPISODES = {
    "EP-SH-M-HP1-1": (HAZE_STATION, "pm25", 14, 2, 210.0, 160.0),
    "EP-SH-N-JA-1": (NO2_STATION, "no2", 6, 5, 106.0, 260.0),
    "EP-SH-M-XH1-1": (O3_STATION, "o3", 9, 6, 115.0, 230.0),
    "EP-SH-M-PT2-1": (OLD_STATION, "pm10", 34, 31, 272.0, 400.0),
    "EP-SH-M-YP1-1": (ONGOING_STATION, "pm25", 3, None, 158.0, 120.0),
}


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
    if station == OLD_STATION and pollutant == "pm10" and 31 <= before <= 33:
        return 400.0
    if station == ONGOING_STATION and pollutant == "pm25" and before <= 2:
        return 120.0
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
        "wind_dir_deg": [WIND_FROM_DEG] * n, "wind_speed_ms": [WIND_MS] * n,
        # The store folds every batch into cell_stats, which reads these columns too.
        "metric": pa.nulls(n, pa.string()), "value": pa.nulls(n, pa.float64()),
        "category": pa.nulls(n, pa.string()), "severity": pa.nulls(n, pa.int8()),
    })


def episode_rows(registry, regions) -> pa.Table:
    """Return the `episodes` rows of EPISODES, each at its station's cell and grid."""
    rows = [(eid, *spec) for eid, spec in EPISODES.items()]
    stations = [registry.stations[r[1]] for r in rows]
    cells = latlng_to_cells(np.array([s.lat for s in stations]),
                            np.array([s.lng for s in stations]))
    places = cells_to_regions(regions, cells)
    at = pa.timestamp("us", tz="UTC")
    return pa.table({
        "episode_id": [r[0] for r in rows], "scope": ["station"] * len(rows),
        "key": [r[1] for r in rows], "cell": pa.array(cells, pa.uint64()),
        "grid_id": places["grid_id"].tolist(), "district_id": places["district_id"].tolist(),
        "pollutant": [r[2] for r in rows],
        "start_at": pa.array([hour_end(r[3]) for r in rows], at),
        "peak_at": pa.array([hour_end(r[3] - 1) for r in rows], at),
        "peak_aqi": [r[5] for r in rows], "peak_value": [r[6] for r in rows],
        "end_at": pa.array([None if r[4] is None else hour_end(r[4]) for r in rows], at),
        "hours": pa.array([r[3] - (r[4] or 0) for r in rows], pa.int32()),
        "wind_dir_deg": [WIND_FROM_DEG] * len(rows), "wind_speed_ms": [WIND_MS] * len(rows),
        "near_edge": [False] * len(rows), "shared_at": pa.nulls(len(rows), at),
        "updated_at": pa.array([END] * len(rows), at),
    })


def write_episodes(cur, table: pa.Table) -> None:
    """Create the `episodes` table (if the store's DDL has not) and insert `table`."""
    cur.execute(EPISODES_DDL)
    cur.register("episode_batch", table)
    try:
        cur.execute("INSERT INTO episodes BY NAME SELECT * FROM episode_batch")
    finally:
        cur.unregister("episode_batch")


def air_store(path: Path, registry, regions) -> Path:
    """Write the readings and their episodes to a new store file at `path`; return it."""
    with Store(path, threads=1) as store:
        table = station_readings(registry, regions)
        store.write(lambda cur: insert_events(cur, table))
        episodes = episode_rows(registry, regions)
        store.write(lambda cur: write_episodes(cur, episodes))
    return path


def air_context(ctx, store: Store):
    """Return `ctx` reading `store`, its clock at END."""
    return dataclasses.replace(ctx, store=store, clock=lambda: END, _scopes={})


# -- pollution sources ------------------------------------------------------------------

# Demo sources around the episodes' stations (wind from the east): one just upwind of the
# Huangpu haze station, one south of it (off the wind), one in Jing'an (outside Huangpu)
# and one upwind of the ongoing Yangpu episode.
SOURCES = (
    PollutionSource("PS-HP-01", "外滩印刷厂（演示）", "Bund Printing Works (demo)", "print",
                    31.2375, 121.4905, "HP", {"pm25": 5.0, "no2": 12.0}),
    PollutionSource("PS-HP-02", "半淞园路工地（演示）", "Bansongyuan Road site (demo)",
                    "construction", 31.2080, 121.4860, "HP", {"pm10": 8.0}),
    PollutionSource("PS-JA-01", "静安堆场（演示）", "Jing'an yard (demo)", "site", 31.2300,
                    121.4350, "JA", {}),
    PollutionSource("PS-YP-01", "五角场锅炉房（演示）", "Wujiaochang boiler house (demo)",
                    "boiler", 31.3000, 121.5200, "YP", {"so2": 20.0, "pm25": 3.0}),
)
UPWIND_OF_HAZE = "PS-HP-01"


def with_sources(ctx, sources=SOURCES):
    """Return `ctx` whose register holds `sources` instead of the demo city's."""
    registry = dataclasses.replace(ctx.registry, sources={s.source_id: s for s in sources})
    directory = dataclasses.replace(ctx.directory, registry=registry)
    return dataclasses.replace(ctx, directory=directory, _scopes={})
