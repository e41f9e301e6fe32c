"""The environment page's reads and side parts: a window's layer for an actor, the home
view of their region, the slider's marks, the station series, the exceedance list and the
exports.

Every function takes the actor and reads through `queries.environment`,
which scopes stations and events to the actor's region (and gives a role that
may not open the page nothing). `pages.environment` wires these to the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Final

import plotly.graph_objects as go
from dash import Patch, dcc

from onegrid.alerts import aqi
from onegrid.alerts.actors import Actor
from onegrid.dashboard.access import Scope
from onegrid.dashboard.components import hexmap, station_chart
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.queries import air_windows as windows
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.queries import estimates
from onegrid.dashboard.queries.environment import StationPlace
from onegrid.dashboard.views import air_export
from onegrid.dashboard.views.environment import W, choices, measure_label
from onegrid.dashboard.views.format import local_time
from onegrid.geo.regions import LEVELS

MAP_PX: Final = (820, 520)  # the map's size on a 1280 px screen, to fit the region in it
MARK_EVERY: Final = 3  # hours between the slider's labels


# -- reads -------------------------------------------------------------------------

def read_layer(ctx: DashboardContext, actor: Actor, window: str, end: datetime
               ) -> tuple[tuple[StationPlace, ...], windows.Layer]:
    """Return (the stations the actor sees, their layer of `window` ending at `end`)."""
    stations, layers = read_layers(ctx, actor, (window,), end)
    return stations, layers[window]


def read_layers(ctx: DashboardContext, actor: Actor, names: Iterable[str], end: datetime
                ) -> tuple[tuple[StationPlace, ...], dict[str, windows.Layer]]:
    """Return the stations and their layers of several windows, from one read."""
    names = tuple(dict.fromkeys(names))
    stations = reads.visible_stations(ctx, actor)
    hours = max(windows.hours_needed(n) for n in names)
    hourly = reads.hourly_means(ctx.store, ctx.scope(actor), stations, end, hours)
    return stations, {n: windows.station_layer(hourly, n) for n in names}


# -- the frame -----------------------------------------------------------------------

def home_view(ctx: DashboardContext, scope: Scope) -> tuple[tuple[float, float], int]:
    """Return the map's (centre (lat, lng), zoom) fitting the actor's region."""
    west, south, east, north = _region_bounds(ctx, scope)
    return ((south + north) / 2, (west + east) / 2), hexmap.bounds_to_zoom(
        (west, south, east, north), *MAP_PX)


def region_label(ctx: DashboardContext, scope: Scope, lang: str) -> str:
    """Return "Region: <name>" for the actor's region (the whole city when city-wide)."""
    if scope.city_wide:
        return W(lang, "region", region=W(lang, "city"))
    for level in LEVELS:
        frame = ctx.regions.levels[level]
        if scope.region_id in frame.index:
            name = frame.at[scope.region_id, "name_en" if lang == "en" else "name_zh"]
            return W(lang, "region", region=name)
    return W(lang, "region", region=scope.region_id)


def _region_bounds(ctx: DashboardContext, scope: Scope) -> tuple[float, float, float, float]:
    if not scope.city_wide:
        for level in LEVELS:
            frame = ctx.regions.levels[level]
            if scope.region_id in frame.index:
                return tuple(frame.loc[scope.region_id].geometry.bounds)
    return tuple(ctx.regions.districts.total_bounds)


def slider_marks(ctx: DashboardContext, end: datetime) -> dict[int, str]:
    """Return the slider's labels: the local hour end of every third step and the last."""
    hours = reads.hour_ends(end, windows.STEPS)
    tz = ctx.registry.timezone
    return {i: local_time(h, tz, "%H:%M") for i, h in enumerate(hours)
            if i % MARK_EVERY == (windows.STEPS - 1) % MARK_EVERY}


# -- the station series ----------------------------------------------------------------

def empty_chart(lang: str) -> go.Figure:
    """Return the chart before a station is picked: a hint, no axes."""
    fig = go.Figure()
    fig.add_annotation(text=W(lang, "pick_station"), showarrow=False, xref="paper",
                       yref="paper", x=0.5, y=0.5, font={"color": "#5b6b7d"})
    fig.update_layout(height=300, margin={"l": 10, "r": 10, "t": 10, "b": 10},
                      xaxis={"visible": False}, yaxis={"visible": False},
                      paper_bgcolor="#ffffff", plot_bgcolor="#ffffff")
    return fig


