"""The demo city: central Shanghai (Puxi), generated from a few stated facts.

The facts are hand-written in `data/city/`: approximate seats of the districts
and street offices (`seats.csv`), the incident catalogue, metrics and time
limits, air stations and hotspots; plus, here, an approximate outline of the
seven central districts west of the Huangpu River, a few road and river lines
and main junctions. From them `build_demo_city` derives, deterministically:
street boundaries (Voronoi cells of the street seats clipped to the outline),
communities and grids (seeded Voronoi `subdivision` of each parent), districts
as the union of their streets, departments and their remits, grid workers and
IoT sensors. None of these boundaries is official; `city_import` replaces them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import LineString, Point, Polygon

from onegrid.geo.regions import LEVEL_FILES, write_level
from onegrid.geo.subdivision import SEED, random_points_in, subdivide

METRIC_CRS: Final = "EPSG:32651"  # UTM 51N: metres, so areas and Voronoi are not skewed
PRECISION: Final = 1e-6  # degrees, about 0.1 m: what the GeoJSON keeps

# Approximate outline of Huangpu, Xuhui, Changning, Jing'an, Putuo, Hongkou and
# Yangpu, as (lng, lat): the Huangpu River's west bank from Xupu Bridge north to
# Fuxing Island, the northern district lines towards Baoshan, the western edge
# near the Outer Ring Road and Hongqiao Airport, the southern edge with Minhang.
OUTLINE: Final = (
    (121.468, 31.110), (121.472, 31.130), (121.467, 31.150), (121.463, 31.165),
    (121.464, 31.178), (121.469, 31.189), (121.478, 31.197), (121.490, 31.203),
    (121.500, 31.212), (121.505, 31.225), (121.498, 31.237), (121.494, 31.243),
    (121.506, 31.249), (121.518, 31.253), (121.531, 31.256), (121.548, 31.261),
    (121.562, 31.269), (121.569, 31.283), (121.561, 31.300), (121.555, 31.320),
    (121.540, 31.335), (121.515, 31.346), (121.495, 31.340), (121.480, 31.321),
    (121.460, 31.322), (121.440, 31.306), (121.410, 31.291), (121.380, 31.296),
    (121.355, 31.285), (121.350, 31.260), (121.345, 31.240), (121.330, 31.225),
    (121.325, 31.200), (121.340, 31.185), (121.370, 31.180), (121.395, 31.165),
    (121.410, 31.145), (121.425, 31.125), (121.445, 31.110),
)
RIVER_HUANGPU: Final = OUTLINE[:21]  # the outline's river-bank vertices
RIVER_SUZHOU: Final = (  # Suzhou Creek, from its mouth at Waibaidu Bridge westwards
    (121.4905, 31.2445), (121.4830, 31.2445), (121.4735, 31.2425), (121.4640, 31.2440),
    (121.4540, 31.2455), (121.4455, 31.2420), (121.4400, 31.2370), (121.4280, 31.2330),
    (121.4220, 31.2255), (121.4150, 31.2290), (121.4080, 31.2330), (121.3990, 31.2330),
    (121.3900, 31.2270), (121.3780, 31.2230), (121.3600, 31.2280), (121.3460, 31.2300),
)
ROADS: Final = (  # approximate centre lines of elevated roads and main avenues
    ((121.345, 31.197), (121.410, 31.206), (121.432, 31.218), (121.466, 31.228),
     (121.487, 31.232)),  # Yan'an Elevated Road
    ((121.468, 31.205), (121.466, 31.228), (121.462, 31.245), (121.458, 31.270),
     (121.455, 31.300), (121.452, 31.318)),  # North-South Elevated Road
    ((121.415, 31.197), (121.425, 31.240), (121.445, 31.260), (121.460, 31.265),
     (121.485, 31.275), (121.520, 31.285), (121.530, 31.258)),  # Inner Ring, north arc
    ((121.415, 31.197), (121.435, 31.185), (121.450, 31.190), (121.478, 31.199),
     (121.495, 31.210)),  # Inner Ring, south arc
    ((121.380, 31.165), (121.440, 31.170)),  # Caobao Road
    ((121.495, 31.260), (121.515, 31.298)),  # Siping Road
    ((121.415, 31.226), (121.405, 31.250)),  # Caoyang Road
)
JUNCTIONS: Final = (  # main junctions, (lng, lat)
    (121.4760, 31.2350), (121.4760, 31.2290), (121.4700, 31.2180), (121.4370, 31.1950),
    (121.4380, 31.1880), (121.4450, 31.2230), (121.4320, 31.2190), (121.4170, 31.2230),
    (121.4140, 31.2000), (121.4030, 31.2130), (121.4210, 31.2420), (121.4460, 31.2430),
    (121.4580, 31.2480), (121.4570, 31.2660), (121.4850, 31.2790), (121.4850, 31.2500),
    (121.5050, 31.2650), (121.5140, 31.2990), (121.5310, 31.2760), (121.5300, 31.2600),
    (121.4240, 31.1990), (121.3970, 31.1660), (121.4550, 31.1700), (121.4950, 31.2120),
    (121.4890, 31.2320), (121.3850, 31.2400), (121.4280, 31.2440), (121.4550, 31.3050),
    (121.4780, 31.2900), (121.5100, 31.2570),
)
# Streets of old lane housing (里弄) and early workers' villages: smoke and gas sensors.
OLD_STREETS: Final = ("HP-03", "HP-04", "HP-05", "HP-06", "HP-07", "HK-04", "HK-06", "HK-07",
                      "YP-02", "YP-03", "PT-01", "PT-03", "JA-07", "JA-08")

# kind -> (Chinese name after the district or city prefix, English name)
DEPT_KINDS: Final = {
    "cg": ("城市管理行政执法局", "City Management and Law Enforcement Bureau"),
    "sthj": ("生态环境局", "Ecology and Environment Bureau"),
    "sw": ("水务局", "Water Authority"),
    "jt": ("交通委员会", "Transport Commission"),
    "zj": ("住房和城乡建设管理委员会", "Housing and Construction Commission"),
    "scjg": ("市场监督管理局", "Market Supervision Administration"),
    "yj": ("应急管理局", "Emergency Management Bureau"),
    "xf": ("消防救援支队", "Fire and Rescue Brigade"),
    "ga": ("公安局", "Public Security Bureau"),
    "lhsr": ("绿化和市容管理局", "Greening and City Appearance Bureau"),
    "fg": ("房屋管理局", "Housing Administration Bureau"),
    "zhzx": ("城市运行管理中心", "City Operations Centre"),
}
# metric -> (sensor id prefix, owning department kind)
SENSOR_KINDS: Final = {
    "noise_db": ("NZ", "sthj"), "water_level_m": ("WL", "sw"),
    "road_water_depth_cm": ("RW", "sw"), "manhole_tilt_deg": ("MH", "sw"),
    "smoke": ("SM", "xf"), "gas_ppm": ("GS", "yj"), "traffic_flow": ("TF", "ga"),
}


def build_demo_city(out_dir: Path) -> None:
    """Write the demo city's generated files into `out_dir`, which holds the sources.

    Reads `seats.csv` and `categories.csv` from `out_dir`; writes the four
    boundary GeoJSON files, departments.csv, remits.csv, grid_workers.csv and
    sensors.csv. The same inputs always give the same bytes.
    """
    out_dir = Path(out_dir)
    seats = pd.read_csv(out_dir / "seats.csv", dtype=str, keep_default_na=False)
    levels = build_levels(seats)
    for level, frame in levels.items():
        write_level(out_dir / LEVEL_FILES[level], frame)
    districts = list(levels["district"].index)
    departments = _departments(districts)
    _write_csv(out_dir / "departments.csv", departments)
    categories = pd.read_csv(out_dir / "categories.csv", dtype=str, keep_default_na=False)
    _write_csv(out_dir / "remits.csv", _remits(departments, categories))
    _write_csv(out_dir / "grid_workers.csv", _workers(levels["grid"], levels["community"]))
    _write_csv(out_dir / "sensors.csv", _sensors(levels))


# --- boundaries -----------------------------------------------------------------------


def build_levels(seats: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Return the four levels (EPSG:4326, indexed by id) built from the seat table."""
    outline = _to_metric([Polygon(OUTLINE)])[0]
    streets = seats[seats["level"] == "street"].reset_index(drop=True)
    points = _to_metric([Point(float(r.lng), float(r.lat)) for r in streets.itertuples()])
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=outline, ordered=True)
    street_geoms = [c.intersection(outline) for c in shapely.get_parts(cells)]
    grid_rows = []
    for street, geom in zip(streets.itertuples(), street_geoms, strict=True):
        grid_rows += _street_grids(street.id, street.name_zh, street.name_en, geom)
    grids = _grids_to_wgs84(grid_rows)
    return _dissolve_upwards(grids, seats)


