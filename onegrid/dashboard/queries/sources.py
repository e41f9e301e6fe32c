"""Reads of the sources layer: the register's pollution sources (污染源) an actor may see, and
an episode's upwind candidates among them.

Sources come from `Registry.sources` (source_id -> `PollutionSource`; a city
folder without the register has none), placed on the grid as stations are
(lat/lng -> res-10 cell -> grid) and kept only where the actor's scope sees
the grid. Ranking is `alerts.upwind.rank_sources`'s; `upwind` keeps the
candidates it scores above 0 (the upwind ones, or all without a wind) and
says when the ranking had no wind or no place to start from.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from onegrid.alerts.actors import Actor
from onegrid.alerts.upwind import rank_sources
from onegrid.dashboard.queries.environment import ROLES
from onegrid.geo.cells import latlng_to_cells
from onegrid.geo.regions import Regions, cells_to_regions

RADIUS_KM: Final = 10.0  # how far upwind a candidate may lie
SHOWN: Final = 8  # candidates listed and ringed on the map
# rank_sources(lat, lng, wind_from_deg, wind_speed_ms, sources, radius_km=...) -> Candidates
Ranker = Callable[..., Sequence[Any]]


@dataclass(frozen=True)
class Upwind:
    """An episode's candidates, best first, and what to say about them: `reason` is ""
    (ranked with the wind), "no_wind" (no wind at the peak: ranked by distance and
    permits only, as in calm) or "no_place" (the station is not in the register: none)."""

    candidates: tuple[Any, ...]
    reason: str = ""


def visible_sources(ctx, actor: Actor) -> tuple[Any, ...]:
    """Return the sources the actor may see, by id (none for a role that may not open the
    environment page)."""
    if actor.role not in ROLES:
        return ()
    scope = ctx.scope(actor)
    placed = _placed(getattr(ctx.registry, "sources", None) or {}, ctx.regions)
    if scope.city_wide:
        return tuple(s for s, _ in placed)
    grids = set(scope.grid_ids)
    return tuple(s for s, grid in placed if grid in grids)


# (id of a register's sources dict, id of the regions) -> (that dict, the regions, placed);
# by identity, as sources hold their permits in a dict and do not hash. The dict and the
# regions stay referenced, so their ids are not reused while cached.
_PLACED: dict[tuple[int, int], tuple[Any, Regions, tuple]] = {}


def _placed(sources: dict[str, Any], regions: Regions) -> tuple[tuple[Any, str | None], ...]:
    """Return (source, grid id or None) for every source, by id (once per register)."""
    key = (id(sources), id(regions))
    if key not in _PLACED:
        if len(_PLACED) >= 8:
            _PLACED.clear()
        _PLACED[key] = (sources, regions, _place(tuple(sources.values()), regions))
    return _PLACED[key][2]


def _place(sources: tuple[Any, ...], regions: Regions) -> tuple[tuple[Any, str | None], ...]:
    if not sources:
        return ()
    cells = latlng_to_cells(np.array([s.lat for s in sources], dtype=float),
                            np.array([s.lng for s in sources], dtype=float))
    grids = cells_to_regions(regions, cells)["grid_id"]
    return tuple(sorted(zip(sources, grids.tolist(), strict=True),
                        key=lambda pair: pair[0].source_id))


def upwind(lat: float | None, lng: float | None, wind_from_deg: float | None,
           wind_speed_ms: float | None, sources: Sequence[Any], pollutant: str | None = None,
           ranker: Ranker | None = None, radius_km: float = RADIUS_KM,
           shown: int = SHOWN) -> Upwind:
    """Return the sources within `radius_km` of (lat, lng) that the ranker scores above 0
    (upwind, or any direction without a wind), best first, at most `shown` of them.
    `ranker` defaults to `rank_sources`, whose Candidates carry source, distance_km,
    bearing_deg, off_wind_deg and score."""
    if lat is None or lng is None:
        return Upwind((), "no_place")
    rank = ranker or rank_sources
    calm = wind_from_deg is None or not np.isfinite(wind_from_deg)
    found = rank(float(lat), float(lng), None if calm else float(wind_from_deg), wind_speed_ms,
                 list(sources), radius_km=radius_km, pollutant=pollutant)
    kept = tuple(c for c in found if c.score > 0)[:shown]
    return Upwind(kept, "no_wind" if calm else "")
