"""The city's outline and how far points are from it, in kilometres.

The outline is the outer edge of the union of the districts: where the city
meets its neighbours (holes inside the union are slivers between districts,
not borders, and are left out). Distances are measured in the UTM zone of the
city, so a kilometre is a kilometre; a point inside or outside the city is
measured to the same line. Who counts as "near the edge" is the caller's
threshold (the engine's `edge_km`).
"""

from __future__ import annotations

from functools import lru_cache

import geopandas as gpd
import numpy as np
import shapely

from onegrid.geo.regions import Regions


@lru_cache(maxsize=4)
def _outline(regions: Regions) -> tuple[shapely.Geometry, object]:
    """Return the city's outer edge (lines, in metres) and its CRS, once per city.

    Regions compares by identity, so a reloaded city gets a fresh entry.
    """
    districts = regions.districts
    crs = districts.estimate_utm_crs()
    union = shapely.union_all(districts.to_crs(crs).geometry.values)
    parts = getattr(union, "geoms", [union])
    rings = [p.exterior for p in parts if p.geom_type == "Polygon" and not p.is_empty]
    return shapely.MultiLineString(rings), crs


def distance_to_edge_km(regions: Regions, lat, lng) -> np.ndarray:
    """Return each point's distance to the city's outline in km (NaN for a missing point)."""
    lat = np.atleast_1d(np.asarray(lat, dtype=float))
    lng = np.atleast_1d(np.asarray(lng, dtype=float))
    if lat.size == 0 or len(regions.districts) == 0:
        return np.full(lat.shape, np.nan)
    edge, crs = _outline(regions)
    ok = np.isfinite(lat) & np.isfinite(lng)
    points = gpd.GeoSeries(gpd.points_from_xy(lng[ok], lat[ok]), crs=4326).to_crs(crs)
    out = np.full(lat.shape, np.nan)
    out[ok] = shapely.distance(edge, points.values) / 1000.0
    return out
