"""Boundaries for the map: one level of the region hierarchy as a small GeoJSON dict.

The map draws district, street, community or grid outlines over the H3 layers.
This module simplifies the polygons a little (a few metres are invisible at
the zooms where a level is drawn) and rounds coordinates, so that the whole
grid layer stays a few hundred kilobytes. Loading and checking the boundaries
is left to `regions`.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any, Final

import geopandas as gpd
from shapely.geometry import MultiPolygon, Polygon

from onegrid.geo.regions import LEVELS, Regions, level_to_features

_M_PER_DEG_LAT: Final = 111_320.0
# Decimals kept: 5 is about 1 m, finer than any simplification worth drawing.
_PRECISION: Final = 5


def boundaries_geojson(regions: Regions, level: str, simplify_m: float = 5.0) -> dict[str, Any]:
    """Return a FeatureCollection of one level (`district`, `street`, `community`, `grid`).

    Each feature keeps id, name_zh, name_en and parent_id. Polygons are
    simplified with a tolerance of `simplify_m` metres (0 keeps them as they
    are). Raises ValueError for an unknown level.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    return _cached(regions, level, float(simplify_m))


@lru_cache(maxsize=32)
def _cached(regions: Regions, level: str, simplify_m: float) -> dict[str, Any]:
    # Regions compares by identity, so a reloaded city gets fresh entries.
    frame = _simplified(regions.levels[level], simplify_m)
    return {"type": "FeatureCollection", "features": level_to_features(frame, _PRECISION)}


# Holes smaller than this are slivers left where neighbouring polygons almost meet
# (the demo city's districts are unions of streets): drawn, they are stray dashes.
_SLIVER_M2: Final = 50_000.0


def _without_slivers(geom):
    """Return a polygon (or multipolygon) without its sliver holes."""
    if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return geom
    scale = _M_PER_DEG_LAT ** 2 * math.cos(math.radians(geom.centroid.y))  # deg² -> m²
    parts = geom.geoms if geom.geom_type == "MultiPolygon" else [geom]
    kept = [Polygon(p.exterior, [r for r in p.interiors if Polygon(r).area * scale >= _SLIVER_M2])
            for p in parts]
    return kept[0] if len(kept) == 1 else MultiPolygon(kept)


def _simplified(frame: gpd.GeoDataFrame, simplify_m: float) -> gpd.GeoDataFrame:
    frame = frame.copy()
    frame["geometry"] = frame.geometry.map(_without_slivers)
    if simplify_m <= 0:
        return frame
    # A degree of longitude is shorter than one of latitude, so a tolerance in latitude
    # degrees keeps the error under simplify_m in both directions.
    tolerance = simplify_m / _M_PER_DEG_LAT
    out = frame.copy()
    out["geometry"] = frame.geometry.simplify(tolerance, preserve_topology=True)
    return out
