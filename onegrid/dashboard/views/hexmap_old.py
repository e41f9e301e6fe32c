"""Views: store rows in, figure pieces and small tables out; pure.

The city overview draws a live H3 layer of event counts per cell. This module
owns how that looks: which H3 resolution a map zoom gets, cell polygons as
GeoJSON, the initial figure (no map tiles: the "white-bg" style plus our own
boundaries as line layers, and an optional raster tile layer), the per-tick
update of the trace's data only, and the status strip. It reads no store and
no clock; `app` does the reading and passes plain values in.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import numpy as np
import plotly.graph_objects as go
from dash import Patch, html
from h3.api import basic_int as h3i

from onegrid.dashboard.i18n import text

# Map zoom (MapLibre, 512 px tiles) at which each finer resolution takes over;
# each step keeps a cell about 25-45 px across on screen.
_ZOOM_TO_RES: Final = ((11.0, 7), (12.0, 8), (13.5, 9))
FINEST_RES: Final = 10
COARSEST_RES: Final = 7
# resolution -> the events column that stores each event's cell at it
CELL_COLUMNS: Final = {7: "cell_r7", 8: "cell_r8", 9: "cell_r9", 10: "cell"}
# resolution -> mean hexagon edge length in km (H3's published averages)
_EDGE_KM: Final = {7: 1.406, 8: 0.531, 9: 0.201, 10: 0.076}
WINDOWS_MIN: Final = (15, 60, 1440)
DEFAULT_WINDOW_MIN: Final = 60
UIREVISION: Final = "overview"
_KM_PER_DEG: Final = 111.32
_DECIMALS: Final = 6  # about 0.1 m, far below a res-10 cell
_COLORSCALE: Final = "YlOrRd"
_EMPTY_FC: Final = {"type": "FeatureCollection", "features": []}

Bbox = tuple[float, float, float, float]  # west, south, east, north (degrees)


@dataclass(frozen=True)
class Status:
    """What the status strip shows: the store's totals at `as_of` (UTC)."""

    events: int
    dead_letters: int
    last_minute: int
    as_of: datetime


def zoom_to_res(zoom: float) -> int:
    """Return the H3 resolution (7-10) the map shows at `zoom`."""
    for limit, res in _ZOOM_TO_RES:
        if zoom < limit:
            return res
    return FINEST_RES


def cell_column(res: int) -> str:
    """Return the events column holding each event's cell at `res`; ValueError otherwise."""
    try:
        return CELL_COLUMNS[res]
    except KeyError:
        raise ValueError(f"no stored cell column at resolution {res}; use 7-10") from None