def _street_grids(street_id: str, name_zh: str, name_en: str, geom) -> list[dict]:
    """Return the grid rows of one street (metric geometry), with their community ids."""
    short_zh = name_zh.removesuffix("街道").removesuffix("镇")
    short_en = name_en.removesuffix(" Subdistrict").removesuffix(" Town")
    n_comm = int(np.clip(round(geom.area / 0.9e6), 4, 10))
    rows = []
    for c, comm in enumerate(subdivide(geom, n_comm, seed_key=street_id), start=1):
        comm_id = f"{street_id}-{c:02d}"
        n_grid = int(np.clip(round(comm.area / 0.36e6), 1, 6))
        for g, grid in enumerate(subdivide(comm, n_grid, seed_key=comm_id), start=1):
            rows.append({
                "id": f"{comm_id}-{g:02d}", "community_id": comm_id,
                "name_zh": f"{short_zh}{c:02d}社区{g:02d}号网格",
                "name_en": f"{short_en} Community {c:02d} Grid {g:02d}",
                "comm_zh": f"{short_zh}{c:02d}社区", "comm_en": f"{short_en} Community {c:02d}",
                "street_id": street_id, "geometry": grid,
            })
    return rows


def _grids_to_wgs84(rows: list[dict]) -> gpd.GeoDataFrame:
    frame = gpd.GeoDataFrame(rows, geometry="geometry", crs=METRIC_CRS).to_crs("EPSG:4326")
    # Snap to the 1e-6 degree grid the files keep, so shared edges stay shared.
    frame["geometry"] = shapely.set_precision(frame.geometry.values, PRECISION)
    return frame


