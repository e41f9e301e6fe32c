"""The environment page (生态环境): pollution layers of the last 24 hours for an
environmental officer's region, played back hour by hour.

Top, the layer (AQI or one pollutant) and the averaging window (1 h, 8 h or
24 h running, `queries.air_windows`), and a slider over the last 24 hourly
steps with play/pause (a `dcc.Interval` moves the slider, to the next hour
once the map has drawn this one). Left, the map: the stations' res-8 cells on
the H3 layer coloured by the (individual) index's HJ 633 category, and each
station as a badge with its value; a step sends only values (the cells'
polygons go once). Right, the episodes list and the
station series (pick a station on the map or in the list) with the GB 3095
limit lines. Below, CSV and GeoJSON exports of the window's hourly values
with their data dictionary, and the station-hours above the limits (超标),
worst first; the player's decisions are `environment_player`'s. Every read goes through
the actor's scope: stations and cells outside their region are not read,
and a role that may not open the page reads nothing through its callbacks.

Between the stations, the region's other res-8 cells carry estimates
(`queries.estimates`: inverse-distance weighting of the stations'
concentrations) on a layer of their own, drawn lighter with a dashed outline
and named "估算" in the legend and tooltips, never over a measured cell. The
side panel lists the episodes (超标过程, `pages.environment_episodes`);
picking one replays it: the slider covers its hours, the player plays them
and stops at its last, its station is picked, and its upwind candidate
sources are listed and ringed on the sources layer.
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
from onegrid.dashboard.components import hexmap, sources_layer
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages import environment_episodes as episodes
from onegrid.dashboard.pages import environment_player as player
from onegrid.dashboard.pages import environment_side as side
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.queries import estimates
from onegrid.dashboard.queries import sources as source_reads
from onegrid.dashboard.queries.environment import MAP_RES
from onegrid.dashboard.views import environment as view
from onegrid.dashboard.views.environment import MEASURES, W, choices
from onegrid.geo.boundaries import boundaries_geojson

MAP: Final = "env-map"
HEX: Final = "env-hex"
STATIONS: Final = "env-stations"
ESTIMATES: Final = "env-estimates"
LAYERS: Final = "env-layers"
BOUNDARIES: Final = {lvl: f"env-boundary-{lvl}" for lvl in hexmap.BOUNDARY_LEVELS}
MEASURE: Final = "env-measure"
WINDOW: Final = "env-window"
SLIDER: Final = "env-slider"
PLAY: Final = player.PLAY
PLAYER: Final = player.PLAYER
STEP: Final = "env-step"
NOTE: Final = "env-note"
LEGEND: Final = "env-legend"
ERROR: Final = "env-error"
DRAWN: Final = "env-drawn"
DRAWN_STEP: Final = "env-drawn-step"
ANCHOR: Final = "env-anchor"
STATION: Final = "env-station"
CHART: Final = "env-chart"
CHART_SHOWS: Final = "env-chart-shows"
EXCEED: Final = "env-exceed"
CSV: Final = "env-csv"
GEOJSON: Final = "env-geojson"
DOWNLOAD: Final = "env-download"
IDS: Final = (MAP, HEX, STATIONS, ESTIMATES, LAYERS, *BOUNDARIES.values(), MEASURE, WINDOW,
              SLIDER, PLAY, PLAYER, STEP, NOTE, LEGEND, ERROR, DRAWN, DRAWN_STEP, ANCHOR,
              STATION, CHART, CHART_SHOWS, EXCEED, CSV, GEOJSON, DOWNLOAD, *episodes.IDS)

LAST: Final = player.LAST
play = player.play  # the player's decisions, named here as the page's callbacks use them
follow = player.follow
PLAY_MS: Final = 1000
VISIBLE_LEVELS: Final = ("district", "street")
SHOWN: Final = ("estimates", "sources")  # the optional layers, both on at first


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
        extra_markers=[dl.GeoJSON(id=ESTIMATES, data=hexmap.EMPTY, hideout={"show": False},
                                  style={"variable": "onegridEnv.estimateStyle"},
                                  onEachFeature={"variable": "onegridEnv.estimateTip"}),
                       *episodes.map_layers(),
                       dl.GeoJSON(id=STATIONS, data=hexmap.EMPTY, hideout={},
                                  pointToLayer={"variable": "onegridEnv.station"})])
    tools = html.Div([
        html.Span(W(lang, "layer")),
        dcc.RadioItems([{"label": W(lang, f"measure_{m}"), "value": m} for m in MEASURES],
                       "aqi", id=MEASURE, inline=True),
        html.Span(W(lang, "window")),
        dcc.RadioItems([{"label": W(lang, f"window_{w}"), "value": w} for w in windows.WINDOWS],
                       "1h", id=WINDOW, inline=True),
        html.Span(W(lang, "show")),
        dcc.Checklist([{"label": W(lang, f"show_{k}"), "value": k} for k in SHOWN],
                      list(SHOWN), id=LAYERS, inline=True),
        html.Span(side.region_label(ctx, scope, lang), className="og-muted"),
    ], className="og-maptools")
    player = html.Div([
        html.Button(W(lang, "play"), id=PLAY, n_clicks=0, className="og-secondary"),
        html.Div(dcc.Slider(0, LAST, 1, value=LAST, marks=side.slider_marks(ctx, end),
                            id=SLIDER, allow_direct_input=False), style={"flex": "1"}),
        html.Span(id=STEP, style={"fontWeight": 600, "minWidth": "260px"}),
    ], className="og-row")
    panel = html.Div([
        episodes.section(ctx, actor, lang),
        html.Div([
            html.Label(W(lang, "station"), className="og-label"),
            dcc.Dropdown([{"label": s.name(lang), "value": s.station_id} for s in stations],
                         None, id=STATION, placeholder=W(lang, "pick_station")),
            dcc.Loading(dcc.Graph(id=CHART, figure=side.empty_chart(lang),
                                  config={"displaylogo": False})),
        ], className="og-panel"),
    ], className="og-side")
    exports = html.Div([
        html.Button(W(lang, "export_csv"), id=CSV, n_clicks=0),
        html.Button(W(lang, "export_geojson"), id=GEOJSON, n_clicks=0),
        html.Span(W(lang, "dictionary"), className="og-muted", style={"flex": "1"}),
        dcc.Download(id=DOWNLOAD),
    ], className="og-row")
    legend = view.legend(lang, sources_layer.legend_rows(
        source_reads.visible_sources(ctx, actor), lang))
    return html.Div([
        tools, player,
        html.Div(W(lang, "no_stations") if not stations else "", className="og-muted"),
        html.Div(id=ERROR, className="og-error"),
        html.Div(id=NOTE, className="og-status-line"),
        html.Div([
            html.Div([the_map, html.Div(legend, id=LEGEND, className="og-legend")],
                     className="og-mapwrap"),
            panel,
        ], className="og-mapgrid", style={"height": "calc(100vh - 230px)",
                                          "gridTemplateColumns": "minmax(0, 1fr) 560px"}),
        exports,
        html.Div(dcc.Loading(html.Div(id=EXCEED)), className="og-panel",
                 style={"overflowX": "auto", "marginTop": "8px"}),
        dcc.Store(id=DRAWN), dcc.Store(id=DRAWN_STEP), dcc.Store(id=CHART_SHOWS),
        dcc.Store(id=ANCHOR, data=end.isoformat()),
        dcc.Interval(id=PLAYER, interval=PLAY_MS, disabled=True, n_intervals=0),
    ])


# -- the map ---------------------------------------------------------------------

@dataclass(frozen=True)
class MapStep:
    """What one step changes on the map. `hex_data`, `estimate_data` and `station_data`
    are None when the browser already has them (then only the values in the hideouts
    go); `drawn` says what it holds after this step: {"cells", "estimates", "stations":
    digest}, each also carried in the layer's data and read back into the page's DRAWN
    store by `hexmap.track_drawn`."""

    hex_data: dict[str, Any] | None
    hex_hideout: dict[str, Any]
    estimate_data: dict[str, Any] | None
    estimate_hideout: dict[str, Any]
    station_data: dict[str, Any] | None
    station_hideout: dict[str, Any]
    drawn: dict[str, str]
    label: str
    note: str
    step: int  # the slider step these values are of


def map_step(ctx: DashboardContext, actor: Actor, measure: str | None, window: str | None,
             step: int | None, anchor: str | None, lang: str | None,
             drawn: dict[str, str] | None, shown: list[str] | None = None) -> MapStep:
    """Return the map at one step: the station cells' (I)AQI, the estimated cells' and the
    stations' values; polygons and points only when the browser does not have them yet
    (`drawn`). `shown` lists the optional layers switched on (default: all)."""
    lang, measure, window, step = choices(lang, measure, window, step)
    drawn = drawn if isinstance(drawn, dict) else {}
    shown = list(SHOWN) if shown is None else shown
    stations, layer = side.read_layer(ctx, actor, window, reads.anchor_of(ctx, anchor))
    cells, cells_layer = windows.cell_layer(layer, [s.cell_r8 for s in stations])
    where = estimates.targets(ctx.regions, ctx.scope(actor), stations) if stations \
        else estimates.Targets(np.zeros(0, np.uint64), np.zeros(0), np.zeros(0))
    guess = estimates.estimate(windows.at_step(layer, step), stations, where)
    now = {"cells": hexmap.cells_digest(MAP_RES, cells),
           "estimates": hexmap.cells_digest(MAP_RES, where.cells),
           "stations": hexmap.cells_digest(10, [s.cell for s in stations])}
    index = np.nan_to_num(cells_layer.index_of(measure)[:, step], nan=0.0)
    label = view.measure_label(measure, window, lang)
    hideout = hexmap.hex_hideout(index.tolist(), "aqi", label if measure == "aqi"
                                 else f"{label} IAQI")
    valid = bool(np.isfinite(layer.aqi[:, step]).any()) or not stations
    note = "" if valid or window == "1h" else W(lang, "invalid",
                                                  window=W(lang, f"window_{window}"))
    return MapStep(
        hex_data=None if now["cells"] == drawn.get("cells")
        else hexmap.with_digest(hexmap.cells_to_geojson(cells), now["cells"]),
        hex_hideout=hideout,
        estimate_data=None if now["estimates"] == drawn.get("estimates")
        else hexmap.with_digest(estimated_cells(where.cells), now["estimates"]),
        estimate_hideout=view.estimate_hideout(guess.layer.index_of(measure)[:, 0], measure,
                                               window, lang, "estimates" in shown),
        station_data=None if now["stations"] == drawn.get("stations")
        else hexmap.with_digest(view.station_points(stations), now["stations"]),
        station_hideout=view.station_hideout(stations, layer.value_of(measure)[:, step],
                                             layer.index_of(measure)[:, step], measure,
                                             window, lang),
        drawn=now, note=note, step=step,
        label=view.step_label(layer.hours[step], window, ctx.registry.timezone, lang))


def estimated_cells(cells: np.ndarray) -> dict[str, Any]:
    """Return the estimated cells' polygons, each marked `estimated` (what a click or a
    test reads), in the order of their values in the hideout."""
    data = hexmap.cells_to_geojson(cells.tolist())
    for feature in data["features"]:
        feature["properties"]["estimated"] = True
    return data


# -- the side panel and the exports ----------------------------------------------------

def series(ctx: DashboardContext, actor: Actor, station_id: str | None, measure: str | None,
           window: str | None, anchor: str | None, step: int | None, lang: str | None):
    """Return the station's chart (the hint when no station the actor sees is picked)."""
    lang, measure, window, step = choices(lang, measure, window, step)
    return side.series_chart(ctx, actor, station_id, lang, measure, window, step,
                             reads.anchor_of(ctx, anchor))


