"""The city's reference registers: metrics, sensors, stations, categories, departments,
pollution sources.

A city lives in one folder (the demo city ships in `onegrid/data/city/`). This
module reads its CSV registers into frozen records and lookup tables; it knows
nothing of boundaries (see `regions`) or of events (see `streams.validate`).
Every loader names the file and line of a bad row.
"""

from __future__ import annotations

import csv
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

DEMO_CITY_DIR: Final = Path(__file__).resolve().parent.parent / "data" / "city"


class RegistryError(ValueError):
    """A register file is missing or has a bad row; the message names file and line."""


@dataclass(frozen=True)
class Metric:
    """A sensor metric: its unit and the range a working device can report."""

    metric: str
    unit: str
    name_zh: str
    name_en: str
    min_plausible: float
    max_plausible: float


@dataclass(frozen=True)
class Sensor:
    """A registered IoT device at a fixed place."""

    sensor_id: str
    metric: str
    lat: float
    lng: float
    dept_id: str


@dataclass(frozen=True)
class Station:
    """A registered air-quality monitoring station."""

    station_id: str
    name_zh: str
    name_en: str
    lat: float
    lng: float
    level: str


@dataclass(frozen=True)
class Category:
    """An incident category (事项编码) with its routing and time-limit class."""

    code: str
    name_zh: str
    name_en: str
    lead_kind: str
    assist_kinds: tuple[str, ...]
    default_severity: int
    time_limit_class: str
    group: str


@dataclass(frozen=True)
class Department:
    """A department (职能部门); `district_id` is empty for a city-level bureau."""

    dept_id: str
    kind: str
    name_zh: str
    name_en: str
    district_id: str


@dataclass(frozen=True)
class Hotspot:
    """A real place where incident reports cluster (used by the simulator)."""

    hotspot_id: str
    name_zh: str
    name_en: str
    lat: float
    lng: float
    categories: tuple[str, ...]
    weight: float


# Pollution-source category -> (name_zh, name_en); a register naming another is refused,
# so a typo cannot hide a source from the map's legend and the upwind ranking.
SOURCE_CATEGORIES: Final[dict[str, tuple[str, str]]] = {
    "enterprise": ("工业企业", "industrial enterprise"),
    "boiler": ("锅炉房", "boiler house"),
    "print": ("印刷厂", "print works"),
    "paint": ("汽修喷涂", "body shop paint booth"),
    "concrete": ("混凝土搅拌站", "concrete batching plant"),
    "site": ("堆场 / 码头", "bulk yard / wharf"),
    "construction": ("建筑工地", "building site"),
    "catering": ("餐饮油烟", "catering fumes"),
}
SOURCES_FILE: Final = "pollution_sources.csv"
_PERMIT_COLUMN: Final = re.compile(r"permit_([a-z0-9]+)_t")  # permit_<pollutant>_t, t/year


@dataclass(frozen=True)
class PollutionSource:
    """A registered pollution source (污染源) and its permitted emissions (排污许可).

    `permits` maps a pollutant (`pm25`, `pm10`, `so2`, `no2`, `vocs`, ...) to
    tonnes a year; a pollutant without a permit is absent, not 0.
    """

    source_id: str
    name_zh: str
    name_en: str
    category: str
    lat: float
    lng: float
    district_id: str
    permits: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """Everything a city folder registers, keyed by id."""

    folder: Path
    name_zh: str
    name_en: str
    timezone: str
    center: tuple[float, float]
    metrics: dict[str, Metric]
    sensors: dict[str, Sensor]
    stations: dict[str, Station]
    categories: dict[str, Category]
    departments: dict[str, Department]
    hotspots: dict[str, Hotspot]
    time_limits_h: dict[str, float]
    remits: tuple[tuple[str, str, str], ...] = field(default=())
    city_id: str = ""  # city.toml's `id` (the folder's name without one): who shares episodes
    sources: dict[str, PollutionSource] = field(default_factory=dict)


def csv_rows(path: Path, required: tuple[str, ...], error: type[ValueError] = RegistryError
             ) -> list[tuple[int, dict[str, str]]]:
    """Return (line number, row) pairs of a CSV file, checking its header.

    A missing file or column raises `error` (the caller's own kind of
    ValueError) naming the file and line.
    """
    if not path.is_file():
        raise error(f"{path}: file not found")
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise error(f"{path}:1: missing column(s) {', '.join(missing)}")
        return [(reader.line_num, row) for row in reader]


