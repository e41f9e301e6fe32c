"""The hex map: the H3 layer, the markers and the boundaries of a map page, in dash-leaflet.

Why leaflet: measured here in headless Chromium (software rendering, 2 cores;
`python bench/map_components.py`), one live update of a plotly
Choroplethmap took 0.6 s at 500 cells and 0.9-2.2 s at 2,000-4,000 (plotly
re-sets the whole GeoJSON on every update, Patch or not, and redraws it in
software WebGL), and its first render 3.6-6.6 s; a dash-leaflet GeoJSON on a
canvas, restyled from a list of values in `hideout`, took 50-250 ms per
update and 0.6-1.5 s to first render at the same sizes, with updates as small.

And why this shape: the browser must never hold more polygons than it can
redraw in well under a second, so the layer's resolution follows the zoom
(res 7 for the city, down to 10 for a street), only the cells in view are
sent, their polygons go once per view (the city's own cells in view plus any
cell with data there), and each live tick sends only the values, in feature
order. Boundaries are layers sent once and shown or hidden through their
`hideout`. There are no map tiles unless config gives a tile URL.

The JavaScript that styles features is `assets/onegrid_map.js`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

import dash_leaflet as dl
import numpy as np
from dash import Dash, Input, Output, html
from h3.api import basic_int as h3i

from onegrid.geo.cells import cells_to_parent

# Leaflet zoom (256 px tiles) below which each resolution shows; from 15 on, res 10.
# Each step keeps a cell 20-50 px across and a 1,400 x 800 view under ~2,500 cells.
_ZOOM_TO_RES: Final = ((12, 7), (13, 8), (15, 9))
FINEST_RES: Final = 10
COARSEST_RES: Final = 7
MIN_ZOOM: Final = 9
MAX_ZOOM: Final = 19
ZOOM_SNAP: Final = 0.25  # quarter steps: the city fills the screen instead of half of it
# resolution -> the events column that stores each event's cell at it
CELL_COLUMNS: Final = {7: "cell_r7", 8: "cell_r8", 9: "cell_r9", 10: "cell"}
# resolution -> mean hexagon edge length in km (H3's published averages)
_EDGE_KM: Final = {7: 1.406, 8: 0.531, 9: 0.201, 10: 0.076}
MAX_CELLS: Final = 6000  # more polygons than a screen can show; the rest are left out
_KM_PER_DEG: Final = 111.32
_DECIMALS: Final = 5  # about 1 m, far below a res-10 cell
BOUNDARY_LEVELS: Final = ("district", "street", "community", "grid")
# level -> its line style
BOUNDARY_STYLES: Final = {
    "district": {"color": "#1f3a5f", "weight": 2.4},
    "street": {"color": "#55667a", "weight": 1.1},
    "community": {"color": "#8a99aa", "weight": 0.7},
    "grid": {"color": "#aab5c3", "weight": 0.5},
}
# measure -> its colour scale. 0 is "no data" and drawn transparent (the JS skips it).
_COUNTS: Final = [[0.0, "#ffffcc"], [0.25, "#fed976"], [0.5, "#fd8d3c"], [0.75, "#e31a1c"],
                  [1.0, "#800026"]]
COLORSCALES: Final = {
    "events": _COUNTS, "incidents": _COUNTS,
    "alerts": [[0.0, "#fcbba1"], [0.5, "#ef3b2c"], [1.0, "#67000d"]],
    "cases": [[0.0, "#dadaeb"], [0.5, "#807dba"], [1.0, "#3f007d"]],
    # HJ 633 colours on 0-500: 优 green, 良 yellow, 轻度 orange, 中度 red, 重度 purple, 严重 maroon.
    "aqi": [[0.0, "#00e400"], [0.1, "#00e400"], [0.1001, "#ffff00"], [0.2, "#ffff00"],
            [0.2001, "#ff7e00"], [0.3, "#ff7e00"], [0.3001, "#ff0000"], [0.4, "#ff0000"],
            [0.4001, "#99004c"], [0.6, "#99004c"], [0.6001, "#7e0023"], [1.0, "#7e0023"]],
}
FIXED_MAX: Final = {"aqi": 500.0}
MARKER_STYLES: Final = {
    "incidents": {"color": "#e67e22", "radius": 4},
    "alerts": {"color": "#c0392b", "radius": 7},
    "cases": {"color": "#6c3483", "radius": 6},
}
_FN: Final = "onegridMap"
EMPTY: Final = {"type": "FeatureCollection", "features": []}

Bbox = tuple[float, float, float, float]  # west, south, east, north (degrees)


def zoom_to_res(zoom: float) -> int:
    """Return the H3 resolution (7-10) the map shows at leaflet `zoom`."""
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


def view_of(zoom: float | None, bounds: Sequence[Sequence[float]] | None) -> dict[str, Any]:
    """Return the view {"res", "zoom", "bbox"} of leaflet's `zoom` and `bounds`
    ([[south, west], [north, east]]); bbox is None when bounds are not known yet."""
    zoom = float(zoom) if zoom is not None else float(MIN_ZOOM)
    bbox = None
    if bounds and len(bounds) == 2:
        (south, west), (north, east) = bounds
        bbox = [float(west), float(south), float(east), float(north)]
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


def bounds_to_zoom(bounds: Sequence[float], width_px: int = 1000, height_px: int = 640
                   ) -> float:
    """Return the largest leaflet zoom (a multiple of ZOOM_SNAP) at which `bounds`
    (W, S, E, N) fits the size."""
    west, south, east, north = bounds

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))

    # The leaflet world is 256 px wide at zoom 0: 360 degrees, or 2*pi in Mercator y.
    z_lng = math.log2(width_px * 360 / (256 * max(east - west, 1e-9)))
    z_lat = math.log2(height_px * 2 * math.pi / (256 * max(merc(north) - merc(south), 1e-9)))
    snapped = math.floor(min(z_lng, z_lat) / ZOOM_SNAP) * ZOOM_SNAP
    return max(MIN_ZOOM, min(MAX_ZOOM, snapped))


def cell_to_id(cell: int) -> str:
    """Return the H3 string id of a cell."""
    return h3i.int_to_str(int(cell))


def cell_to_feature(cell: int, index: int = 0) -> dict[str, Any]:
    """Return the GeoJSON polygon of one H3 cell; properties hold its id and its index
    in the layer (the position of its value in each update)."""
    # h3 gives (lat, lng) pairs; GeoJSON wants [lng, lat] and a closed ring.
    ring = [[round(lng, _DECIMALS), round(lat, _DECIMALS)]
            for lat, lng in h3i.cell_to_boundary(int(cell))]
    ring.append(ring[0])
    return {"type": "Feature", "properties": {"i": index, "id": cell_to_id(cell)},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def cells_to_geojson(cells: Sequence[int]) -> dict[str, Any]:
    """Return a FeatureCollection with one polygon per cell, in the order given."""
    return {"type": "FeatureCollection",
            "features": [cell_to_feature(c, i) for i, c in enumerate(cells)]}


def cells_digest(res: int, cells: Sequence[int]) -> str:
    """Return a short digest of which cells are drawn, so unchanged polygons are not re-sent."""
    data = np.asarray(cells, dtype=np.uint64).tobytes()
    return f"{res}:" + hashlib.blake2b(data, digest_size=8).hexdigest()


def with_digest(data: dict[str, Any], digest: str) -> dict[str, Any]:
    """Return a layer's FeatureCollection carrying `digest` (a GeoJSON foreign member that
    Leaflet ignores), so the page can read back which polygons or points it holds."""
    return {**data, "digest": digest}


def track_drawn(app: Dash, store_id: str, layers: Mapping[str, str]) -> None:
    """Keep `store_id` holding {key: digest} of the data each layer (key -> layer id) holds
    in the browser, read back from the layers in a clientside callback.

    Why not have the server callback write the store beside the data: Dash applies a
    response to whatever component has the id when it lands. A response from a page that
    was just drawn again (a language switch, a clock tick in flight) then sets the store
    to "polygons sent" over the new page's empty layers, and the map stays blank until the
    cells change. Read back from the layers, the store can only ever say what is there.
    """
    keys = json.dumps(list(layers))
    app.clientside_callback(
        f"""function () {{
            var keys = {keys}, found = {{}};
            for (var i = 0; i < keys.length; i++) {{
                found[keys[i]] = (arguments[i] && arguments[i].digest) || null;
            }}
            return found;
        }}""",
        Output(store_id, "data"), [Input(layer_id, "data") for layer_id in layers.values()])


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
    aligned to `cells`; values are rounded to 2 places to keep updates small."""
    out = np.zeros(len(cells), dtype=float)
    if len(data_cells) and len(cells):
        idx = np.searchsorted(cells, data_cells)
        ok = (idx < len(cells)) & (cells[np.minimum(idx, len(cells) - 1)] == data_cells)
        out[idx[ok]] = np.asarray(data_values, dtype=float)[ok]
    return np.round(out, 2).tolist()


