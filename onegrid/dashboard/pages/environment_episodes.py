"""The episodes part of the environment page (超标过程): the filterable list, the replay of
a picked episode on the map, and its upwind candidate sources.

Picking an episode puts its replay in a `dcc.Store` (`REPLAY`): the episode,
its station, the hour ends of its first and last exceeding hours, and the
last hour the slider must cover to show them (None when the live 24 hours
already hold them). The page's player, slider, anchor and station picker
read that store (`pages.environment`); this module computes it, the list and
the candidates. Everything goes through the actor's scope: an episode of
another region is "not found", whatever id is posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts import aqi
from onegrid.alerts.actors import Actor
from onegrid.dashboard import ids
from onegrid.dashboard.components import sources_layer
from onegrid.dashboard.components.hexmap import EMPTY
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.digest import content_digest
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.queries import episodes as found_episodes
from onegrid.dashboard.queries import sources as source_reads
from onegrid.dashboard.queries.air_windows import STEPS
from onegrid.dashboard.queries.environment import HOUR
from onegrid.dashboard.queries.episodes import Episode
from onegrid.dashboard.views import episodes as view
from onegrid.dashboard.views.environment import choices
from onegrid.dashboard.views.format import region_name

EPISODES: Final = "env-episodes"
EP_NOTE: Final = "env-episodes-note"
EP_POLLUTANT: Final = "env-ep-pollutant"
EP_DISTRICT: Final = "env-ep-district"
EP_ONGOING: Final = "env-ep-ongoing"
EP_DATES: Final = "env-ep-dates"
EP_DIGEST: Final = "env-ep-digest"
REPLAY: Final = "env-replay"
REPLAY_LINE: Final = "env-replay-line"
LIVE: Final = "env-live"
CANDIDATES: Final = "env-candidates"
SOURCES: Final = "env-sources"
FOCUS: Final = "env-focus"
# The page's fonts (onegrid.css): a DataTable's cells otherwise read monospace.
_FONT: Final = ('"Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", '
                '"Helvetica Neue", Arial, sans-serif')
IDS: Final = (EPISODES, EP_NOTE, EP_POLLUTANT, EP_DISTRICT, EP_ONGOING, EP_DATES, EP_DIGEST,
              REPLAY, REPLAY_LINE, LIVE, CANDIDATES, SOURCES, FOCUS)


# -- layout ------------------------------------------------------------------------

def section(ctx: DashboardContext, actor: Actor, lang: str) -> html.Div:
    """Return the episodes panel: filters, the list, the replay line, the candidates."""
    districts = found_episodes.districts_in_scope(ctx, actor)
    filters = html.Div([
        dcc.Dropdown([{"label": view.pollutant_name(p, lang), "value": p}
                      for p in aqi.POLLUTANTS], None, id=EP_POLLUTANT,
                     placeholder=view.W(lang, "filter_pollutant"), style={"minWidth": "130px"}),
        dcc.Dropdown([{"label": region_name(ctx.regions, "district", d, lang), "value": d}
                      for d in districts], None, id=EP_DISTRICT,
                     placeholder=view.W(lang, "filter_district"), style={"minWidth": "110px"}),
        dcc.Checklist([{"label": view.W(lang, "ongoing_only"), "value": "ongoing"}], [],
                      id=EP_ONGOING, inline=True),
        dcc.DatePickerRange(id=EP_DATES, display_format="YYYY-MM-DD", clearable=True,
                            start_date_placeholder_text=view.W(lang, "filter_dates"),
                            end_date_placeholder_text="…", first_day_of_week=1,
                            day_size=32),
    ], className="og-row")
    # Rows update in place while the pick stays (as the command map's alert queue); the
    # div scrolls, so the filters and the replay line stay in sight.
    table = html.Div(dash_table.DataTable(
        id=EPISODES, columns=view.episode_columns(lang), data=[], row_selectable=False,
        cell_selectable=True, sort_action="none", style_as_list_view=True,
        style_table={"overflowX": "auto"},
        style_cell={"fontFamily": _FONT, "fontSize": "12px", "padding": "3px 5px",
                    "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                    "cursor": "pointer"},
        style_header={"fontWeight": "500", "color": "#5b6b7d", "background": "#fff"},
        style_data_conditional=[*view.level_styles(), {
            "if": {"state": "active"}, "backgroundColor": "#eaf1fb", "border": "none"}]),
        style={"maxHeight": "230px", "overflowY": "auto"})
    return html.Div([
        html.H3(view.W(lang, "episodes_title")), filters,
        html.Div(id=EP_NOTE, className="og-muted"), table,
        html.Div([html.Span(id=REPLAY_LINE, style={"flex": "1", "fontWeight": 600}),
                  html.Button(view.W(lang, "back_live"), id=LIVE, n_clicks=0,
                              className="og-secondary")], className="og-row"),
        html.Div(view.candidates_panel(None, None, source_reads.RADIUS_KM, lang),
                 id=CANDIDATES),
        dcc.Store(id=REPLAY), dcc.Store(id=EP_DIGEST),
    ], className="og-panel")


def map_layers() -> list:
    """Return the sources and focus layers (filled by the callbacks)."""
    return sources_layer.layers(SOURCES, FOCUS, EMPTY)


# -- the list ----------------------------------------------------------------------

def episode_list(ctx: DashboardContext, actor: Actor, pollutant: Any, district: Any,
                 ongoing: Any, since: Any, until: Any, lang: str | None
                 ) -> tuple[list[dict[str, Any]], list[dict[str, str]], str]:
    """Return the list's (rows, columns, note) for the posted filters."""
    lang, _, _, _ = choices(lang, None, None, None)
    filters = found_episodes.filters_of(pollutant, district, bool(ongoing), since, until,
                                        found_episodes.districts_in_scope(ctx, actor))
    rows, total = found_episodes.list_episodes(ctx, actor, filters)
    note = view.list_note(len(rows), total, found_episodes.any_on_record(ctx.store), lang)
    return (view.episode_rows(rows, ctx.registry.timezone, lang), view.episode_columns(lang),
            note)


