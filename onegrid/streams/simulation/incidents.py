"""Incident reports: clustered around hotspots, thin elsewhere, more by day.

`Incidents` turns a chunk of time into reports from the hotline, the app,
patrolling grid workers and video analytics: where (mostly around the city's
hotspots), what (a category the hotspot is known for), a description and
address in the domain's words, sometimes a severity and a fictional
reporter. How many reports a chunk gets follows the hour of day. Device and
station readings are in `devices` and `air`.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.contract import INCIDENT
from onegrid.streams.simulation.chunks import ENC, Batch, Chunk, random_times
from onegrid.streams.simulation.clock import incident_intensity, ms_to_hours, ms_to_iso
from onegrid.streams.simulation.frame import city_bbox, city_frame

_SOURCES: Final = ("hotline", "patrol", "app", "video")
_SOURCE_SHARES: Final = (0.35, 0.30, 0.20, 0.15)
_ISO_SOURCES: Final = {"hotline", "app"}  # the 12345 hotline and the app send ISO-8601 ts
_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
_GIVEN: Final = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玲文"
_PHONE_PREFIXES: Final = ("135", "137", "138", "139", "150", "158", "177", "186", "189")
_ROADS: Final = ("长寿路", "武宁路", "曹杨路", "四平路", "淮海中路", "肇嘉浜路", "天目西路",
                 "大连路", "延安西路", "江宁路", "中山北路", "凯旋路", "西藏北路", "控江路")
_NEAR: Final = ("附近", "东侧", "西侧", "南门", "北门", "路口", "门口")
_DETAILS: Final = ("影响行人通行", "已持续{n}天", "多次反映未解决", "存在安全隐患",
                   "夜间尤为严重", "请相关部门尽快处理", "周边居民意见较大")
_TEMPLATES: Final = {
    # source -> description templates; {a} address, {c} category name, {d} a detail
    "hotline": ("市民来电反映：{a}{c}，{d}。", "来电人称{a}一带{c}问题{d}，希望尽快处理。"),
    "app": ("随手拍：{a}{c}，{d}。", "{a}发现{c}，{d}。"),
    "patrol": ("网格员巡查发现{a}{c}，{d}。", "巡查：{a}存在{c}，已拍照取证。"),
    "video": ("视频智能识别：{a}疑似{c}。", "视频巡检告警：{a}{c}。"),
}


class Incidents:
    """Incident reports: clustered around hotspots, thin elsewhere, more by day."""

    def __init__(self, reg: Registry, rng, tag: str):
        self.reg, self.rng, self.prefix, self.seq = reg, rng, f"i-{tag}-", 0
        self.frame = city_frame(reg)
        self.spots = [reg.hotspots[i] for i in sorted(reg.hotspots)]
        weights = np.array([max(h.weight, 0.0) for h in self.spots], dtype=float)
        self.p_spot = weights / weights.sum() if weights.sum() > 0 else None
        self.codes = sorted(reg.categories)
        lat0, lat1, lng0, lng1 = city_bbox(reg)
        self.box = (*self.frame.to_xy(lat0, lng0), *self.frame.to_xy(lat1, lng1))

    def count(self, chunk: Chunk, rate: float) -> int:
        h = ms_to_hours(np.array([(chunk.t0 + chunk.t1) // 2]), chunk.offset_s)
        return int(self.rng.poisson(rate * chunk.seconds * incident_intensity(h)[0]))

    def chunk(self, chunk: Chunk, n: int) -> Batch:
        """Return `n` incident reports spread over the chunk."""
        if not self.codes:
            return Batch(INCIDENT, [], [], [], [])
        rng, ts = self.rng, random_times(self.rng, chunk, n)
        spot, lat, lng = self._places(n)
        sources = rng.choice(len(_SOURCES), size=n, p=_SOURCE_SHARES).tolist()
        # One row of uniforms per free choice of a report, drawn for the whole chunk.
        u, phones = rng.random((_DRAWS, n)).T.tolist(), rng.integers(10**8, size=n).tolist()
        iso, out, keys = ms_to_iso(ts, chunk.offset_s), [], []
        for j in range(n):
            source, r = _SOURCES[sources[j]], u[j]
            code = self._category(spot[j], r[0])
            address = self._address(spot[j], r[1], r[2])
            d = {"id": f"{self.prefix}{self.seq + j}",
                 "ts": iso[j] if source in _ISO_SOURCES else int(ts[j]),
                 "lat": lat[j], "lng": lng[j], "category": code, "source": source,
                 "description": self._describe(source, code, address, r[3], r[4], r[5]),
                 "address": address}
            severity = self._severity(code, r[6], r[7])
            if severity is not None:
                d["severity"] = severity
            if source in ("hotline", "app"):
                d["reporter"] = _reporter(r[8], r[9], r[10], r[11], phones[j])
            keys.append(_key(source, r[12]))
            out.append(ENC.encode(d))
        self.seq += n
        return Batch(INCIDENT, ts.tolist(), keys, out, [""] * n)

    def _places(self, n: int) -> tuple[list[int], list[float], list[float]]:
        """Return hotspot index (-1 for background) and lat/lng of `n` reports."""
        rng = self.rng
        x0, y0, x1, y1 = self.box
        x, y = rng.uniform(x0 - 1, x1 + 1, n), rng.uniform(y0 - 1, y1 + 1, n)
        spot = np.full(n, -1)
        if self.p_spot is not None:
            clustered = rng.random(n) < 0.85
            spot[clustered] = rng.choice(len(self.spots), size=int(clustered.sum()),
                                         p=self.p_spot)
            hx, hy = self.frame.to_xy([h.lat for h in self.spots], [h.lng for h in self.spots])
            k = spot[clustered]
            x[clustered] = hx[k] + rng.normal(0, 0.2, k.size)  # a hotspot is a few hundred m
            y[clustered] = hy[k] + rng.normal(0, 0.2, k.size)
        lat, lng = self.frame.to_latlng(x, y)
        return spot.tolist(), np.round(lat, 6).tolist(), np.round(lng, 6).tolist()

    def _category(self, spot: int, pick: float) -> str:
        codes = self.spots[spot].categories if spot >= 0 else self.codes
        return codes[int(pick * len(codes))]

    def _address(self, spot: int, u: float, v: float) -> str:
        if spot >= 0:
            return self.spots[spot].name_zh + _pick(_NEAR, u)
        return f"{_pick(_ROADS, u)}{1 + int(v * 1200)}号"

    def _describe(self, source: str, code: str, address: str, u: float, v: float,
                  w: float) -> str:
        detail = _pick(_DETAILS, u).format(n=2 + int(v * 13))
        return _pick(_TEMPLATES[source], w).format(
            a=address, c=self.reg.categories[code].name_zh, d=detail)

    def _severity(self, code: str, u: float, omit: float) -> int | None:
        if omit < 0.15:
            return None  # left to the category's default
        shift = -1 if u < 0.1 else (1 if u > 0.85 else 0)
        return min(4, max(1, self.reg.categories[code].default_severity + shift))


_DRAWS: Final = 13  # uniforms per incident report, see Incidents.chunk


def _pick(items, u: float):
    """Return the item a uniform draw in [0, 1) falls on."""
    return items[int(u * len(items))]


def _reporter(u: float, v: float, w: float, x: float, digits: int) -> dict[str, str]:
    """Return a fictional reporter: a common surname, one or two given characters, a mobile."""
    given = _pick(_GIVEN, v) + (_pick(_GIVEN, w) if x < 0.6 else "")
    return {"name": _pick(_SURNAMES, u) + given,
            "phone": f"{_pick(_PHONE_PREFIXES, x)}{digits:08d}"}


def _key(source: str, u: float) -> bytes:
    """Return the reporting channel: hotline, app, patrol-<worker> or video-<camera>."""
    if source == "patrol":
        return f"patrol-W{1 + int(u * 60):03d}".encode()
    if source == "video":
        return f"video-C{1 + int(u * 400):04d}".encode()
    return source.encode()