def hex_hideout(values: Sequence[float], measure: str, label: str) -> dict[str, Any]:
    """Return the H3 layer's `hideout` for one tick: values in feature order, the colour
    scale, the top of the scale and the tooltip label."""
    top = FIXED_MAX.get(measure) or max(max(values, default=0.0), 1.0)
    return {"v": list(values), "scale": COLORSCALES[measure], "max": top, "label": label}


def points_to_geojson(points: Sequence[Mapping[str, Any]], kind: str) -> dict[str, Any]:
    """Return marker points ({"lat", "lng", "id", "text"}) as a FeatureCollection whose
    properties say what a click picked (kind and id) and what the tooltip says."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            round(p["lng"], _DECIMALS), round(p["lat"], _DECIMALS)]},
         "properties": {"kind": kind, "id": p["id"], "tooltip": p["text"]}} for p in points]}


def boundary_hideout(level: str, visible: bool) -> dict[str, Any]:
    """Return a boundary layer's `hideout`: its line style and whether it shows."""
    return {**BOUNDARY_STYLES[level], "visible": bool(visible)}


def click_to_pick(feature: Mapping[str, Any] | None) -> dict[str, str] | None:
    """Return what a click on a layer picked: {"kind": "cell"|"incidents"|..., "id"}."""
    props = (feature or {}).get("properties") or {}
    if "kind" in props and props.get("id"):
        return {"kind": str(props["kind"]), "id": str(props["id"])}
    if props.get("id"):
        return {"kind": "cell", "id": str(props["id"])}
    return None