# -- the replay --------------------------------------------------------------------

def plan_of(e: Episode, latest: datetime) -> dict[str, Any]:
    """Return the replay of `e` when the last whole hour ends at `latest`: the hour ends
    of its first and last exceeding hours (ISO, UTC) that the slider shows, and the
    slider's last hour (None: the live 24 hours hold the episode's start). An episode
    longer than the slider replays its first 24 hours."""
    hours = e.hour_ends(latest)
    first = reads.hour_floor(hours[0])  # a whole hour, as the slider's steps are
    anchor = None if first > latest - HOUR * STEPS else min(latest, first + HOUR * (STEPS - 1))
    end = anchor or latest
    last = min(hours[-1], end)
    return {"id": e.episode_id, "station": e.station_id, "first": first.isoformat(),
            "last": last.isoformat(), "anchor": anchor.isoformat() if anchor else None,
            "cut": hours[-1] > end}


def replay_of(ctx: DashboardContext, actor: Actor, episode_id: Any) -> dict[str, Any]:
    """Return the replay of the episode the actor picked; PreventUpdate when the actor
    sees no such episode."""
    e = found_episodes.find_episode(ctx, actor, episode_id)
    if e is None:
        raise PreventUpdate
    return plan_of(e, reads.anchor_of(ctx, None))


def replay_steps(ctx: DashboardContext, replay: dict[str, Any] | None
                 ) -> tuple[int, int] | None:
    """Return the slider steps (first, last) of a replay, None without one."""
    if not isinstance(replay, dict) or "first" not in replay:
        return None
    end = reads.anchor_of(ctx, replay.get("anchor"))
    try:
        first, last = (datetime.fromisoformat(replay[k]) for k in ("first", "last"))
    except (TypeError, ValueError):
        return None

    def step(at: datetime) -> int:
        return max(0, min(STEPS - 1, STEPS - 1 - round((end - at) / HOUR)))
    return step(first), step(last)


