"""The sources layer of the environment page: the register's pollution sources (污染源) as
markers by category, the picked episode's upwind candidates ringed and numbered on
them, and a ring (with the wind's line) at the episode's station.

The points go once with the page (the register changes with a restart, not
a tick); picking an episode sends only the layer's `hideout` ({"rank": {id:
n}}). Drawn by `onegridEnv.source` and `onegridEnv.focus`
(assets/onegrid_environment.js).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

import dash_leaflet as dl
from dash import html

from onegrid.dashboard.components.hexmap import EMPTY
from onegrid.dashboard.views import episodes as view

# category -> marker colour (any other category draws grey)
CATEGORY_COLOURS: Final = {
    "enterprise": "#6c3483", "boiler": "#a04000", "print": "#117a65", "paint": "#c2185b",
    "concrete": "#566573", "site": "#2471a3", "construction": "#b9770e", "catering": "#7d6608",
}
_OTHER: Final = "#5d6d7e"
_WIND_KM: Final = 2.0  # length of the wind line drawn upwind of the station
_KM_PER_DEG: Final = 111.32


def sources_geojson(sources: Sequence[Any], lang: str) -> dict[str, Any]:
    """Return the sources as GeoJSON points whose properties say what a click picks (kind
    "source", id), the marker's colour and the tooltip (name, category, permits)."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [s.lng, s.lat]},
         "properties": {"kind": "source", "id": s.source_id, "category": s.category,
                        "colour": CATEGORY_COLOURS.get(s.category, _OTHER),
                        "tooltip": view.W(lang, "source_tip", name=_name(s, lang),
                                          category=view.category_name(s.category, lang),
                                          permits=view.permits_text(s.permits, lang))}}
        for s in sources]}


def candidate_hideout(candidates: Sequence[Any]) -> dict[str, Any]:
    """Return the layer's hideout ringing and numbering the candidates (1 = best)."""
    return {"rank": {c.source.source_id: n for n, c in enumerate(candidates, start=1)}}


def focus_geojson(lat: float | None, lng: float | None,
                  wind_from_deg: float | None) -> dict[str, Any]:
    """Return the picked station's ring and, with a wind, a line from 2 km upwind to it."""
    if lat is None or lng is None:
        return EMPTY
    features: list[dict[str, Any]] = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lng, lat]},
         "properties": {"kind": "focus"}}]
    if wind_from_deg is not None and math.isfinite(wind_from_deg):
        rad = math.radians(wind_from_deg)  # the wind comes from this bearing
        dlat = _WIND_KM * math.cos(rad) / _KM_PER_DEG
        dlng = _WIND_KM * math.sin(rad) / (_KM_PER_DEG * math.cos(math.radians(lat)))
        features.append({"type": "Feature", "properties": {"kind": "wind"}, "geometry": {
            "type": "LineString", "coordinates": [[lng + dlng, lat + dlat], [lng, lat]]}})
    return {"type": "FeatureCollection", "features": features}


def layers(sources_id: str, focus_id: str, data: dict[str, Any]) -> list[dl.GeoJSON]:
    """Return the two map layers (for `hexmap.map_component(extra_markers=...)`)."""
    return [dl.GeoJSON(id=sources_id, data=data, hideout={"rank": {}},
                       pointToLayer={"variable": "onegridEnv.source"}),
            dl.GeoJSON(id=focus_id, data=EMPTY, interactive=False,
                       pointToLayer={"variable": "onegridEnv.focus"},
                       style={"color": "#c0392b", "weight": 3, "dashArray": "6 4"})]


def legend_rows(sources: Sequence[Any], lang: str) -> list:
    """Return the legend's row of the source categories shown (none without sources)."""
    present = sorted({s.category for s in sources})
    if not present:
        return []
    chips = [html.Span([html.Span(style={
        "display": "inline-block", "width": "9px", "height": "9px", "marginRight": "4px",
        "background": CATEGORY_COLOURS.get(c, _OTHER), "transform": "rotate(45deg)"}),
        view.category_name(c, lang)]) for c in present]
    return [html.Div([html.Span(view.W(lang, "sources_legend"), className="og-label"), *chips],
                     className="og-row")]


def _name(source: Any, lang: str) -> str:
    return source.name_en if lang == "en" else source.name_zh