def relayout_to_view(relayout: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Return the view {"res", "bbox"} a map relayout asks for, or None if it sets no zoom.

    Plotly's map subplot reports `map.zoom` and, under `map._derived`, the four
    corners of the visible area as [lng, lat]; bbox is None when they are absent.
    """
    if not relayout or "map.zoom" not in relayout:
        return None
    corners = (relayout.get("map._derived") or {}).get("coordinates")
    bbox = None
    if corners:
        lngs, lats = [c[0] for c in corners], [c[1] for c in corners]
        bbox = [min(lngs), min(lats), max(lngs), max(lats)]
    return {"res": zoom_to_res(float(relayout["map.zoom"])), "bbox": bbox}


def padded_bbox(bbox: Sequence[float], res: int) -> Bbox:
    """Return `bbox` grown by one cell diameter at `res` on each side.

    A cell that touches the view then has all its events inside the padded box,
    so its count is whole, not cut at the screen's edge.
    """
    west, south, east, north = bbox
    pad_km = 2 * _EDGE_KM[res]
    dlat = pad_km / _KM_PER_DEG
    dlng = pad_km / (_KM_PER_DEG * max(math.cos(math.radians((south + north) / 2)), 0.01))
    return west - dlng, south - dlat, east + dlng, north + dlat


def bounds_to_zoom(bounds: Sequence[float], width_px: int = 1000, height_px: int = 640) -> float:
    """Return the map zoom at which `bounds` (west, south, east, north) fits the given size."""
    west, south, east, north = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    # The MapLibre world is 512 px wide at zoom 0: 360 degrees, or 2*pi in Mercator y.
    z_lng = math.log2(width_px * 360 / (512 * max(east - west, 1e-9)))
    z_lat = math.log2(height_px * 2 * math.pi / (512 * max(merc(north) - merc(south), 1e-9)))
    return round(min(z_lng, z_lat), 2)


def cell_to_id(cell: int) -> str:
    """Return the H3 string id of a cell (the feature id the map matches on)."""
    return h3i.int_to_str(int(cell))


def cell_to_feature(cell: int) -> dict[str, Any]:
    """Return the GeoJSON polygon feature of one H3 cell, id = its H3 string."""
    # h3 gives (lat, lng) pairs; GeoJSON wants [lng, lat] and a closed ring.
    ring = [[round(lng, _DECIMALS), round(lat, _DECIMALS)]
            for lat, lng in h3i.cell_to_boundary(int(cell))]
    ring.append(ring[0])
    return {"type": "Feature", "id": cell_to_id(cell), "properties": {},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def counts_to_geojson(cells: Sequence[int]) -> dict[str, Any]:
    """Return a FeatureCollection with one polygon per cell, in the order given."""
    return {"type": "FeatureCollection", "features": [cell_to_feature(c) for c in cells]}


def cells_digest(res: int, cells: Sequence[int]) -> str:
    """Return a short digest of which cells are drawn, so unchanged polygons are not re-sent."""
    data = np.asarray(cells, dtype=np.uint64).tobytes()
    return f"{res}:" + hashlib.blake2b(data, digest_size=8).hexdigest()


def counts_trace_update(cells: Sequence[int], counts: Sequence[int], *,
                        with_geometry: bool = True) -> dict[str, Any]:
    """Return the choropleth trace properties to set for these per-cell counts.

    `cells` and `counts` are aligned. Without `with_geometry` only the numbers
    are returned (the polygons on screen are already these cells).
    """
    update: dict[str, Any] = {
        "locations": [cell_to_id(c) for c in cells],
        "z": [int(n) for n in counts],
        "zmin": 0,
        "zmax": max((int(n) for n in counts), default=0) or 1,
    }
    if with_geometry:
        update["geojson"] = counts_to_geojson(cells)
    return update


def trace_update_to_patch(update: Mapping[str, Any], lang: str) -> Patch:
    """Return a Patch that sets `update` on the figure's first trace and its labels in `lang`."""
    patch = Patch()
    for key, value in update.items():
        patch["data"][0][key] = value
    patch["data"][0]["colorbar"]["title"]["text"] = text(lang, "events")
    patch["data"][0]["hovertemplate"] = _hovertemplate(lang)
    return patch


def counts_figure(*, center: tuple[float, float], zoom: float, lang: str,
                  boundaries: Sequence[tuple[dict[str, Any], Mapping[str, Any]]] = (),
                  tile_url: str | None = None) -> go.Figure:
    """Return the overview map with an empty count layer, ready to be patched each tick.

    `center` is (lat, lng). `boundaries` pairs a FeatureCollection with its line
    style (color, width, optional minzoom); they are drawn above the cells.
    `tile_url` (an XYZ template) adds a raster layer below them.
    """
    trace = go.Choroplethmap(
        geojson=_EMPTY_FC, locations=[], z=[], featureidkey="id",
        colorscale=_COLORSCALE, zmin=0, zmax=1,
        marker={"opacity": 0.72, "line": {"width": 0.4, "color": "rgba(255,255,255,0.8)"}},
        colorbar={"title": {"text": text(lang, "events")}, "thickness": 12, "len": 0.6},
        hovertemplate=_hovertemplate(lang),
    )
    fig = go.Figure(trace)
    fig.update_layout(
        map={"style": "white-bg", "center": {"lat": center[0], "lon": center[1]},
             "zoom": zoom, "fitbounds": False, "layers": _layers(boundaries, tile_url)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        uirevision=UIREVISION, paper_bgcolor="#ffffff",
    )
    return fig


def _hovertemplate(lang: str) -> str:
    return f"{text(lang, 'cell')} %{{location}}<br>{text(lang, 'events')} %{{z}}<extra></extra>"


def _layers(boundaries: Sequence[tuple[dict[str, Any], Mapping[str, Any]]],
            tile_url: str | None) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    if tile_url:
        # "traces" puts the tiles under the cells; the boundaries stay on top.
        layers.append({"sourcetype": "raster", "source": [tile_url], "below": "traces"})
    for collection, style in boundaries:
        layer = {"sourcetype": "geojson", "source": collection, "type": "line",
                 "color": style.get("color", "#34495e"),
                 "line": {"width": style.get("width", 1.0)}}
        if "minzoom" in style:
            layer["minzoom"] = style["minzoom"]
        layers.append(layer)
    return layers


def window_options(lang: str) -> list[dict[str, Any]]:
    """Return the time-window choices (minutes) labelled in `lang`."""
    return [{"label": text(lang, f"window_{m}"), "value": m} for m in WINDOWS_MIN]


def status_strip(status: Status, lang: str) -> list[html.Div]:
    """Return the status strip: events stored, dead letters, events stored in the last minute."""
    items = [("events_stored", status.events), ("dead_letters", status.dead_letters),
             ("events_last_minute", status.last_minute)]
    cards = [_card(text(lang, key), f"{value:,}") for key, value in items]
    cards.append(_card(text(lang, "updated"), status.as_of.strftime("%H:%M:%S UTC")))
    return cards


def _card(label: str, value: str) -> html.Div:
    return html.Div([html.Div(label, className="og-label"), html.Div(value, className="og-value")],
                    className="og-card")