def _num(path: Path, line: int, row: dict[str, str], col: str) -> float:
    try:
        value = float(row[col])
    except (TypeError, ValueError):
        raise RegistryError(
            f"{path}:{line}: column {col!r} is not a number: {row[col]!r}") from None
    if not math.isfinite(value):
        raise RegistryError(f"{path}:{line}: column {col!r} must be finite")
    return value


def _latlng(path: Path, line: int, row: dict[str, str]) -> tuple[float, float]:
    lat, lng = _num(path, line, row, "lat"), _num(path, line, row, "lng")
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise RegistryError(f"{path}:{line}: lat/lng out of range: {lat}, {lng}")
    return lat, lng


def _unique(path: Path, items: list[tuple[int, str]]) -> None:
    seen: dict[str, int] = {}
    for line, key in items:
        if key in seen:
            raise RegistryError(f"{path}:{line}: duplicate id {key!r} (first on line {seen[key]})")
        seen[key] = line


def _load_metrics(folder: Path) -> dict[str, Metric]:
    path = folder / "metrics.csv"
    rows = csv_rows(path, ("metric", "unit", "name_zh", "name_en", "min_plausible",
                           "max_plausible"))
    _unique(path, [(n, r["metric"]) for n, r in rows])
    return {
        r["metric"]: Metric(
            r["metric"], r["unit"], r["name_zh"], r["name_en"],
            _num(path, n, r, "min_plausible"), _num(path, n, r, "max_plausible"),
        )
        for n, r in rows
    }


def _load_sensors(folder: Path, metrics: dict[str, Metric]) -> dict[str, Sensor]:
    path = folder / "sensors.csv"
    rows = csv_rows(path, ("sensor_id", "metric", "lat", "lng", "dept_id"))
    _unique(path, [(n, r["sensor_id"]) for n, r in rows])
    out = {}
    for n, r in rows:
        if r["metric"] not in metrics:
            raise RegistryError(f"{path}:{n}: unknown metric {r['metric']!r} (not in metrics.csv)")
        lat, lng = _latlng(path, n, r)
        out[r["sensor_id"]] = Sensor(r["sensor_id"], r["metric"], lat, lng, r["dept_id"])
    return out


def _load_stations(folder: Path) -> dict[str, Station]:
    path = folder / "stations.csv"
    rows = csv_rows(path, ("station_id", "name_zh", "name_en", "lat", "lng", "level"))
    _unique(path, [(n, r["station_id"]) for n, r in rows])
    return {
        r["station_id"]: Station(
            r["station_id"], r["name_zh"], r["name_en"], *_latlng(path, n, r), r["level"]
        )
        for n, r in rows
    }


def _load_departments(folder: Path) -> dict[str, Department]:
    path = folder / "departments.csv"
    rows = csv_rows(path, ("dept_id", "kind", "name_zh", "name_en", "district_id"))
    _unique(path, [(n, r["dept_id"]) for n, r in rows])
    return {
        r["dept_id"]: Department(
            r["dept_id"], r["kind"], r["name_zh"], r["name_en"], r["district_id"] or ""
        )
        for _, r in rows
    }


def _load_categories(
    folder: Path, kinds: set[str], limits: dict[str, float]
) -> dict[str, Category]:
    path = folder / "categories.csv"
    cols = ("code", "name_zh", "name_en", "lead_kind", "assist_kinds", "default_severity",
            "time_limit_class", "group")
    rows = csv_rows(path, cols)
    _unique(path, [(n, r["code"]) for n, r in rows])
    out = {}
    for n, r in rows:
        assist = tuple(k for k in (r["assist_kinds"] or "").split() if k)
        for kind in (r["lead_kind"], *assist):
            if kind not in kinds:
                raise RegistryError(f"{path}:{n}: unknown department kind {kind!r}")
        if r["time_limit_class"] not in limits:
            raise RegistryError(f"{path}:{n}: unknown time_limit_class {r['time_limit_class']!r}")
        severity = int(_num(path, n, r, "default_severity"))
        if not 1 <= severity <= 4:
            raise RegistryError(f"{path}:{n}: default_severity must be 1-4, got {severity}")
        out[r["code"]] = Category(
            r["code"], r["name_zh"], r["name_en"], r["lead_kind"], assist, severity,
            r["time_limit_class"], r["group"],
        )
    return out


def _load_time_limits(folder: Path) -> dict[str, float]:
    path = folder / "time_limits.csv"
    rows = csv_rows(path, ("class", "name_zh", "name_en", "hours"))
    _unique(path, [(n, r["class"]) for n, r in rows])
    return {r["class"]: _num(path, n, r, "hours") for n, r in rows}