def series_chart(ctx: DashboardContext, actor: Actor, station_id: str | None, lang: str,
                 measure: str, window: str, step: int, end: datetime) -> go.Figure:
    """Return the picked station's series of `measure` over the last 24 hours (the hint
    when the actor sees no such station)."""
    if not station_id:
        return empty_chart(lang)
    stations, layers = read_layers(ctx, actor, ("1h", window), end)
    row = next((i for i, s in enumerate(stations) if s.station_id == station_id), None)
    if row is None:
        return empty_chart(lang)
    win = layers[window]
    label = measure_label(measure, window, lang)
    is_aqi = measure == "aqi"
    names = (W(lang, "hourly_aqi" if is_aqi else "hourly_mean"),
             W(lang, "window_aqi" if is_aqi else "window_mean",
               window=W(lang, f"window_{window}")))
    return station_chart.series_figure(
        station_chart.local_hours(win.hours, ctx.registry.timezone),
        layers["1h"].value_of(measure)[row],
        None if window == "1h" else win.value_of(measure)[row],
        title=W(lang, "series_title", station=stations[row].name(lang), measure=label),
        names=names, y_title="AQI" if is_aqi else aqi.UNITS[measure],
        limits=[] if is_aqi else limit_lines(measure, window, lang), bands=is_aqi, step=step)


def limit_lines(pollutant: str, window: str, lang: str) -> list[tuple[int, float, str]]:
    """Return the GB 3095 lines (grade, value, label) of the averagings the chart shows:
    the 1-hour one and the window's (PM2.5 and PM10, with no 1-hour limit, show their
    24-hour limits)."""
    found = [windows.AVERAGING[w].get(pollutant) for w in ("1h", window)]
    averagings = [a for a in dict.fromkeys(found) if a] or ["24h"]
    lines = []
    for averaging in averagings:
        if (pollutant, averaging) not in aqi.LIMITS:
            continue
        one, two = aqi.LIMITS[(pollutant, averaging)]
        span = W(lang, f"avg_{averaging}")
        if one != two:
            lines.append((1, one, W(lang, "limit_span", span=span,
                                    limit=W(lang, "grade_1", value=f"{one:g}"))))
        key = "grade_2" if one != two else "grade_both"
        lines.append((2, two, W(lang, "limit_span", span=span,
                                limit=W(lang, key, value=f"{two:g}"))))
    return lines


def chart_step(ctx: DashboardContext, window: str | None, anchor: str | None,
               step: int | None) -> Patch:
    """Return the patch moving the chart's hour line to the slider's step."""
    _, _, _, step = choices(None, None, window, step)
    hours = reads.hour_ends(reads.anchor_of(ctx, anchor), windows.STEPS)
    return station_chart.step_patch(station_chart.local_hours(hours,
                                                              ctx.registry.timezone)[step])


# -- the exceedance list and the exports -------------------------------------------------

def exceedances(ctx: DashboardContext, actor: Actor, measure: str, window: str,
                end: datetime) -> tuple[list[windows.Exceedance], bool]:
    """Return (the window's exceedances, whether any pollutant shown has a limit there):
    all pollutants for the AQI layer, else the layer's pollutant."""
    stations, layer = read_layer(ctx, actor, window, end)
    pollutants = tuple(windows.AVERAGING[window]) if measure == "aqi" else (measure,)
    has_limit = any(p in windows.AVERAGING[window] for p in pollutants)
    return windows.exceedances(layer, stations, pollutants), has_limit


def export_file(ctx: DashboardContext, actor: Actor, kind: str, window: str,
                end: datetime) -> dict[str, Any]:
    """Return the download (dcc.Download data) of the window's hourly values per
    station, per station cell and per estimated cell: `kind` "csv" or "geojson"."""
    stations, layer = read_layer(ctx, actor, window, end)
    cells, cells_layer = windows.cell_layer(layer, [s.cell_r8 for s in stations])
    guess = estimates.estimate(layer, stations, estimates.targets(
        ctx.regions, ctx.scope(actor), stations)) if stations else None
    rows = air_export.export_rows(stations, layer, cells, cells_layer, guess)
    stem = f"onegrid_air_{window}_{end.strftime('%Y%m%dT%H%MZ')}"
    if kind == "csv":
        # A byte-order mark, so spreadsheet programs read the Chinese names as UTF-8.
        return dcc.send_string("\ufeff" + air_export.rows_to_csv(rows), f"{stem}.csv",
                               type="text/csv")
    return dcc.send_string(air_export.rows_to_geojson(rows), f"{stem}.geojson",
                           type="application/geo+json")
