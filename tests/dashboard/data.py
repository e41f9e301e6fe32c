"""Material for dashboard tests: events placed on the grid as the engine places them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from onegrid.geo.cells import cells_to_parents, latlng_to_cells
from onegrid.geo.regions import Regions, cells_to_regions


def events_table(regions: Regions, lats: Sequence[float], lngs: Sequence[float],
                 ts: Sequence[datetime], prefix: str = "e") -> pa.Table:
    """Return incident events at these points and times, placed on the grid like the engine."""
    lat, lng = np.asarray(lats, dtype=float), np.asarray(lngs, dtype=float)
    cells = latlng_to_cells(lat, lng)
    parents = cells_to_parents(cells)
    places = cells_to_regions(regions, cells)
    n = len(cells)
    return pa.table({
        "id": [f"{prefix}{i}" for i in range(n)], "topic": ["incident"] * n,
        "ts": pa.array(list(ts), pa.timestamp("us", tz="UTC")), "lat": lat, "lng": lng,
        "cell": cells, "cell_r9": parents[9], "cell_r8": parents[8], "cell_r7": parents[7],
        **{col: pa.array(values.tolist(), pa.string()) for col, values in places.items()},
        "category": ["road_damage"] * n, "source": ["patrol"] * n,
        "severity": pa.array([2] * n, pa.int8()),
        "reporter_name": ["张三"] * n, "reporter_phone": ["13912345678"] * n,
        # The store folds every batch into cell_stats, which reads the measurement columns too.
        "metric": pa.nulls(n, pa.string()), "value": pa.nulls(n, pa.float64()),
        **{col: pa.nulls(n, pa.float64()) for col in ("pm25", "pm10", "no2", "so2", "o3", "co")},
    })


def random_events(regions: Regions, n: int, now: datetime, *, span: timedelta,
                  seed: int = 1, prefix: str = "e") -> pa.Table:
    """Return `n` events spread over the city's bounds and the `span` before `now`."""
    rng = np.random.default_rng(seed)
    west, south, east, north = regions.districts.total_bounds
    # Draw spare points and keep those inside the city, as real reports would be.
    lat, lng = rng.uniform(south, north, 3 * n), rng.uniform(west, east, 3 * n)
    inside = cells_to_regions(regions, latlng_to_cells(lat, lng))["grid_id"] != None  # noqa: E711
    lat, lng = lat[inside][:n], lng[inside][:n]
    offsets = rng.uniform(0, span.total_seconds(), len(lat))
    return events_table(regions, lat, lng,
                        [now - timedelta(seconds=float(s)) for s in offsets], prefix)


def dead_letters(n: int) -> pa.Table:
    """Return `n` rejected messages."""
    return pa.table({"topic": ["onegrid.incident"] * n, "partition": pa.array([0] * n, pa.int32()),
                     "offset": list(range(n)), "error_code": ["missing_field"] * n,
                     "reason": ["missing field: id"] * n, "payload": [b"{}"] * n})
