"""The environment page (生态环境): pollution layers of the last 24 hours for an
environmental officer's region, played back hour by hour.

Top, the layer (AQI or one pollutant) and the averaging window (1 h, 8 h or
24 h running, `queries.air_windows`), and a slider over the last 24 hourly
steps with play/pause (a `dcc.Interval` moves the slider). Left, the map: the
stations' res-8 cells on the H3 layer coloured by the (individual) index's
HJ 633 category, and each station as a badge with its value; a step sends
only values (the cells' polygons go once). Right, the station series (pick
a station on the map or in the list) with the GB 3095 limit lines, and the
exceedance list (超标), worst first. Below, CSV and GeoJSON exports of the
window's hourly values with their data dictionary. Every read goes through
the actor's scope: stations and cells outside their region are not read,
and a role that may not open the page reads nothing through its callbacks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import dash_leaflet as dl
import numpy as np
from dash import Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts.actors import Actor
from onegrid.dashboard import ids
from onegrid.dashboard.components import hexmap
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages import environment_side as side
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.queries.environment import MAP_RES
from onegrid.dashboard.views import environment as view
from onegrid.dashboard.views.environment import MEASURES, W, choices
from onegrid.geo.boundaries import boundaries_geojson

MAP: Final = "env-map"
HEX: Final = "env-hex"
STATIONS: Final = "env-stations"
BOUNDARIES: Final = {lvl: f"env-boundary-{lvl}" for lvl in hexmap.BOUNDARY_LEVELS}
MEASURE: Final = "env-measure"
WINDOW: Final = "env-window"
SLIDER: Final = "env-slider"
PLAY: Final = "env-play"
PLAYER: Final = "env-player"
STEP: Final = "env-step"
NOTE: Final = "env-note"
LEGEND: Final = "env-legend"
ERROR: Final = "env-error"
DRAWN: Final = "env-drawn"
ANCHOR: Final = "env-anchor"
STATION: Final = "env-station"
CHART: Final = "env-chart"
EXCEED: Final = "env-exceed"
CSV: Final = "env-csv"
GEOJSON: Final = "env-geojson"
DOWNLOAD: Final = "env-download"
IDS: Final = (MAP, HEX, STATIONS, *BOUNDARIES.values(), MEASURE, WINDOW, SLIDER, PLAY, PLAYER,
              STEP, NOTE, LEGEND, ERROR, DRAWN, ANCHOR, STATION, CHART, EXCEED, CSV, GEOJSON,
              DOWNLOAD)

LAST: Final = windows.STEPS - 1
PLAY_MS: Final = 1000
VISIBLE_LEVELS: Final = ("district", "street")


# -- layout ----------------------------------------------------------------------

def layout(ctx: DashboardContext, actor: Actor, lang: str, path: str) -> html.Div:
    """Return the environment page for `actor` in `lang`."""
    scope = ctx.scope(actor)
    stations = reads.visible_stations(ctx, actor)
    end = reads.anchor_of(ctx, None)
    center, zoom = side.home_view(ctx, scope)
    the_map = hexmap.map_component(
        MAP, center=center, zoom=zoom, hex_id=HEX, marker_ids={}, boundary_ids=BOUNDARIES,
        boundaries={lvl: boundaries_geojson(ctx.regions, lvl) for lvl in VISIBLE_LEVELS},
        visible_levels=VISIBLE_LEVELS, tile_url=ctx.tile_url,
        extra_markers=[dl.GeoJSON(id=STATIONS, data=hexmap.EMPTY, hideout={},
                                  pointToLayer={"variable": "onegridEnv.station"})])
    tools = html.Div([
        html.Span(W(lang, "layer")),
        dcc.RadioItems([{"label": W(lang, f"measure_{m}"), "value": m} for m in MEASURES],
                       "aqi", id=MEASURE, inline=True),
        html.Span(W(lang, "window")),
        dcc.RadioItems([{"label": W(lang, f"window_{w}"), "value": w} for w in windows.WINDOWS],
                       "1h", id=WINDOW, inline=True),
        html.Span(side.region_label(ctx, scope, lang), className="og-muted"),
    ], className="og-maptools")
    player = html.Div([
        html.Button(W(lang, "play"), id=PLAY, n_clicks=0, className="og-secondary"),
        html.Div(dcc.Slider(0, LAST, 1, value=LAST, marks=side.slider_marks(ctx, end),
                            id=SLIDER, allow_direct_input=False), style={"flex": "1"}),
        html.Span(id=STEP, style={"fontWeight": 600, "minWidth": "260px"}),
    ], className="og-row")
    panel = html.Div([
        html.Div([
            html.Label(W(lang, "station"), className="og-label"),
            dcc.Dropdown([{"label": s.name(lang), "value": s.station_id} for s in stations],
                         None, id=STATION, placeholder=W(lang, "pick_station")),
            dcc.Loading(dcc.Graph(id=CHART, figure=side.empty_chart(lang),
                                  config={"displaylogo": False})),
        ], className="og-panel"),
        html.Div(dcc.Loading(html.Div(id=EXCEED)), className="og-panel",
                 style={"overflowX": "auto"}),
    ], className="og-side")
    exports = html.Div([
        html.Button(W(lang, "export_csv"), id=CSV, n_clicks=0),
        html.Button(W(lang, "export_geojson"), id=GEOJSON, n_clicks=0),
        html.Span(W(lang, "dictionary"), className="og-muted", style={"flex": "1"}),
        dcc.Download(id=DOWNLOAD),
    ], className="og-row")
    return html.Div([
        tools, player,
        html.Div(W(lang, "no_stations") if not stations else "", className="og-muted"),
        html.Div(id=ERROR, className="og-error"),
        html.Div(id=NOTE, className="og-status-line"),
        html.Div([
            html.Div([the_map, html.Div(view.legend(lang), id=LEGEND, className="og-legend")],
                     className="og-mapwrap"),
            panel,
        ], className="og-mapgrid", style={"height": "calc(100vh - 260px)",
                                          "gridTemplateColumns": "minmax(0, 1fr) 480px"}),
        exports,
        dcc.Store(id=DRAWN), dcc.Store(id=ANCHOR, data=end.isoformat()),
        dcc.Interval(id=PLAYER, interval=PLAY_MS, disabled=True, n_intervals=0),
    ])


# -- the map ---------------------------------------------------------------------

@dataclass(frozen=True)
class MapStep:
    """What one step changes on the map. `hex_data` and `station_data` are None when the
    browser already has them (then only the values in the hideouts go); `drawn` says
    what it has: {"cells": digest, "stations": digest}."""

    hex_data: dict[str, Any] | None
    hex_hideout: dict[str, Any]
    station_data: dict[str, Any] | None
    station_hideout: dict[str, Any]
    drawn: dict[str, str]
    label: str
    note: str


def map_step(ctx: DashboardContext, actor: Actor, measure: str | None, window: str | None,
             step: int | None, anchor: str | None, lang: str | None,
             drawn: dict[str, str] | None) -> MapStep:
    """Return the map at one step: the cells' (I)AQI and the stations' values; polygons
    and points only when the browser does not have them yet (`drawn`)."""
    lang, measure, window, step = choices(lang, measure, window, step)
    drawn = drawn if isinstance(drawn, dict) else {}
    stations, layer = side.read_layer(ctx, actor, window, reads.anchor_of(ctx, anchor))
    cells, cells_layer = windows.cell_layer(layer, [s.cell_r8 for s in stations])
    now = {"cells": hexmap.cells_digest(MAP_RES, cells),
           "stations": hexmap.cells_digest(10, [s.cell for s in stations])}
    index = np.nan_to_num(cells_layer.index_of(measure)[:, step], nan=0.0)
    label = view.measure_label(measure, window, lang)
    hideout = hexmap.hex_hideout(index.tolist(), "aqi", label if measure == "aqi"
                                 else f"{label} IAQI")
    valid = bool(np.isfinite(layer.aqi[:, step]).any()) or not stations
    note = "" if valid or window == "1h" else W(lang, "invalid",
                                                  window=W(lang, f"window_{window}"))
    return MapStep(
        hex_data=None if now["cells"] == drawn.get("cells") else hexmap.cells_to_geojson(cells),
        hex_hideout=hideout,
        station_data=None if now["stations"] == drawn.get("stations")
        else view.station_points(stations),
        station_hideout=view.station_hideout(stations, layer.value_of(measure)[:, step],
                                             layer.index_of(measure)[:, step], measure,
                                             window, lang),
        drawn=now, note=note,
        label=view.step_label(layer.hours[step], window, ctx.registry.timezone, lang))


def play(trigger: str | None, step: int | None, stopped: bool | None, lang: str | None
         ) -> tuple[Any, bool, str]:
    """Return (slider step, player stopped, button text) after a press of play/pause
    (`trigger` PLAY) or a tick of the player (PLAYER).

    Play from the last step starts over from the first; the player stops itself
    at the last step.
    """
    step = step if isinstance(step, int) and 0 <= step <= LAST else LAST
    if trigger == PLAY:
        if stopped is False:
            return no_update, True, W(lang, "play")
        return (0 if step >= LAST else no_update), False, W(lang, "pause")
    if trigger == PLAYER and stopped is False:
        nxt = min(step + 1, LAST)
        done = nxt >= LAST
        return nxt, done, W(lang, "play" if done else "pause")
    raise PreventUpdate


def follow(ctx: DashboardContext, anchor: str | None) -> tuple[str, dict[int, str]]:
    """Return (the new last hour, the slider's labels) once the clock has passed into a
    new hour; PreventUpdate while the page's last hour is still the latest."""
    end = reads.anchor_of(ctx, None)
    if anchor == end.isoformat():
        raise PreventUpdate
    return end.isoformat(), side.slider_marks(ctx, end)


# -- the side panel and the exports ----------------------------------------------------

def series(ctx: DashboardContext, actor: Actor, station_id: str | None, measure: str | None,
           window: str | None, anchor: str | None, step: int | None, lang: str | None):
    """Return the station's chart (the hint when no station the actor sees is picked)."""
    lang, measure, window, step = choices(lang, measure, window, step)
    return side.series_chart(ctx, actor, station_id, lang, measure, window, step,
                             reads.anchor_of(ctx, anchor))


def exceedance_list(ctx: DashboardContext, actor: Actor, measure: str | None,
                    window: str | None, anchor: str | None, lang: str | None) -> list:
    """Return the exceedance list of the window (all pollutants for the AQI layer)."""
    lang, measure, window, _ = choices(lang, measure, window, None)
    rows, has_limit = side.exceedances(ctx, actor, measure, window,
                                       reads.anchor_of(ctx, anchor))
    return view.exceedance_table(rows, window, measure, ctx.registry.timezone, lang, has_limit)


def export(ctx: DashboardContext, actor: Actor, kind: str, window: str | None,
           anchor: str | None) -> dict[str, Any]:
    """Return the CSV (`kind` "csv") or GeoJSON download of the window's hourly values."""
    _, _, window, _ = choices(None, None, window, None)
    return side.export_file(ctx, actor, kind, window, reads.anchor_of(ctx, anchor))


def picked_station(ctx: DashboardContext, actor: Actor, feature: dict | None) -> str:
    """Return the station a map click picked (a badge, or a cell holding stations) among
    those the actor sees; PreventUpdate otherwise."""
    found = hexmap.click_to_pick(feature)
    stations = reads.visible_stations(ctx, actor)
    if found and found["kind"] == "station":
        match = [s.station_id for s in stations if s.station_id == found["id"]]
    elif found and found["kind"] == "cell":
        match = [s.station_id for s in stations if hexmap.cell_to_id(s.cell_r8) == found["id"]]
    else:
        match = []
    if not match:
        raise PreventUpdate
    return match[0]


# -- wiring --------------------------------------------------------------------------

def register(app: Dash, ctx: DashboardContext) -> None:
    """Attach the environment page's callbacks to `app`."""
    lang_in = Input(ids.LANGUAGE, "value")
    choice = [Input(MEASURE, "value"), Input(WINDOW, "value")]

    @user_callback(app, ctx, [Output(HEX, "data"), Output(HEX, "hideout"),
                              Output(STATIONS, "data"), Output(STATIONS, "hideout"),
                              Output(DRAWN, "data"), Output(STEP, "children"),
                              Output(NOTE, "children"), Output(ERROR, "children")],
                   [*choice, Input(SLIDER, "value"), Input(ANCHOR, "data"), lang_in,
                    State(DRAWN, "data")],
                   fallback=lambda: (*[no_update] * 7, text("zh", "error")))
    def refresh_map(actor, measure, window, step, anchor, lang, drawn):
        found = map_step(ctx, actor, measure, window, step, anchor, lang, drawn)
        return (no_update if found.hex_data is None else found.hex_data, found.hex_hideout,
                no_update if found.station_data is None else found.station_data,
                found.station_hideout, found.drawn, found.label, found.note, "")

    @user_callback(app, ctx, [Output(SLIDER, "value"), Output(PLAYER, "disabled"),
                              Output(PLAY, "children")],
                   [Input(PLAY, "n_clicks"), Input(PLAYER, "n_intervals"),
                    State(SLIDER, "value"), State(PLAYER, "disabled"),
                    State(ids.LANGUAGE, "value")], prevent_initial_call=True)
    def player(actor, _clicks, _ticks, step, stopped, lang):
        return play(dash_ctx.triggered_id, step, stopped, lang)

    @user_callback(app, ctx, [Output(ANCHOR, "data"), Output(SLIDER, "marks")],
                   [Input(ids.TICK, "n_intervals"), State(ANCHOR, "data")],
                   prevent_initial_call=True)
    def follow_clock(actor, _tick, anchor):
        return follow(ctx, anchor)

    @user_callback(app, ctx, [Output(STATION, "value")],
                   [Input(STATIONS, "clickData"), Input(HEX, "clickData")],
                   prevent_initial_call=True)
    def pick(actor, station_click, cell_click):
        clicked = station_click if dash_ctx.triggered_id == STATIONS else cell_click
        return picked_station(ctx, actor, clicked)

    @user_callback(app, ctx, [Output(CHART, "figure")],
                   [Input(STATION, "value"), *choice, Input(ANCHOR, "data"), lang_in,
                    Input(SLIDER, "value")])
    def chart(actor, station_id, measure, window, anchor, lang, step):
        if dash_ctx.triggered_id == SLIDER and station_id:
            return side.chart_step(ctx, window, anchor, step)
        return series(ctx, actor, station_id, measure, window, anchor, step, lang)

    @user_callback(app, ctx, [Output(EXCEED, "children")],
                   [*choice, Input(ANCHOR, "data"), lang_in],
                   fallback=lambda: html.Div(text("zh", "error"), className="og-error"))
    def exceed(actor, measure, window, anchor, lang):
        return exceedance_list(ctx, actor, measure, window, anchor, lang)

    @user_callback(app, ctx, [Output(DOWNLOAD, "data")],
                   [Input(CSV, "n_clicks"), Input(GEOJSON, "n_clicks"), State(WINDOW, "value"),
                    State(ANCHOR, "data")], prevent_initial_call=True)
    def download(actor, csv_clicks, geojson_clicks, window, anchor):
        kind = "csv" if dash_ctx.triggered_id == CSV else "geojson"
        if not (csv_clicks if kind == "csv" else geojson_clicks):
            raise PreventUpdate
        return export(ctx, actor, kind, window, anchor)


PAGE: Final = Page("environment", "/environment", reads.ROLES, layout, register,
                   nav="nav_environment", ids=IDS)
