"""The city's ground as the simulator sees it: a flat km frame and a bounding box.

Plumes drift and incident reports scatter in kilometres east and north of the
city centre; this module converts between that frame and lat/lng, and finds
the box everything the city registers lies in. Real cells and regions belong
to `onegrid.geo`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from onegrid.geo.registry import Registry

_KM_PER_DEG_LAT: Final = 110.574
_KM_PER_DEG_LNG_EQ: Final = 111.320


@dataclass(frozen=True)
class Frame:
    """A flat km frame around the city centre; good to metres across a city."""

    lat0: float
    lng0: float

    @property
    def kx(self) -> float:
        return _KM_PER_DEG_LNG_EQ * math.cos(math.radians(self.lat0))

    def to_xy(self, lat, lng):
        return ((np.asarray(lng) - self.lng0) * self.kx, (np.asarray(lat) - self.lat0)
                * _KM_PER_DEG_LAT)

    def to_latlng(self, x, y):
        return (self.lat0 + np.asarray(y) / _KM_PER_DEG_LAT, self.lng0 + np.asarray(x) / self.kx)


def city_bbox(reg: Registry) -> tuple[float, float, float, float]:
    """Return (lat_min, lat_max, lng_min, lng_max) of everything the city registers."""
    places = [*reg.sensors.values(), *reg.stations.values(), *reg.hotspots.values()]
    if not places:
        lat, lng = reg.center
        return lat - 0.05, lat + 0.05, lng - 0.06, lng + 0.06
    lats, lngs = [p.lat for p in places], [p.lng for p in places]
    return min(lats), max(lats), min(lngs), max(lngs)


def city_frame(reg: Registry) -> Frame:
    """Return the km frame around the city's centre (its box's south-west corner if unset)."""
    lat, lng = reg.center if any(reg.center) else city_bbox(reg)[::2]
    return Frame(float(lat), float(lng))
