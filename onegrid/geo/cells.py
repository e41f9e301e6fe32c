"""Points to H3 cells: the res-10 base cell of each point and its parents.

OneGrid stores every event at H3 resolution 10 (about 15,000 m², the level
nearest the 10,000 m² unit grid) with its parents at 9, 8 and 7, so any map
zoom reads a stored column. Cells are the H3 64-bit integer (UBIGINT in DuckDB).
Parents are computed with the H3 index's bit layout over whole numpy arrays;
a test checks them against `h3.cell_to_parent`.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from h3.api import basic_int as h3i

BASE_RES: Final = 10
PARENT_RES: Final = (9, 8, 7)

# H3 index layout: bits 52-55 hold the resolution; each resolution r in 1..15
# has a 3-bit digit at bits 3*(15-r)..3*(15-r)+2, and unused digits are 0b111.
_RES_SHIFT: Final = np.uint64(52)
_RES_MASK: Final = np.uint64(0xF) << _RES_SHIFT


def latlng_to_cells(lat: np.ndarray, lng: np.ndarray, res: int = BASE_RES) -> np.ndarray:
    """Return the H3 cell (uint64) of each point; points must be finite degrees.

    h3 4.x has no array API, so this is one tight loop over its integer API
    (about 1M points/s here), run once per distinct point: most readings come
    from registered sensors and stations at fixed places, so a batch holds far
    fewer points than events. Everything around the loop stays vectorised.
    """
    lat = np.asarray(lat, dtype=np.float64)
    lng = np.asarray(lng, dtype=np.float64)
    if len(lat) == 0:
        return np.zeros(0, dtype=np.uint64)
    # One complex number per point, so np.unique finds distinct (lat, lng) pairs.
    points, where = np.unique(lat + 1j * lng, return_inverse=True)
    cells = np.fromiter(
        (h3i.latlng_to_cell(a, b, res)
         for a, b in zip(points.real.tolist(), points.imag.tolist(), strict=True)),
        dtype=np.uint64, count=len(points),
    )
    return cells[where.ravel()]


def cells_to_parent(cells: np.ndarray, res: int) -> np.ndarray:
    """Return the parent at resolution `res` of each cell (cells finer than `res`)."""
    cells = np.asarray(cells, dtype=np.uint64)
    unused = np.uint64((1 << (3 * (15 - res))) - 1)
    return (cells & ~_RES_MASK) | (np.uint64(res) << _RES_SHIFT) | unused


def cells_to_parents(cells: np.ndarray) -> dict[int, np.ndarray]:
    """Return {9: ..., 8: ..., 7: ...}: the parents of res-10 cells at each stored level."""
    return {res: cells_to_parent(cells, res) for res in PARENT_RES}


def cells_to_latlng(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the centre (lat, lng) arrays of the given cells."""
    pts = [h3i.cell_to_latlng(int(c)) for c in np.asarray(cells, dtype=np.uint64).tolist()]
    arr = np.array(pts, dtype=np.float64).reshape(-1, 2)
    return arr[:, 0], arr[:, 1]
