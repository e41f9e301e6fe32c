"""The hex map: the H3 layer, the markers and the boundaries of the command map, in plotly.

Why this shape: the browser must never hold more polygons than it can redraw
in well under a second (plotly re-sets a Choroplethmap's whole GeoJSON on
every update, Patch or not; see bench/map_components.py). So the layer's
resolution follows the zoom (res 7 for the city, down to 10 for a street),
only the cells in view are sent, their polygons go once per view (the city's
own cells in view, plus any cell with data there), and each live tick
patches only the values (`z`) of the polygons already drawn. Boundaries are
map layers sent once with the figure and shown or hidden by a patch. The
base style is "white-bg", which makes no request; a tile URL from config
adds a raster layer underneath.

Traces, in order: 0 the H3 layer; 1 incident reports; 2 firing alerts;
3 open cases. Each marker carries its id in `customdata`, so a click tells
the page what was picked.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import plotly.graph_objects as go
from dash import Patch
from h3.api import basic_int as h3i

from onegrid.geo.cells import cells_to_parent

# Map zoom (MapLibre, 512 px tiles) at which each finer resolution takes over;
# each step keeps a cell 25-45 px across and a full-screen view under ~2,500 cells.
_ZOOM_TO_RES: Final = ((11.5, 7), (12.8, 8), (14.2, 9))
FINEST_RES: Final = 10
COARSEST_RES: Final = 7
# resolution -> the events column that stores each event's cell at it
CELL_COLUMNS: Final = {7: "cell_r7", 8: "cell_r8", 9: "cell_r9", 10: "cell"}
# resolution -> mean hexagon edge length in km (H3's published averages)
_EDGE_KM: Final = {7: 1.406, 8: 0.531, 9: 0.201, 10: 0.076}
MAX_CELLS: Final = 6000  # more polygons than a screen can show; the rest are left out
_KM_PER_DEG: Final = 111.32
_DECIMALS: Final = 5  # about 1 m, far below a res-10 cell
UIREVISION: Final = "command-map"
BOUNDARY_LEVELS: Final = ("district", "street", "community", "grid")
# level -> its line style; finer levels appear only once zoomed in.
BOUNDARY_STYLES: Final = {
    "district": {"color": "#1f3a5f", "width": 2.2},
    "street": {"color": "#55667a", "width": 1.0, "minzoom": 11.0},
    "community": {"color": "#8a99aa", "width": 0.6, "minzoom": 12.5},
    "grid": {"color": "#aab5c3", "width": 0.4, "minzoom": 14.0},
}
# measure -> its colour scale. 0 means "no data" and is transparent: the polygons of
# the view stay put while their values change, so a cell without data must not show.
_CLEAR: Final = "rgba(255,255,255,0)"
_COUNTS: Final = [[0.0, _CLEAR], [1e-6, "#ffffcc"], [0.25, "#fed976"], [0.5, "#fd8d3c"],
                  [0.75, "#e31a1c"], [1.0, "#800026"]]
COLORSCALES: Final = {
    "events": _COUNTS, "incidents": _COUNTS,
    "alerts": [[0.0, _CLEAR], [1e-6, "#fcbba1"], [0.5, "#ef3b2c"], [1.0, "#67000d"]],
    "cases": [[0.0, _CLEAR], [1e-6, "#dadaeb"], [0.5, "#807dba"], [1.0, "#3f007d"]],
    # HJ 633 colours: 优 green, 良 yellow, 轻度 orange, 中度 red, 重度 purple, 严重 maroon.
    "aqi": [[0.0, _CLEAR], [1e-6, "#00e400"], [0.1, "#00e400"], [0.1, "#ffff00"],
            [0.2, "#ffff00"], [0.2, "#ff7e00"], [0.3, "#ff7e00"], [0.3, "#ff0000"],
            [0.4, "#ff0000"], [0.4, "#99004c"], [0.6, "#99004c"], [0.6, "#7e0023"],
            [1.0, "#7e0023"]],
}
MARKER_TRACES: Final = {"incidents": 1, "alerts": 2, "cases": 3}
_MARKER_STYLE: Final = {
    "incidents": {"size": 7, "color": "#e67e22", "symbol": "circle"},
    "alerts": {"size": 12, "color": "#c0392b", "symbol": "circle"},
    "cases": {"size": 10, "color": "#6c3483", "symbol": "circle"},
}
_EMPTY_FC: Final = {"type": "FeatureCollection", "features": []}

Bbox = tuple[float, float, float, float]  # west, south, east, north (degrees)


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
    """Return the view {"res", "zoom", "bbox"} a map relayout asks for, or None.

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
    zoom = float(relayout["map.zoom"])
    return {"res": zoom_to_res(zoom), "zoom": zoom, "bbox": bbox}


