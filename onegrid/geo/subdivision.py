"""Seeded subdivision: cut a polygon into `n` compact pieces, the same way every time.

`subdivide` tiles a polygon with clipped Voronoi cells of seeded random
points, relaxed by a few Lloyd rounds, and orders the pieces like a map. The
demo city cuts streets into communities and communities into grids with it,
and `city_import` cuts a real city's communities into grids. Which polygons
to cut, into how many pieces, and what to call them is left to those callers.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Final

import numpy as np
import shapely
from shapely.geometry import Point

# Mixed with each call's `seed_key`; changing it moves every generated boundary.
SEED: Final = 20240601


def subdivide(geom, n: int, *, seed_key: str, lloyd_rounds: int = 3) -> list:
    """Return `n` pieces tiling `geom`: clipped Voronoi cells of seeded points.

    A few Lloyd rounds (move each point to its cell's centroid) make the pieces
    compact. Pieces are ordered north to south, then west to east, so ids read
    like a map. Works in any planar CRS; use a metric one for even areas.
    """
    if n <= 1:
        return [geom]
    rng = np.random.default_rng([SEED, zlib.crc32(seed_key.encode())])
    points = random_points_in(geom, n, rng)
    for _ in range(lloyd_rounds):
        points = [p.centroid for p in _voronoi_clip(points, geom)]
    pieces = [p for p in _voronoi_clip(points, geom) if not p.is_empty]
    keys = [(-round(p.centroid.y, -2), p.centroid.x) for p in pieces]
    return [pieces[i] for i in sorted(range(len(pieces)), key=keys.__getitem__)]


def random_points_in(geom, n: int, rng: np.random.Generator) -> list[Point]:
    """Return `n` points drawn uniformly inside `geom` (rejection sampling in its bounds)."""
    minx, miny, maxx, maxy = geom.bounds
    found: list[Point] = []
    while len(found) < n:
        xs, ys = rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)
        inside = shapely.contains_xy(geom, xs, ys)
        found += [Point(x, y) for x, y in zip(xs[inside], ys[inside], strict=True)]
    return found[:n]


def _voronoi_clip(points: Sequence[Point], geom) -> list:
    cells = shapely.voronoi_polygons(shapely.MultiPoint(points), extend_to=geom, ordered=True)
    return [c.intersection(geom) for c in shapely.get_parts(cells)]