def chart_update(ctx: DashboardContext, actor: Actor, station_id: str | None,
                 measure: str | None, window: str | None, anchor: str | None, step: int | None,
                 lang: str | None, shows: list | None) -> tuple[Any, Any]:
    """Return (the chart's figure, or a patch moving only its hour line; what the chart
    then shows, or no_update).

    The patch goes only when the browser's chart already shows this station, layer,
    window, hours and language (`shows`, written together with the figure it describes).
    Deciding on what triggered the call is not enough: Dash drops a request still running
    when the same callback is asked again, so a station picked while the player moves the
    slider would otherwise never have its series drawn, only hour lines patched onto the
    hint chart.
    """
    key = [station_id, measure, window, anchor, lang] if station_id else None
    if key is not None and shows == key:
        return side.chart_step(ctx, window, anchor, step), no_update
    return series(ctx, actor, station_id, measure, window, anchor, step, lang), key


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


def picked_station(ctx: DashboardContext, actor: Actor, feature: dict | None,
                   replay: dict | None = None) -> str:
    """Return the station a map click picked (a badge, or a cell holding stations), or the
    replayed episode's, among those the actor sees; PreventUpdate otherwise."""
    found = hexmap.click_to_pick(feature)
    stations = reads.visible_stations(ctx, actor)
    if isinstance(replay, dict) and replay.get("station"):
        match = [s.station_id for s in stations if s.station_id == replay["station"]]
    elif found and found["kind"] == "station":
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
    """Attach the environment page's callbacks to `app` (the episodes list's own in
    `environment_episodes.register`)."""
    # The language is read, never listened to: a switch draws the whole page again
    # (`app.render`), and listening too would send every callback twice, the old page's
    # copy racing the new page's.
    lang_state = State(ids.LANGUAGE, "value")
    choice = [Input(MEASURE, "value"), Input(WINDOW, "value")]
    replay_in = Input(episodes.REPLAY, "data")

    @user_callback(app, ctx, [Output(HEX, "data"), Output(HEX, "hideout"),
                              Output(ESTIMATES, "data"), Output(ESTIMATES, "hideout"),
                              Output(STATIONS, "data"), Output(STATIONS, "hideout"),
                              Output(STEP, "children"), Output(DRAWN_STEP, "data"),
                              Output(NOTE, "children"), Output(ERROR, "children")],
                   [*choice, Input(SLIDER, "value"), Input(ANCHOR, "data"),
                    Input(LAYERS, "value"), lang_state, State(DRAWN, "data")],
                   fallback=lambda: (*[no_update] * 9, text("zh", "error")))
    def refresh_map(actor, measure, window, step, anchor, shown, lang, drawn):
        found = map_step(ctx, actor, measure, window, step, anchor, lang, drawn, shown or [])
        return (no_update if found.hex_data is None else found.hex_data, found.hex_hideout,
                no_update if found.estimate_data is None else found.estimate_data,
                found.estimate_hideout,
                no_update if found.station_data is None else found.station_data,
                found.station_hideout, found.label, found.step, found.note, "")

    hexmap.track_drawn(app, DRAWN, {"cells": HEX, "estimates": ESTIMATES, "stations": STATIONS})

    @user_callback(app, ctx, [Output(SLIDER, "value"), Output(PLAYER, "disabled"),
                              Output(PLAY, "children")],
                   [Input(PLAY, "n_clicks"), Input(PLAYER, "n_intervals"), replay_in,
                    State(SLIDER, "value"), State(PLAYER, "disabled"), lang_state,
                    State(DRAWN_STEP, "data")], prevent_initial_call=True)
    def move(actor, _clicks, _ticks, replay, step, stopped, lang, drawn_step):
        return play(dash_ctx.triggered_id, step, stopped, lang,
                    episodes.replay_steps(ctx, replay), drawn_step)

    @user_callback(app, ctx, [Output(ANCHOR, "data"), Output(SLIDER, "marks")],
                   [Input(ids.TICK, "n_intervals"), replay_in, State(ANCHOR, "data")],
                   prevent_initial_call=True)
    def follow_clock(actor, _tick, replay, anchor):
        return follow(ctx, anchor, replay, dash_ctx.triggered_id)

    @user_callback(app, ctx, [Output(STATION, "value")],
                   [Input(STATIONS, "clickData"), Input(HEX, "clickData"), replay_in],
                   prevent_initial_call=True)
    def pick(actor, station_click, cell_click, replay):
        trigger = dash_ctx.triggered_id
        if trigger == episodes.REPLAY:
            return picked_station(ctx, actor, None, replay)
        return picked_station(ctx, actor, station_click if trigger == STATIONS else cell_click)

    @user_callback(app, ctx, [Output(CHART, "figure"), Output(CHART_SHOWS, "data")],
                   [Input(STATION, "value"), *choice, Input(ANCHOR, "data"),
                    Input(SLIDER, "value"), lang_state, State(CHART_SHOWS, "data")])
    def chart(actor, station_id, measure, window, anchor, step, lang, shows):
        return chart_update(ctx, actor, station_id, measure, window, anchor, step, lang,
                            shows)

    @user_callback(app, ctx, [Output(EXCEED, "children")],
                   [*choice, Input(ANCHOR, "data"), lang_state],
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

    episodes.register(app, ctx, Input(LAYERS, "value"))


PAGE: Final = Page("environment", "/environment", reads.ROLES, layout, register,
                   nav="nav_environment", ids=IDS)