def _load_hotspots(folder: Path, categories: dict[str, Category]) -> dict[str, Hotspot]:
    path = folder / "hotspots.csv"
    rows = csv_rows(path, ("hotspot_id", "name_zh", "name_en", "lat", "lng", "categories",
                           "weight"))
    _unique(path, [(n, r["hotspot_id"]) for n, r in rows])
    out = {}
    for n, r in rows:
        cats = tuple(r["categories"].split())
        unknown = [c for c in cats if c not in categories]
        if unknown:
            raise RegistryError(f"{path}:{n}: unknown category {unknown[0]!r}")
        out[r["hotspot_id"]] = Hotspot(
            r["hotspot_id"], r["name_zh"], r["name_en"], *_latlng(path, n, r), cats,
            _num(path, n, r, "weight"),
        )
    return out


def _load_remits(folder: Path, departments: dict[str, Department],
                 categories: dict[str, Category]) -> tuple[tuple[str, str, str], ...]:
    path = folder / "remits.csv"
    rows = csv_rows(path, ("dept_id", "category_code", "region_id"))
    out = []
    for n, r in rows:
        if r["dept_id"] not in departments:
            raise RegistryError(f"{path}:{n}: unknown department {r['dept_id']!r}")
        if r["category_code"] != "*" and r["category_code"] not in categories:
            raise RegistryError(f"{path}:{n}: unknown category {r['category_code']!r}")
        out.append((r["dept_id"], r["category_code"], r["region_id"] or "*"))
    return tuple(out)


def _permits(path: Path, line: int, row: dict[str, str]) -> dict[str, float]:
    """Return the row's permitted emissions by pollutant (t/year); empty cells are none."""
    out = {}
    for col, raw in row.items():
        m = _PERMIT_COLUMN.fullmatch(col or "")
        if not m or not (raw or "").strip():
            continue
        value = _num(path, line, row, col)
        if value < 0:
            raise RegistryError(f"{path}:{line}: column {col!r} must be >= 0 t/year, got {value:g}")
        out[m.group(1)] = value
    return out


def load_sources(folder: Path, district_ids: set[str] = frozenset()) -> dict[str, PollutionSource]:
    """Return the pollution-source register of a city folder; empty when it has none.

    `district_ids`, when given, are the districts a source may name. Raises
    `RegistryError` naming the file and line of the first bad row.
    """
    path = Path(folder) / SOURCES_FILE
    if not path.is_file():
        return {}  # optional: a city without a register simply has no sources layer
    rows = csv_rows(path, ("source_id", "name_zh", "name_en", "category", "lat", "lng",
                           "district_id"))
    _unique(path, [(n, r["source_id"]) for n, r in rows])
    out = {}
    for n, r in rows:
        if not (r["source_id"] or "").strip():
            raise RegistryError(f"{path}:{n}: empty source_id")
        if r["category"] not in SOURCE_CATEGORIES:
            raise RegistryError(f"{path}:{n}: unknown category {r['category']!r} (one of "
                                f"{', '.join(SOURCE_CATEGORIES)})")
        district = r["district_id"] or ""
        if district_ids and district and district not in district_ids:
            raise RegistryError(f"{path}:{n}: unknown district_id {district!r}")
        out[r["source_id"]] = PollutionSource(
            r["source_id"], r["name_zh"], r["name_en"], r["category"], *_latlng(path, n, r),
            district, _permits(path, n, r))
    return out


def load_registry(folder: Path | None = None) -> Registry:
    """Return the registers of the city in `folder` (default: the demo city).

    Raises `RegistryError` naming the file and line of the first bad row.
    """
    folder = Path(folder) if folder else DEMO_CITY_DIR
    meta_path = folder / "city.toml"
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(f"{meta_path}: file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{meta_path}: {exc}") from None
    metrics = _load_metrics(folder)
    departments = _load_departments(folder)
    limits = _load_time_limits(folder)
    categories = _load_categories(folder, {d.kind for d in departments.values()}, limits)
    return Registry(
        folder=folder,
        name_zh=meta.get("name_zh", ""),
        name_en=meta.get("name_en", ""),
        timezone=meta.get("timezone", "UTC"),
        center=tuple(meta.get("center", (0.0, 0.0))),
        metrics=metrics,
        sensors=_load_sensors(folder, metrics),
        stations=_load_stations(folder),
        categories=categories,
        departments=departments,
        hotspots=_load_hotspots(folder, categories),
        time_limits_h=limits,
        remits=_load_remits(folder, departments, categories),
        city_id=str(meta.get("id") or folder.name),
        sources=load_sources(folder, {d.district_id for d in departments.values()} - {""}),
    )