def map_component(map_id: str, *, center: tuple[float, float], zoom: float, hex_id: str,
                  marker_ids: Mapping[str, str], boundary_ids: Mapping[str, str],
                  boundaries: Mapping[str, dict[str, Any]], visible_levels: Sequence[str],
                  tile_url: str | None = None, height: str = "100%",
                  extra_markers: Sequence[Any] = ()) -> dl.Map:
    """Return the map: optional tiles, boundary layers (sent once), the H3 layer and one
    marker layer per kind in `marker_ids`, all empty until the first tick fills them.
    `extra_markers` are a page's own point layers, drawn with the markers on top."""
    layers: list[Any] = []
    if tile_url:
        layers.append(dl.TileLayer(url=tile_url, maxZoom=MAX_ZOOM))
    # Panes fix the drawing order: cells, then boundaries over them, then markers. Without
    # them the order is whichever layer finished loading last (GeoJSON loads async).
    layers.append(dl.Pane(dl.GeoJSON(
        id=hex_id, data=EMPTY, style={"variable": f"{_FN}.hexStyle"},
        onEachFeature={"variable": f"{_FN}.hexTooltip"}, hideout=hex_hideout([], "events", "")),
        name="og-cells", style={"zIndex": 400}))
    bounds = [dl.Pane(dl.GeoJSON(
        id=boundary_ids[level], data=boundaries.get(level, EMPTY), interactive=False,
        style={"variable": f"{_FN}.boundaryStyle"},
        hideout=boundary_hideout(level, level in visible_levels)),
        name=f"og-{level}", style={"zIndex": 440 - 10 * i, "pointerEvents": "none"})
        for i, level in enumerate(BOUNDARY_LEVELS)]  # districts on top
    layers += bounds
    layers.append(dl.Pane([*(dl.GeoJSON(id=marker_id, data=EMPTY,
                                        pointToLayer={"variable": f"{_FN}.marker"},
                                        hideout=MARKER_STYLES[kind])
                             for kind, marker_id in marker_ids.items()), *extra_markers],
                          name="og-markers", style={"zIndex": 460}))
    return dl.Map(layers, id=map_id, center=list(center), zoom=zoom, minZoom=MIN_ZOOM,
                  maxZoom=MAX_ZOOM, preferCanvas=True, trackViewport=True, zoomSnap=ZOOM_SNAP,
                  zoomDelta=0.5, wheelPxPerZoomLevel=120,
                  attributionControl=False, style={"height": height, "width": "100%",
                                                   "background": "#f7f9fb"})


def legend(measure: str, top: float, label: str) -> list:
    """Return the colour legend of the H3 layer: a gradient from 0 to `top`."""
    scale = COLORSCALES[measure]
    gradient = ", ".join(f"{c} {round(s * 100, 2)}%" for s, c in scale)
    return [html.Div(label, className="og-label"),
            html.Div(style={"background": f"linear-gradient(to right, {gradient})",
                            "height": "10px", "width": "180px", "borderRadius": "2px"}),
            html.Div([html.Span("0"), html.Span(f"{top:g}", style={"float": "right"})],
                     className="og-muted", style={"width": "180px"})]