def padded_bbox(bbox: Sequence[float], res: int) -> Bbox:
    """Return `bbox` grown by one cell diameter at `res` on each side.

    A cell that touches the view then has all its events inside the padded box,
    so its value is whole, not cut at the screen's edge.
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


def cells_to_geojson(cells: Sequence[int]) -> dict[str, Any]:
    """Return a FeatureCollection with one polygon per cell, in the order given."""
    return {"type": "FeatureCollection", "features": [cell_to_feature(c) for c in cells]}


def cells_digest(res: int, cells: Sequence[int]) -> str:
    """Return a short digest of which cells are drawn, so unchanged polygons are not re-sent."""
    data = np.asarray(cells, dtype=np.uint64).tobytes()
    return f"{res}:" + hashlib.blake2b(data, digest_size=8).hexdigest()


def city_cells_in_view(city_cells: np.ndarray, lat: np.ndarray, lng: np.ndarray, res: int,
                       bbox: Sequence[float] | None) -> np.ndarray:
    """Return the city's cells at `res` whose res-10 children lie in the padded view, sorted.

    `city_cells` are the city's res-10 cells and `lat`/`lng` their centres.
    """
    if bbox is None:
        inside = np.ones(len(city_cells), dtype=bool)
    else:
        west, south, east, north = padded_bbox(bbox, res)
        inside = (lat >= south) & (lat <= north) & (lng >= west) & (lng <= east)
    cells = city_cells[inside]
    if res < FINEST_RES:
        cells = cells_to_parent(cells, res)
    return np.unique(cells)


def layer_cells(city: np.ndarray, data_cells: np.ndarray) -> np.ndarray:
    """Return the cells to draw: the city's in view and any with data, sorted, capped."""
    cells = np.union1d(np.asarray(city, np.uint64), np.asarray(data_cells, np.uint64))
    return cells[:MAX_CELLS]


def values_for(cells: np.ndarray, data_cells: np.ndarray, data_values: np.ndarray
               ) -> list[float]:
    """Return one value per drawn cell (0, drawn transparent, where a cell has no data),
    aligned to `cells`."""
    out: list[float] = [0.0] * len(cells)
    if len(data_cells) == 0:
        return out
    idx = np.searchsorted(cells, data_cells)
    ok = (idx < len(cells)) & (cells[np.minimum(idx, len(cells) - 1)] == data_cells)
    for i, v in zip(idx[ok].tolist(), np.asarray(data_values)[ok].tolist(), strict=True):
        out[i] = v
    return out


def base_figure(*, center: tuple[float, float], zoom: float,
                boundaries: Mapping[str, dict[str, Any]], visible_levels: Sequence[str],
                tile_url: str | None = None) -> go.Figure:
    """Return the command map with an empty H3 layer and empty marker layers.

    `center` is (lat, lng). `boundaries` maps a level to its FeatureCollection;
    levels in `visible_levels` start shown. `tile_url` (an XYZ template) adds a
    raster layer below everything.
    """
    hexes = go.Choroplethmap(
        geojson=_EMPTY_FC, locations=[], z=[], featureidkey="id", colorscale=_COUNTS,
        zmin=0, zmax=1, marker={"opacity": 0.7, "line": {"width": 0.3, "color": "#ffffff"}},
        colorbar={"thickness": 12, "len": 0.55, "x": 0.99, "y": 0.5}, hoverinfo="skip",
        name="hex")
    traces: list[Any] = [hexes]
    for kind in MARKER_TRACES:
        traces.append(go.Scattermap(lat=[], lon=[], mode="markers", name=kind, text=[],
                                    customdata=[], marker=_MARKER_STYLE[kind],
                                    hovertemplate="%{text}<extra></extra>"))
    fig = go.Figure(traces)
    fig.update_layout(
        map={"style": "white-bg", "center": {"lat": center[0], "lon": center[1]},
             "zoom": zoom, "layers": _layers(boundaries, visible_levels, tile_url)},
        margin={"l": 0, "r": 0, "t": 0, "b": 0}, uirevision=UIREVISION,
        paper_bgcolor="#ffffff", showlegend=False, clickmode="event")
    return fig


