"""A tiny city in the registry's file formats, for tests that must not depend on the demo city.

`make_tiny_city(path)` writes city.toml and the CSV registers into `path` and
returns it; `load_registry(path)` reads it. The city is small on purpose (40
sensors, 5 stations, 3 hotspots) so the simulator's tests run in seconds.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

CENTER = (31.23, 121.47)  # lat, lng

_METRICS = [
    ("noise_db", "dB(A)", "噪声", "Noise", 20, 130),
    ("water_level_m", "m", "水位", "Water level", -1, 8),
    ("manhole_tilt_deg", "deg", "井盖倾角", "Manhole tilt", 0, 90),
    ("smoke", "state", "烟感", "Smoke (0/1)", 0, 1),
    ("traffic_flow", "veh/min", "车流量", "Traffic flow", 0, 300),
    ("soil_moisture_pct", "%", "土壤湿度", "Soil moisture", 0, 100),
]

_CATEGORIES = [
    ("C0101", "占道经营", "Street vending", "chengguan", "", 2, "standard", "city"),
    ("C0102", "乱堆物料", "Dumped materials", "chengguan", "sanitation", 2, "standard", "city"),
    ("C0201", "垃圾满溢", "Overflowing bins", "sanitation", "", 2, "fast", "sanitation"),
    ("C0301", "井盖缺失", "Missing manhole cover", "water", "chengguan", 4, "urgent", "facility"),
    ("C0401", "噪声扰民", "Noise nuisance", "ecology", "police", 2, "standard", "environment"),
    ("C0501", "道路积水", "Flooded road", "water", "", 3, "fast", "facility"),
]

_HOTSPOTS = [
    ("H1", "南京路步行街", "Nanjing Road", 31.2355, 121.4800, "C0101 C0201", 3.0),
    ("H2", "老西门菜场", "Laoximen market", 31.2180, 121.4660, "C0101 C0102 C0201", 2.0),
    ("H3", "曹杨新村", "Caoyang estate", 31.2450, 121.4450, "C0301 C0401 C0501", 1.0),
]


def _write(path: Path, header: list[str], rows: list) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _sensor_rows() -> list[tuple]:
    rng = np.random.default_rng(7)
    rows = []
    for i in range(40):
        metric = _METRICS[i % len(_METRICS)][0]
        lat = CENTER[0] + rng.uniform(-0.05, 0.05)
        lng = CENTER[1] + rng.uniform(-0.06, 0.06)
        rows.append((f"S{i:04d}", metric, f"{lat:.6f}", f"{lng:.6f}", "D-ECO"))
    return rows


def make_tiny_city(path: Path) -> Path:
    """Write a tiny but complete city folder into `path` and return `path`."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / "city.toml").write_text(
        'name_zh = "小城"\nname_en = "Tiny City"\ntimezone = "Asia/Shanghai"\n'
        f"center = [{CENTER[0]}, {CENTER[1]}]\n", encoding="utf-8")
    _write(path / "metrics.csv",
           ["metric", "unit", "name_zh", "name_en", "min_plausible", "max_plausible"], _METRICS)
    _write(path / "sensors.csv", ["sensor_id", "metric", "lat", "lng", "dept_id"], _sensor_rows())
    _write(path / "stations.csv", ["station_id", "name_zh", "name_en", "lat", "lng", "level"], [
        ("A01", "人民广场", "People's Square", 31.2304, 121.4737, "national"),
        ("A02", "徐家汇", "Xujiahui", 31.1950, 121.4370, "national"),
        ("A03", "杨浦", "Yangpu", 31.2650, 121.5260, "city"),
        ("A04", "普陀", "Putuo", 31.2500, 121.4000, "city"),
        ("A05", "浦东", "Pudong", 31.2200, 121.5400, "district"),
    ])
    _write(path / "departments.csv", ["dept_id", "kind", "name_zh", "name_en", "district_id"], [
        ("D-CG", "chengguan", "城管局", "Urban management", ""),
        ("D-SAN", "sanitation", "绿化市容局", "Sanitation", ""),
        ("D-WAT", "water", "水务局", "Water", ""),
        ("D-ECO", "ecology", "生态环境局", "Ecology", ""),
        ("D-POL", "police", "公安局", "Police", ""),
    ])
    _write(path / "time_limits.csv", ["class", "name_zh", "name_en", "hours"], [
        ("urgent", "紧急", "Urgent", 2), ("fast", "快速", "Fast", 24),
        ("standard", "一般", "Standard", 72),
    ])
    _write(path / "categories.csv", ["code", "name_zh", "name_en", "lead_kind", "assist_kinds",
                                     "default_severity", "time_limit_class", "group"], _CATEGORIES)
    _write(path / "hotspots.csv",
           ["hotspot_id", "name_zh", "name_en", "lat", "lng", "categories", "weight"], _HOTSPOTS)
    _write(path / "remits.csv", ["dept_id", "category_code", "region_id"], [
        ("D-CG", "C0101", "*"), ("D-SAN", "C0201", "*"), ("D-WAT", "C0301", "*"),
    ])
    return path
