"""Hand-written station hours for episode tests: four readings an hour per station.

Hour i of a series is [T0 + i h, T0 + (i+1) h); each station reads its value at
minutes 5, 20, 35 and 50 (every quarter hour holds a reading, so the hour is
valid under GB 3095). A noise sensor and a street-vending report speak at the
same minutes, so every input topic moves the event clock, as in a live city.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
EDGE = "SH-M-HP2"  # 黄浦半淞园, 0.3 km from the city's outline (the Huangpu river)
INLAND = "SH-N-JA"  # 静安监测站, 5.6 km from it
SENSOR = "NZ-CN-001"
MINUTES = (5, 20, 35, 50)


def hourly_messages(series: Mapping[str, Sequence[float | None]], first_hour: int = 0,
                    last_hour: int | None = None, pollutant: str = "pm25",
                    tag: str = "", start: datetime = T0,
                    reports: bool = True) -> Iterator[tuple[str, bytes, bytes]]:
    """Yield (topic suffix, key, value) for the hours first_hour..last_hour (inclusive) of
    each station's series (None: the station sends nothing that hour), hour 0 starting at
    `start`; without `reports`, no incident reports."""
    n = max(len(v) for v in series.values())
    last = n - 1 if last_hour is None else last_hour
    for h in range(first_hour, last + 1):
        for q, minute in enumerate(MINUTES):
            ts = (start + timedelta(hours=h, minutes=minute)).isoformat()
            for station, values in series.items():
                if h < len(values) and values[h] is not None:
                    yield "environment", station.encode(), _json(
                        id=f"{tag}e-{station}-{h}-{q}", ts=ts, station_id=station,
                        **{pollutant: values[h]}, wind_dir_deg=100.0 + h, wind_speed_ms=2.0)
            yield "sensor", SENSOR.encode(), _json(
                id=f"{tag}s-{h}-{q}", ts=ts, sensor_id=SENSOR, metric="noise_db", value=50.0)
            if not reports:
                continue
            yield "incident", b"hotline", _json(
                id=f"{tag}i-{h}-{q}", ts=ts, lat=31.23, lng=121.47, category="street_vending",
                source="hotline")


def _json(**fields) -> bytes:
    return json.dumps(fields, ensure_ascii=False).encode()