def hex_patch(patch: Patch, cells: np.ndarray, values: Sequence[float], *,
              measure: str, title: str, with_geometry: bool, hover: str) -> Patch:
    """Set the H3 layer's values (and, `with_geometry`, its polygons) on `patch`."""
    trace = patch["data"][0]
    if with_geometry:
        trace["geojson"] = cells_to_geojson(cells)
        trace["locations"] = [cell_to_id(c) for c in cells]
    trace["z"] = list(values)
    present = [v for v in values if v]
    if measure == "aqi":
        trace["zmin"], trace["zmax"] = 0, 500
    else:
        trace["zmin"], trace["zmax"] = 0, max(max(present, default=0), 1)
    trace["colorscale"] = COLORSCALES[measure]
    trace["colorbar"]["title"]["text"] = title
    trace["hovertemplate"] = hover
    trace["hoverinfo"] = "all"
    return patch


def markers_patch(patch: Patch, kind: str, markers: Sequence[Mapping[str, Any]],
                  visible: bool) -> Patch:
    """Set one marker layer (`incidents`, `alerts`, `cases`) on `patch`.

    Each marker is {"lat", "lng", "id", "text"}.
    """
    trace = patch["data"][MARKER_TRACES[kind]]
    trace["lat"] = [m["lat"] for m in markers] if visible else []
    trace["lon"] = [m["lng"] for m in markers] if visible else []
    trace["customdata"] = [f"{kind}:{m['id']}" for m in markers] if visible else []
    trace["text"] = [m["text"] for m in markers] if visible else []
    return patch


def layers_patch(patch: Patch, visible_levels: Sequence[str], tile_url: str | None) -> Patch:
    """Show the boundary levels in `visible_levels` and hide the others."""
    offset = 1 if tile_url else 0
    for i, level in enumerate(BOUNDARY_LEVELS):
        patch["layout"]["map"]["layers"][offset + i]["visible"] = level in visible_levels
    return patch


def click_to_pick(click: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Return what a map click picked: {"kind": "cell"|"incidents"|"alerts"|"cases", "id"}."""
    points = (click or {}).get("points") or []
    if not points:
        return None
    point = points[0]
    custom = point.get("customdata")
    if isinstance(custom, str) and ":" in custom:
        kind, _, item = custom.partition(":")
        return {"kind": kind, "id": item}
    location = point.get("location")
    if location:
        return {"kind": "cell", "id": str(location)}
    return None


def _layers(boundaries: Mapping[str, dict[str, Any]], visible_levels: Sequence[str],
            tile_url: str | None) -> list[dict[str, Any]]:
    layers: list[dict[str, Any]] = []
    if tile_url:
        # "traces" puts the tiles under the cells; the boundaries stay on top.
        layers.append({"sourcetype": "raster", "source": [tile_url], "below": "traces"})
    for level in BOUNDARY_LEVELS:
        style = BOUNDARY_STYLES[level]
        layer = {"sourcetype": "geojson", "source": boundaries.get(level, _EMPTY_FC),
                 "type": "line", "color": style["color"], "line": {"width": style["width"]},
                 "visible": level in visible_levels}
        if "minzoom" in style:
            layer["minzoom"] = style["minzoom"]
        layers.append(layer)
    return layers