def _dissolve_upwards(grids: gpd.GeoDataFrame, seats: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Return all four levels, each parent the exact union of its children."""
    seat = seats.set_index("id")
    comm = _union_by(grids, "community_id")
    comm["name_zh"] = grids.groupby("community_id")["comm_zh"].first()
    comm["name_en"] = grids.groupby("community_id")["comm_en"].first()
    comm["parent_id"] = grids.groupby("community_id")["street_id"].first()
    street = _union_by(comm.assign(street_id=comm["parent_id"]), "street_id")
    street[["name_zh", "name_en", "parent_id"]] = seat.loc[street.index,
                                                           ["name_zh", "name_en", "parent_id"]]
    district = _union_by(street.assign(district_id=street["parent_id"]), "district_id")
    district[["name_zh", "name_en"]] = seat.loc[district.index, ["name_zh", "name_en"]]
    district["parent_id"] = None
    grid = grids.set_index("id").rename(columns={"community_id": "parent_id"})
    cols = ["name_zh", "name_en", "parent_id", "geometry"]
    return {name: gpd.GeoDataFrame(f[cols], geometry="geometry", crs="EPSG:4326")
            .rename_axis("id").sort_index()
            for name, f in (("district", district), ("street", street),
                            ("community", comm), ("grid", grid))}


def _union_by(frame: gpd.GeoDataFrame, key: str) -> gpd.GeoDataFrame:
    groups = frame.groupby(key).geometry
    geoms = {k: shapely.union_all(g.values, grid_size=PRECISION) for k, g in groups}
    return gpd.GeoDataFrame({"geometry": pd.Series(geoms)}, geometry="geometry", crs="EPSG:4326")


def _to_metric(geoms: list) -> list:
    return list(gpd.GeoSeries(geoms, crs="EPSG:4326").to_crs(METRIC_CRS).values)


# --- registers -------------------------------------------------------------------------


def _departments(districts: list[str]) -> list[dict]:
    rows = [{"dept_id": f"SH-{kind}", "kind": kind, "name_zh": f"上海市{zh}",
             "name_en": f"Shanghai Municipal {en}", "district_id": ""}
            for kind, (zh, en) in DEPT_KINDS.items()]
    names = dict(zip(["HP", "XH", "CN", "JA", "PT", "HK", "YP"],
                     [("黄浦区", "Huangpu"), ("徐汇区", "Xuhui"), ("长宁区", "Changning"),
                      ("静安区", "Jing'an"), ("普陀区", "Putuo"), ("虹口区", "Hongkou"),
                      ("杨浦区", "Yangpu")], strict=True))
    for d in districts:
        d_zh, d_en = names.get(d, (d, d))
        rows += [{"dept_id": f"{d}-{kind}", "kind": kind, "name_zh": f"{d_zh}{zh}",
                  "name_en": f"{d_en} {en}", "district_id": d}
                 for kind, (zh, en) in DEPT_KINDS.items()]
    return rows


def _remits(departments: list[dict], categories: pd.DataFrame) -> list[dict]:
    """Return the remit list: each department's categories (lead or assist) and region."""
    rows = []
    for dept in departments:
        region = dept["district_id"] or "*"
        if dept["kind"] == "zhzx":
            rows.append({"dept_id": dept["dept_id"], "category_code": "*", "region_id": region})
            continue
        for cat in categories.itertuples():
            if dept["kind"] in (cat.lead_kind, *cat.assist_kinds.split()):
                rows.append({"dept_id": dept["dept_id"], "category_code": cat.code,
                             "region_id": region})
    return rows


def _workers(grids: gpd.GeoDataFrame, communities: gpd.GeoDataFrame) -> list[dict]:
    """Return 1-3 workers per grid and one chief (网格长) per community; all fictional."""
    rng = np.random.default_rng([SEED, 7])
    rows, n = [], 0
    for grid_id, comm_id in grids["parent_id"].items():
        for _ in range(1 + int(rng.random() < 0.35) + int(rng.random() < 0.1)):
            n += 1
            rows.append({"worker_id": f"GW-{n:05d}", "name": f"网格员{n:05d}",
                         "grid_id": grid_id, "community_id": comm_id, "role": "worker",
                         "phone": f"139{rng.integers(0, 10**8):08d}"})
    for k, comm_id in enumerate(communities.index, start=1):
        rows.append({"worker_id": f"GC-{k:04d}", "name": f"网格长{k:04d}", "grid_id": "",
                     "community_id": comm_id, "role": "chief",
                     "phone": f"138{rng.integers(0, 10**8):08d}"})
    return rows


def _sensors(levels: dict[str, gpd.GeoDataFrame]) -> list[dict]:
    """Return the IoT sensors, each placed where its metric makes sense."""
    rng = np.random.default_rng([SEED, 11])
    streets = levels["street"]
    city = shapely.union_all(levels["district"].geometry.values)
    inner = _to_wgs84(_to_metric([city])[0].buffer(-150))  # keep clear of the edge
    old = streets.loc[[s for s in OLD_STREETS if s in streets.index]]
    plan = {
        "noise_db": _along(ROADS, rng, 250, 80),
        "water_level_m": _take(_river_bank(inner), 25) + _along([RIVER_SUZHOU], rng, 0, 20),
        "road_water_depth_cm": _in_polygons(streets, rng, 30),
        "manhole_tilt_deg": _in_polygons(streets, rng, 110),
        "smoke": _in_polygons(old, rng, 42),
        "gas_ppm": _in_polygons(old, rng, 20),
        "traffic_flow": _near(JUNCTIONS, rng, 40, 2),
    }
    return _label_sensors(plan, city, levels["district"])


def _label_sensors(plan: dict[str, list[Point]], city, districts: gpd.GeoDataFrame) -> list[dict]:
    rows = []
    for metric, points in plan.items():
        prefix, kind = SENSOR_KINDS[metric]
        inside = [p for p in points if city.contains(p)]
        joined = gpd.sjoin(gpd.GeoDataFrame(geometry=inside, crs="EPSG:4326"),
                           districts.reset_index(), predicate="intersects")
        # A point on a shared edge touches two districts: keep the first.
        owner = joined.groupby(level=0)["id"].first().reindex(range(len(inside))).to_numpy()
        for i, (p, d) in enumerate(zip(inside, owner, strict=True), start=1):
            rows.append({"sensor_id": f"{prefix}-{d}-{i:03d}", "metric": metric,
                         "lat": round(p.y, 6), "lng": round(p.x, 6), "dept_id": f"{d}-{kind}"})
    return rows


def _along(lines, rng: np.random.Generator, jitter_m: float, n: int) -> list[Point]:
    """Return `n` points spread along the lines, jittered sideways by up to `jitter_m`."""
    metric = _to_metric([LineString(line) for line in lines])
    total = sum(line.length for line in metric)
    out = []
    for line in metric:
        k = max(1, round(n * line.length / total))
        for d in np.sort(rng.uniform(0, line.length, k)):
            p = line.interpolate(d)
            out.append(Point(p.x + rng.uniform(-jitter_m, jitter_m),
                             p.y + rng.uniform(-jitter_m, jitter_m)))
    return _to_wgs84_points(out)


def _river_bank(inner) -> list[Point]:
    """Return points on the land side of the Huangpu bank, 150 m inside the outline."""
    river = LineString(RIVER_HUANGPU)
    ring = inner.exterior if inner.geom_type == "Polygon" else max(inner.geoms, key=lambda g:
                                                                      g.area).exterior
    spots = [river.interpolate(d, normalized=True) for d in np.linspace(0.01, 0.99, 40)]
    return [ring.interpolate(ring.project(p)) for p in spots]


def _take(points: list[Point], n: int) -> list[Point]:
    return points[:: max(1, len(points) // n)][:n]


def _in_polygons(frame: gpd.GeoDataFrame, rng: np.random.Generator, n: int) -> list[Point]:
    """Return `n` random points spread over the polygons, about the same number in each."""
    geoms = list(frame.geometry.values)
    return [next(_random_stream(geoms[i % len(geoms)], rng)) for i in range(n)]


def _random_stream(geom, rng: np.random.Generator) -> Iterator[Point]:
    while True:
        yield from random_points_in(geom, 1, rng)


def _near(points, rng: np.random.Generator, jitter_m: float, each: int) -> list[Point]:
    metric = _to_metric([Point(p) for p in points])
    return _to_wgs84_points([Point(p.x + rng.uniform(-jitter_m, jitter_m),
                                   p.y + rng.uniform(-jitter_m, jitter_m))
                             for p in metric for _ in range(each)])


def _to_wgs84(geom):
    return gpd.GeoSeries([geom], crs=METRIC_CRS).to_crs("EPSG:4326").values[0]


def _to_wgs84_points(points: list[Point]) -> list[Point]:
    return list(gpd.GeoSeries(points, crs=METRIC_CRS).to_crs("EPSG:4326").values)


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":  # regenerate the committed files: python -m onegrid.geo.demo_city
    from onegrid.geo.registry import DEMO_CITY_DIR

    build_demo_city(DEMO_CITY_DIR)