def picked(ctx: DashboardContext, actor: Actor, replay: dict[str, Any] | None,
           lang: str | None) -> tuple[str, list, dict[str, Any], dict[str, Any]]:
    """Return (replay line, candidates panel, the sources layer's hideout, the focus layer)
    for the replayed episode (the hints when none)."""
    lang, _, _, _ = choices(lang, None, None, None)
    e = found_episodes.find_episode(ctx, actor, (replay or {}).get("id"))
    if e is None:
        return "", view.candidates_panel(None, None, source_reads.RADIUS_KM, lang), \
            {"rank": {}}, EMPTY
    lat, lng = (e.station.lat, e.station.lng) if e.station else (None, None)
    found = source_reads.upwind(lat, lng, e.wind_dir_deg, e.wind_speed_ms,
                                source_reads.visible_sources(ctx, actor), e.pollutant)
    return (view.replay_line(e, ctx.registry.timezone, lang, bool((replay or {}).get("cut"))),
            view.candidates_panel(e, found, source_reads.RADIUS_KM, lang),
            sources_layer.candidate_hideout(found.candidates),
            sources_layer.focus_geojson(lat, lng, e.wind_dir_deg))


def sources_data(ctx: DashboardContext, actor: Actor, shown: Sequence[str] | None,
                 lang: str | None) -> dict[str, Any]:
    """Return the sources layer's points (none when the layer is switched off)."""
    lang, _, _, _ = choices(lang, None, None, None)
    if "sources" not in (shown or ()):
        return EMPTY
    return sources_layer.sources_geojson(source_reads.visible_sources(ctx, actor), lang)


def choose(ctx: DashboardContext, actor: Actor, trigger: str | None,
           active_cell: dict | None) -> dict[str, Any] | None:
    """Return the replay after a click in the list (the row's episode) or on "back to the
    last 24 hours" (`trigger` LIVE: none)."""
    if trigger == LIVE:
        return None
    episode_id = (active_cell or {}).get("row_id")
    if not episode_id:
        raise PreventUpdate
    return replay_of(ctx, actor, episode_id)


def register(app: Dash, ctx: DashboardContext, layers_in: Input) -> None:
    """Attach the episodes list's callbacks: the list (refreshed live, sent only when it
    changed), the pick, the replayed episode's candidates and the sources layer."""
    # Read, not listened to: a language switch draws the whole page again (`app.render`).
    lang_state = State(ids.LANGUAGE, "value")

    @user_callback(app, ctx, [Output(EPISODES, "data"), Output(EPISODES, "columns"),
                              Output(EP_NOTE, "children"), Output(EP_DIGEST, "data")],
                   [Input(EP_POLLUTANT, "value"), Input(EP_DISTRICT, "value"),
                    Input(EP_ONGOING, "value"), Input(EP_DATES, "start_date"),
                    Input(EP_DATES, "end_date"), lang_state, Input(ids.TICK, "n_intervals"),
                    State(EP_DIGEST, "data")],
                   fallback=lambda: (no_update, no_update, text("zh", "error"), no_update))
    def refresh_list(actor, pollutant, district, ongoing, since, until, lang, _tick, digest):
        rows, columns, note = episode_list(ctx, actor, pollutant, district, ongoing, since,
                                           until, lang)
        now = content_digest([rows, note])
        if now == digest:
            raise PreventUpdate
        return rows, columns, note, now

    @user_callback(app, ctx, [Output(REPLAY, "data")],
                   [Input(EPISODES, "active_cell"), Input(LIVE, "n_clicks")],
                   prevent_initial_call=True)
    def pick_episode(actor, active_cell, _live):
        return choose(ctx, actor, dash_ctx.triggered_id, active_cell)

    @user_callback(app, ctx, [Output(REPLAY_LINE, "children"), Output(CANDIDATES, "children"),
                              Output(SOURCES, "hideout"), Output(FOCUS, "data"),
                              Output(LIVE, "style")],
                   [Input(REPLAY, "data"), lang_state])
    def show_picked(actor, replay, lang):
        line, panel, hideout, focus = picked(ctx, actor, replay, lang)
        return line, panel, hideout, focus, {} if line else {"display": "none"}

    @user_callback(app, ctx, [Output(SOURCES, "data")], [layers_in, lang_state])
    def show_sources(actor, shown, lang):
        return sources_data(ctx, actor, shown, lang)
