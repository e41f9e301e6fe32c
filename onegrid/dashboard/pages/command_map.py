"""The command map (城运总览): the live city on an H3 layer, the alert queue, dispatch.

Left, the map: an H3 layer coloured by the chosen measure at the resolution
the zoom asks for, marker layers for reports, firing alerts and open cases,
and the district / street / community / grid boundaries (`components.hexmap`
says why it is built this way). Right, the status strip and three tabs: the
alert queue (acknowledge, open a case), what a click picked (a cell with its
statistics, grid workers, alerts and cases; an alert and why it fired; a
case; a report), and the dispatch form, whose department routing suggests
and whose remit refusal shows before anything is sent. Every tick patches
the map's values and the lists; every action is a command on Kafka.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Final

import numpy as np
from dash import ALL, Dash, Input, Output, State, dash_table, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts.actors import Actor, Role
from onegrid.alerts.cases import row_to_case
from onegrid.alerts.opening import remit_covers
from onegrid.alerts.routing import region_chain, route
from onegrid.dashboard import actions, ids
from onegrid.dashboard.access import masked_rows
from onegrid.dashboard.components import command_status, hexmap
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.digest import content_digest
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.queries import alerts as alert_reads
from onegrid.dashboard.queries import cases as case_reads
from onegrid.dashboard.queries import overview as reads
from onegrid.dashboard.views import overview as view
from onegrid.dashboard.views.overview import SHOW, W
from onegrid.geo.boundaries import boundaries_geojson
from onegrid.geo.cells import cells_to_latlng

MAP: Final = "map-leaflet"
HEX: Final = "map-hex"
MARKERS: Final = {"incidents": "map-incidents", "alerts": "map-alerts", "cases": "map-cases"}
BOUNDARIES: Final = {level: f"map-boundary-{level}" for level in hexmap.BOUNDARY_LEVELS}
LEGEND: Final = "map-legend"
BOUNDARIES_SENT: Final = "map-boundaries-sent"
VIEW: Final = "map-view"
DRAWN: Final = "map-drawn"
MEASURE: Final = "map-measure"
WINDOW: Final = "map-window"
LAYERS: Final = "map-layers"
ERROR: Final = "map-error"
STATUS: Final = "map-status"
TABS: Final = "map-tabs"
QUEUE: Final = "map-queue"
QUEUE_DIGEST: Final = "map-queue-digest"
PICK: Final = "map-pick"
DETAIL: Final = "map-detail"
DETAIL_DIGEST: Final = "map-detail-digest"
TARGET: Final = "map-target"
CATEGORY: Final = "map-category"
DEPT: Final = "map-dept"
OVERRIDE: Final = "map-override"
REASON: Final = "map-reason"
NOTE: Final = "map-note"
CHECK: Final = "map-check"
SEND: Final = "map-send"
PENDING: Final = "map-pending"
ACTION_STATUS: Final = "map-action-status"
PICKED: Final = "map-picked"
DETAILS_BUTTON: Final = "map-details-button"
ACK_BUTTON: Final = "map-ack-button"
OPEN_BUTTON: Final = "map-open-button"
IDS: Final = (MAP, HEX, *MARKERS.values(), *BOUNDARIES.values(), LEGEND, BOUNDARIES_SENT,
              VIEW, DRAWN,
              MEASURE, WINDOW, LAYERS, ERROR, STATUS, TABS, QUEUE, QUEUE_DIGEST, PICK, DETAIL,
              DETAIL_DIGEST, TARGET, CATEGORY, DEPT, OVERRIDE, REASON, NOTE, CHECK, SEND,
              PENDING, ACTION_STATUS, PICKED, DETAILS_BUTTON, ACK_BUTTON, OPEN_BUTTON)

WINDOWS_MIN: Final = (15, 60, 1440)
DEFAULT_WINDOW_MIN: Final = 60
MARKER_LAYERS: Final = ("incidents", "alerts", "cases")
DEFAULT_LAYERS: Final = ("alerts", "district", "street")
ACTING_ROLES: Final = frozenset({Role.COMMAND, Role.ENV_OFFICER})
QUEUE_VALUES_S: Final = 15


# -- layout ----------------------------------------------------------------------

def layout(ctx: DashboardContext, actor: Actor, lang: str, path: str) -> html.Div:
    """Return the command map for `actor` in `lang`."""
    center, zoom = _home_view(ctx)
    the_map = hexmap.map_component(
        MAP, center=center, zoom=zoom, hex_id=HEX, marker_ids=MARKERS, boundary_ids=BOUNDARIES,
        # Levels shown at start go with the page; the others (communities and grids, most
        # of the bytes) only when first switched on.
        boundaries={lvl: boundaries_geojson(ctx.regions, lvl) for lvl in DEFAULT_LAYERS
                    if lvl in hexmap.BOUNDARY_LEVELS},
        visible_levels=DEFAULT_LAYERS, tile_url=ctx.tile_url)
    tools = html.Div([
        html.Span(W(lang, "measure")),
        dcc.RadioItems([{"label": W(lang, f"measure_{m}"), "value": m} for m in reads.MEASURES],
                       "events", id=MEASURE, inline=True),
        html.Span(W(lang, "window")),
        dcc.RadioItems([{"label": W(lang, f"window_{m}"), "value": m} for m in WINDOWS_MIN],
                       DEFAULT_WINDOW_MIN, id=WINDOW, inline=True),
        html.Span(W(lang, "layers")),
        dcc.Checklist([{"label": W(lang, f"layer_{k}"), "value": k}
                       for k in (*MARKER_LAYERS, *hexmap.BOUNDARY_LEVELS)],
                      list(DEFAULT_LAYERS), id=LAYERS, inline=True),
    ], className="og-maptools")
    side = html.Div([
        html.Div(id=STATUS, className="og-cards"),
        html.Div([html.Div(W(lang, "pick_alert"), id=PICKED, className="og-muted"),
                  html.Div([
                      html.Button(W(lang, "details_btn"), id=DETAILS_BUTTON, n_clicks=0,
                                  className="og-secondary", disabled=True),
                      html.Button(W(lang, "ack"), id=ACK_BUTTON, n_clicks=0,
                                  className="og-secondary", disabled=True),
                      html.Button(W(lang, "open_case"), id=OPEN_BUTTON, n_clicks=0,
                                  disabled=True)], className="og-row")],
                 className="og-panel og-actionbar"),
        html.Div(id=ACTION_STATUS, className="og-status-line"),
        dcc.Tabs(id=TABS, value="queue", children=[
            dcc.Tab(label=W(lang, "queue"), value="queue", children=_queue_table(lang)),
            dcc.Tab(label=W(lang, "details"), value="details",
                    children=html.Div(html.Div(W(lang, "pick_hint"), className="og-muted"),
                                      id=DETAIL, className="og-panel")),
            dcc.Tab(label=W(lang, "dispatch"), value="dispatch",
                    children=_dispatch_form(lang)),
        ]),
    ], className="og-side")
    return html.Div([
        tools,
        html.Div(id=ERROR, className="og-error"),
        html.Div([
            html.Div([the_map, html.Div(id=LEGEND, className="og-legend")],
                     className="og-mapwrap"),
            side,
        ], className="og-mapgrid"),
        dcc.Store(id=VIEW, data=hexmap.view_of(zoom, None)),
        dcc.Store(id=DRAWN), dcc.Store(id=QUEUE_DIGEST), dcc.Store(id=PICK),
        dcc.Store(id=DETAIL_DIGEST), dcc.Store(id=PENDING),
        dcc.Store(id=BOUNDARIES_SENT,
                  data=[lvl for lvl in DEFAULT_LAYERS if lvl in hexmap.BOUNDARY_LEVELS]),
    ])


def _queue_table(lang: str) -> html.Div:
    """Return the alert queue: a table whose rows update in place while the selection
    stays (a list redrawn under the pointer every tick could not be clicked)."""
    return html.Div(dash_table.DataTable(
        id=QUEUE, columns=view.queue_columns(lang), data=[], row_selectable=False,
        page_size=25, cell_selectable=True, sort_action="none",
        style_table={"overflowX": "auto"}, style_as_list_view=True,
        style_cell={"fontFamily": "inherit", "fontSize": "13px", "padding": "4px 6px",
                    "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                    "cursor": "pointer"},
        style_header={"fontWeight": "500", "color": "#5b6b7d", "background": "#fff"},
        style_data_conditional=[
            {"if": {"filter_query": '{state_code} = "firing"', "column_id": "state"},
             "color": "#922b21", "fontWeight": "600"},
            {"if": {"filter_query": "{severity} >= 4", "column_id": "rule"},
             "color": "#922b21", "fontWeight": "600"},
            {"if": {"state": "active"}, "backgroundColor": "#eaf1fb", "border": "none"},
        ]), className="og-panel")


def _dispatch_form(lang: str) -> html.Div:
    return html.Div([
        html.Div(W(lang, "dispatch_hint"), id=TARGET),
        html.Label(text(lang, "category")),
        dcc.Dropdown(id=CATEGORY, clearable=False),
        html.Label(text(lang, "lead")),
        dcc.Dropdown(id=DEPT, clearable=False),
        dcc.Checklist([{"label": W(lang, "override"), "value": "override"}], [], id=OVERRIDE),
        html.Label(text(lang, "reason")),
        dcc.Input(id=REASON, type="text", debounce=False),
        html.Label(text(lang, "note")),
        dcc.Textarea(id=NOTE, style={"height": "60px"}),
        html.Div(id=CHECK, className="og-status-line"),
        html.Button(text(lang, "action_dispatch"), id=SEND, disabled=True, n_clicks=0),
    ], className="og-panel og-form")


@lru_cache(maxsize=4)
def _city_cells(regions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the city's res-10 cells and their centres (computed once per city)."""
    lat, lng = cells_to_latlng(regions.cells)
    return regions.cells, lat, lng


def _home_view(ctx: DashboardContext) -> tuple[tuple[float, float], float]:
    west, south, east, north = ctx.regions.districts.total_bounds
    return ((south + north) / 2, (west + east) / 2), \
        hexmap.bounds_to_zoom((west, south, east, north), 900, 680)


# -- the map -------------------------------------------------------------------------

@dataclass(frozen=True)
class MapTick:
    """What one tick changes on the map. `hex_data` and a marker layer's data are None
    when the browser already has them (only the values in `hex_hideout` go then). The
    data carry their digest (`digest`, `marker_digest`), which `hexmap.track_drawn`
    reads back into the page's DRAWN store."""

    hex_data: dict[str, Any] | None
    hex_hideout: dict[str, Any]
    digest: str
    markers: dict[str, dict[str, Any] | None]
    marker_digest: str
    legend: list


def map_update(ctx: DashboardContext, actor: Actor, measure: str | None, window_min: int | None,
               layers: list[str] | None, view: dict[str, Any] | None, lang: str | None,
               drawn: str | None, markers_drawn: str | None = None) -> MapTick:
    """Return what this tick changes on the map for `actor`.

    Polygons are sent only when the cells in view changed; otherwise only values.
    """
    scope = ctx.scope(actor)
    lang = lang or "zh"
    measure = measure if measure in reads.MEASURES else "events"
    window = window_min if window_min in WINDOWS_MIN else DEFAULT_WINDOW_MIN
    layers = layers or []
    view = view or {}
    res = int(view.get("res") or hexmap.COARSEST_RES)
    bbox = view.get("bbox")
    now = ctx.clock()
    since = now - timedelta(minutes=window)
    data_cells, data_values = reads.measure_values(ctx.store, scope, measure, res, since, now,
                                                   bbox)
    in_view = np.zeros(0, dtype=np.uint64)
    if scope.city_wide:  # a region user sees the cells with data, not the whole city
        city, lat, lng = _city_cells(ctx.regions)
        in_view = hexmap.city_cells_in_view(city, lat, lng, res, bbox)
    cells = hexmap.layer_cells(in_view, data_cells)
    digest = hexmap.cells_digest(res, cells)
    label = W(lang, f"measure_{measure}")
    hideout = hexmap.hex_hideout(hexmap.values_for(cells, data_cells, data_values), measure,
                                 label)
    markers = {kind: hexmap.points_to_geojson(
        _markers(ctx, scope, kind, since, now, bbox, lang) if kind in layers else [], kind)
        for kind in MARKER_LAYERS}
    marker_digest = content_digest(markers)
    return MapTick(
        hex_data=None if digest == drawn
        else hexmap.with_digest(hexmap.cells_to_geojson(cells), digest),
        hex_hideout=hideout, digest=digest,
        markers={k: hexmap.with_digest(m, marker_digest) for k, m in markers.items()}
        if marker_digest != markers_drawn else dict.fromkeys(markers),
        marker_digest=marker_digest,
        legend=hexmap.legend(measure, hideout["max"], label))


def _markers(ctx, scope, kind: str, since, now, bbox, lang: str) -> list[dict[str, Any]]:
    reg = ctx.registry
    if kind == "incidents":
        return [{"lat": r["lat"], "lng": r["lng"], "id": r["id"],
                 "text": view.category_name(reg, r["category"], lang)}
                for r in reads.incident_markers(ctx.store, scope, since, now, bbox)]
    rules = {r.id: r for r in ctx.rule_set()}
    if kind == "alerts":
        return [{"lat": r["lat"], "lng": r["lng"], "id": r["alert_id"],
                 "text": f"{view.rule_label(rules, r['rule_id'], lang)} {r.get('level') or ''}"}
                for r in reads.alert_markers(ctx.store, scope, bbox)]
    return [{"lat": r["lat"], "lng": r["lng"], "id": r["case_id"],
             "text": f"{r['case_id']} {view.category_name(reg, r['category'], lang)} · "
                     f"{text(lang, 'state_' + r['state'])}"}
            for r in reads.case_markers(ctx.store, scope, bbox)]


def boundary_update(ctx: DashboardContext, layers: list[str], sent: list[str]) -> tuple:
    """Return each boundary level's hideout (shown or not), its data (sent the first time
    the level is switched on, left alone after that) and the levels the page now has."""
    hideouts = [hexmap.boundary_hideout(level, level in layers) for level in BOUNDARIES]
    new = [level for level in BOUNDARIES if level in layers and level not in sent]
    data = [boundaries_geojson(ctx.regions, level) if level in new else no_update
            for level in BOUNDARIES]
    return (*hideouts, *data, [*sent, *new])


# -- the side panel ------------------------------------------------------------------

def side_update(ctx: DashboardContext, actor: Actor, lang: str | None,
                digest: str | None, shown: Any = True) -> tuple[list, Any, str]:
    """Return (status cards, alert queue rows or no_update, queue digest) for this tick.

    The rows are sent only when they changed, or when the page shows none (`shown`
    empty: the page was just drawn again, e.g. in another language).
    """
    scope = ctx.scope(actor)
    now = ctx.clock()
    cards = view.status_cards(reads.status(ctx.store, scope, now), lang or "zh")
    rules = {r.id: r for r in ctx.rule_set()}
    rows = view.alert_queue_rows(alert_reads.alert_queue(ctx.store, scope), lang or "zh",
                                 now=now, rules=rules, regions=ctx.regions)
    new = content_digest(rows)
    if new == digest and shown:
        return cards, no_update, digest
    return cards, rows, new


def pick_from(trigger: Any, value: Any) -> dict[str, str] | None:
    """Return what the user picked: a clicked map feature, a row of the alert queue
    (`active_cell`, whose row_id is the alert id), or a cell panel's "show" button."""
    if isinstance(trigger, dict) and trigger.get("type") == SHOW:
        return {"kind": "alerts", "id": trigger["id"]}
    if trigger == QUEUE:
        row = (value or {}).get("row_id")
        return {"kind": "alerts", "id": str(row)} if row else None
    return hexmap.click_to_pick(value if isinstance(value, dict) else None)


def action_bar(ctx: DashboardContext, actor: Actor, pick: dict | None, lang: str
               ) -> tuple[str, bool, bool, bool, str]:
    """Return (line, details disabled, acknowledge disabled, open disabled, open label)
    for what is picked: the buttons work on a picked alert the actor may act on."""
    alert = None
    if pick and pick.get("kind") == "alerts":
        alert = alert_reads.alert_row(ctx.store, ctx.scope(actor), pick["id"])
    rules = {r.id: r for r in ctx.rule_set()}
    line = view.picked_alert_line(alert, lang, rules, ctx.regions)
    if pick and pick.get("kind") != "alerts":
        line = W(lang, "pick_alert")
    acting = _can_act(ctx, actor) and alert is not None
    label = W(lang, "dispatch_btn" if alert and alert.get("case_id") else "open_case")
    return line, pick is None, not acting, not acting, label


def detail_for(ctx: DashboardContext, actor: Actor, pick: dict | None, lang: str,
               window_min: int | None) -> list:
    """Return the details panel for what was picked (scoped: nothing of what the actor
    may not see)."""
    if not pick:
        return [html.Div(W(lang, "pick_hint"), className="og-muted")]
    scope, now, tz = ctx.scope(actor), ctx.clock(), ctx.registry.timezone
    kind, item = pick["kind"], pick["id"]
    if kind == "cell":
        window = window_min if window_min in WINDOWS_MIN else DEFAULT_WINDOW_MIN
        detail = reads.cell_detail(ctx.store, scope, int(item, 16), now -
                                   timedelta(minutes=window), now)
        return view.cell_panel(detail, lang, tz=tz, registry=ctx.registry, regions=ctx.regions,
                               workers=_workers(ctx))
    if kind == "alerts":
        alert = alert_reads.alert_row(ctx.store, scope, item)
        if alert is None:
            return [html.Div(text(lang, "code_unknown_alert"), className="og-muted")]
        return view.alert_panel(alert, alert_reads.alert_history(ctx.store, scope, item),
                                alert_reads.evidence_events(ctx.store, scope, alert), lang,
                                tz=tz, rules={r.id: r for r in ctx.rule_set()},
                                regions=ctx.regions)
    if kind == "cases":
        case = case_reads.case_row(ctx.store, scope, item)
        if case is None:
            return [html.Div(text(lang, "code_unknown_case"), className="og-muted")]
        return view.case_panel(case, lang, tz=tz, now=now, registry=ctx.registry,
                               regions=ctx.regions)
    event = _report(ctx, scope, item)
    if event is None:
        return [html.Div(W(lang, "pick_hint"), className="og-muted")]
    return view.report_panel(event, lang, tz=tz, registry=ctx.registry)


def _report(ctx, scope, event_id: str) -> dict[str, Any] | None:
    region, params = scope.region_sql("grid_id")
    rows = ctx.store.query(
        "SELECT id, ts, category, source, description, address, reporter_name, reporter_phone, "
        f"grid_id FROM events WHERE id = ? AND topic = 'incident' AND {region}",
        [event_id, *params]).to_pylist()
    return masked_rows(scope, rows)[0] if rows else None


def _workers(ctx: DashboardContext) -> dict[str, list[Actor]]:
    staff = ctx.directory.staff
    return {grid: [staff.actors[w] for w in ws] for grid, ws in staff.by_grid.items()}


def _can_act(ctx: DashboardContext, actor: Actor) -> bool:
    return ctx.sender is not None and actor.role in ACTING_ROLES


# -- the dispatch form ---------------------------------------------------------------

def dispatch_target(ctx: DashboardContext, actor: Actor, pick: dict | None, lang: str
                    ) -> dict[str, Any] | None:
    """Return what the dispatch form works on: an alert without a case (open and
    dispatch) or a case (dispatch), with its category and grid; None otherwise."""
    if not pick or pick.get("kind") not in ("alerts", "cases"):
        return None
    scope = ctx.scope(actor)
    if pick["kind"] == "alerts":
        alert = alert_reads.alert_row(ctx.store, scope, pick["id"])
        if alert is None:
            return None
        if alert.get("case_id"):
            case = case_reads.case_row(ctx.store, scope, alert["case_id"])
            return _case_target(case) if case else None
        category = ctx.directory.rule_categories.get(alert["rule_id"])
        return {"kind": "alert", "id": alert["alert_id"], "category": category,
                "grid_id": alert.get("grid_id"), "case": None}
    case = case_reads.case_row(ctx.store, scope, pick["id"])
    return _case_target(case) if case else None


def _case_target(case: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "case", "id": case["case_id"], "category": case["category"],
            "grid_id": case.get("grid_id"), "case": case}


def form_for(ctx: DashboardContext, actor: Actor, pick: dict | None, lang: str):
    """Return the dispatch form's (title, category options, category, department options,
    department) for what was picked."""
    target = dispatch_target(ctx, actor, pick, lang)
    if target is None:
        return W(lang, "dispatch_hint"), [], None, [], None
    reg = ctx.registry
    categories = [{"label": view.category_name(reg, c, lang), "value": c}
                  for c in sorted(reg.categories)]
    category = target["category"] or (categories[0]["value"] if categories else None)
    depts, suggested = _departments(ctx, category, target)
    title = W(lang, "dispatch_alert", alert=target["id"]) if target["kind"] == "alert" else \
        W(lang, "dispatch_case", case=target["id"])
    return title, categories, category, view.department_options(reg, depts, suggested, lang), \
        suggested


def _departments(ctx: DashboardContext, category: str | None, target: dict[str, Any]
                 ) -> tuple[list[tuple[str, bool]], str | None]:
    """Return (dept id, remit covers) for every department, and the one to suggest:
    the case's lead, or routing's for a case not opened yet."""
    d = ctx.directory
    routing = route(category or "", target.get("grid_id"), d.registry, d.regions, d.staff,
                    d.fallback_owners)
    row = target.get("case") or _opened_row(ctx, category, target, routing.lead)
    draft = row_to_case(row)
    out = [(dept, remit_covers(draft, dept, d)) for dept in sorted(d.registry.departments)]
    return out, row.get("department")


def check_dispatch(ctx: DashboardContext, actor: Actor, pick: dict | None, dept: str | None,
                   category: str | None, override: list[str] | None, reason: str | None,
                   lang: str) -> tuple[str, str, bool]:
    """Return (text, css class, send disabled) for the form as it stands: the remit
    refusal before sending, or that the remit covers it."""
    target = dispatch_target(ctx, actor, pick, lang)
    if target is None or not dept:
        return "", "og-status-line", True
    fields = {"department": dept, "override": bool(override), "reason": reason}
    case = target.get("case") or _opened_row(ctx, category, target, dept)
    why = actions.refusal(ctx, actor, "dispatch", case, fields)
    if why is None:
        return W(lang, "remit_ok"), "og-status-line og-applied", False
    return command_status.refusal_text(lang, why), "og-status-line og-refused", True


def _opened_row(ctx: DashboardContext, category: str | None, target: dict[str, Any],
                dept: str | None) -> dict[str, Any]:
    """Return the `cases` row an `open` from this alert would create (to pre-check it)."""
    chain = region_chain(ctx.regions, target.get("grid_id"))
    grid, community, street, district = (list(chain) + [None] * 4)[:4]
    return {"case_id": f"draft:{target['id']}", "seq": 0, "state": "new",
            "category": category or "", "severity": 1, "department": dept, "assisting": [],
            "grid_id": grid, "community_id": community, "street_id": street,
            "district_id": district, "cell": None, "created_at": datetime.now(UTC)}


def send_dispatch(ctx: DashboardContext, actor: Actor, pick: dict | None, dept: str | None,
                  category: str | None, override: list[str] | None, reason: str | None,
                  note: str | None, lang: str) -> tuple[dict | None, str]:
    """Send the dispatch (or open-and-dispatch) command; return (pending, status text)."""
    target = dispatch_target(ctx, actor, pick, lang)
    if target is None or not dept:
        raise PreventUpdate
    fields = {"department": dept, "override": bool(override), "reason": reason or None,
              "note": note or None}
    case = target.get("case") or _opened_row(ctx, category, target, dept)
    why = actions.refusal(ctx, actor, "dispatch", case, fields)
    if why is not None:
        return None, command_status.refusal_text(lang, why)
    try:
        if target["kind"] == "alert":
            sent = actions.send(ctx, actor, "open", alert_id=target["id"], category=category,
                                **fields)
            action = "open"
        else:
            sent = actions.send(ctx, actor, "dispatch", target["case"], **fields)
            action = "override" if override else "dispatch"
    except actions.ActionFailed as exc:
        return None, command_status.failure_text(lang, str(exc))
    return command_status.pending(sent, action, ctx.clock()), text(lang, "sent")


def acknowledge(ctx: DashboardContext, actor: Actor, alert_id: str, lang: str
                ) -> tuple[dict | None, str]:
    """Send an acknowledgement of a visible alert; return (pending, status text)."""
    alert = alert_reads.alert_row(ctx.store, ctx.scope(actor), alert_id)
    if alert is None:
        return None, text(lang, "code_unknown_alert")
    if not _can_act(ctx, actor):
        return None, text(lang, "code_not_allowed")
    try:
        sent = actions.send(ctx, actor, "acknowledge", alert_id=alert_id)
    except actions.ActionFailed as exc:
        return None, command_status.failure_text(lang, str(exc))
    return command_status.pending(sent, "acknowledge", ctx.clock()), text(lang, "sent")


# -- wiring --------------------------------------------------------------------------

def register(app: Dash, ctx: DashboardContext) -> None:
    """Attach the command map's callbacks to `app`."""
    # Read, not listened to: a language switch draws the whole page again (`app.render`).
    lang_state = State(ids.LANGUAGE, "value")

    @user_callback(app, ctx, [Output(VIEW, "data")],
                   [Input(MAP, "zoom"), Input(MAP, "bounds"), State(VIEW, "data")],
                   prevent_initial_call=True)
    def follow_view(actor, zoom, bounds, current):
        found = hexmap.view_of(zoom, bounds)
        return no_update if found == current else found

    map_outputs = [Output(HEX, "data"), Output(HEX, "hideout"),
                   *[Output(m, "data") for m in MARKERS.values()],
                   Output(LEGEND, "children"), Output(ERROR, "children")]

    @user_callback(app, ctx, map_outputs,
                   [Input(ids.TICK, "n_intervals"), Input(MEASURE, "value"),
                    Input(WINDOW, "value"), Input(LAYERS, "value"), Input(VIEW, "data"),
                    lang_state, State(DRAWN, "data")],
                   fallback=lambda: (*[no_update] * (len(map_outputs) - 1), text("zh", "error")))
    def refresh_map(actor, _tick, measure, window, layers, view_data, lang, drawn):
        drawn = drawn or {}
        # The marker layers go together, so they hold one digest unless one was lost.
        held = {drawn.get(k) for k in MARKERS}
        tick = map_update(ctx, actor, measure, window, layers, view_data, lang,
                          drawn.get("cells"), held.pop() if len(held) == 1 else None)
        marker_data = [no_update if tick.markers[k] is None else tick.markers[k]
                       for k in MARKERS]
        return (no_update if tick.hex_data is None else tick.hex_data, tick.hex_hideout,
                *marker_data, tick.legend, "")

    hexmap.track_drawn(app, DRAWN, {"cells": HEX, **MARKERS})

    @user_callback(app, ctx, [*[Output(b, "hideout") for b in BOUNDARIES.values()],
                              *[Output(b, "data") for b in BOUNDARIES.values()],
                              Output(BOUNDARIES_SENT, "data")],
                   [Input(LAYERS, "value"), State(BOUNDARIES_SENT, "data")],
                   prevent_initial_call=True)
    def boundaries(actor, layers, sent):
        return boundary_update(ctx, layers or [], sent or [])

    @user_callback(app, ctx, [Output(STATUS, "children"), Output(QUEUE, "data"),
                              Output(QUEUE_DIGEST, "data")],
                   [Input(ids.TICK, "n_intervals"), lang_state, State(QUEUE_DIGEST, "data"),
                    State(QUEUE, "data")])
    def refresh_side(actor, _tick, lang, digest, shown):
        return side_update(ctx, actor, lang, digest, shown)

    @user_callback(app, ctx, [Output(PICK, "data"), Output(TABS, "value")],
                   [Input(HEX, "clickData"), *[Input(m, "clickData") for m in MARKERS.values()],
                    Input(QUEUE, "active_cell"), Input({"type": SHOW, "id": ALL}, "n_clicks"),
                    Input(DETAILS_BUTTON, "n_clicks"), Input(OPEN_BUTTON, "n_clicks")],
                   prevent_initial_call=True)
    def pick(actor, *_values):
        trigger = dash_ctx.triggered_id
        if trigger in (DETAILS_BUTTON, OPEN_BUTTON):
            if not _clicked():
                raise PreventUpdate
            return no_update, "details" if trigger == DETAILS_BUTTON else "dispatch"
        if isinstance(trigger, dict) and not _clicked():
            raise PreventUpdate  # a panel re-rendered: its buttons were not pressed
        value = dash_ctx.triggered[0]["value"] if dash_ctx.triggered else None
        found = pick_from(trigger, value)
        if found is None:
            raise PreventUpdate
        return found, "details" if isinstance(trigger, dict) else no_update

    @user_callback(app, ctx, [Output(PICKED, "children"), Output(DETAILS_BUTTON, "disabled"),
                              Output(ACK_BUTTON, "disabled"), Output(OPEN_BUTTON, "disabled"),
                              Output(OPEN_BUTTON, "children")],
                   [Input(PICK, "data"), lang_state, Input(QUEUE_DIGEST, "data")])
    def bar(actor, picked, lang, _queue):
        return action_bar(ctx, actor, picked, lang or "zh")

    @user_callback(app, ctx, [Output(DETAIL, "children"), Output(DETAIL_DIGEST, "data")],
                   [Input(PICK, "data"), Input(ids.TICK, "n_intervals"), lang_state,
                    State(WINDOW, "value"), State(DETAIL_DIGEST, "data"),
                    State(DETAIL, "children")])
    def detail(actor, picked, _tick, lang, window, digest, shown):
        content = detail_for(ctx, actor, picked, lang or "zh", window)
        new = content_digest(content)
        return (no_update, digest) if new == digest and shown else (content, new)

    @user_callback(app, ctx, [Output(TARGET, "children"), Output(CATEGORY, "options"),
                              Output(CATEGORY, "value"), Output(DEPT, "options"),
                              Output(DEPT, "value")],
                   [Input(PICK, "data"), lang_state])
    def form(actor, picked, lang):
        return form_for(ctx, actor, picked, lang or "zh")

    @user_callback(app, ctx, [Output(CHECK, "children"), Output(CHECK, "className"),
                              Output(SEND, "disabled")],
                   [Input(DEPT, "value"), Input(CATEGORY, "value"), Input(OVERRIDE, "value"),
                    Input(REASON, "value"), State(PICK, "data"), lang_state])
    def check(actor, dept, category, override, reason, picked, lang):
        return check_dispatch(ctx, actor, picked, dept, category, override, reason,
                              lang or "zh")

    @user_callback(app, ctx, [Output(PENDING, "data"), Output(ACTION_STATUS, "children")],
                   [Input(SEND, "n_clicks"), State(PICK, "data"), State(DEPT, "value"),
                    State(CATEGORY, "value"), State(OVERRIDE, "value"), State(REASON, "value"),
                    State(NOTE, "value"), State(ids.LANGUAGE, "value")],
                   prevent_initial_call=True)
    def send(actor, clicks, picked, dept, category, override, reason, note, lang):
        if not clicks:
            raise PreventUpdate
        return send_dispatch(ctx, actor, picked, dept, category, override, reason, note,
                             lang or "zh")

    @user_callback(app, ctx, [Output(PENDING, "data", allow_duplicate=True),
                              Output(ACTION_STATUS, "children", allow_duplicate=True)],
                   [Input(ACK_BUTTON, "n_clicks"), State(PICK, "data"),
                    State(ids.LANGUAGE, "value")],
                   prevent_initial_call=True)
    def ack(actor, clicks, picked, lang):
        if not clicks or not picked or picked.get("kind") != "alerts":
            raise PreventUpdate
        return acknowledge(ctx, actor, picked["id"], lang or "zh")

    @user_callback(app, ctx, [Output(ACTION_STATUS, "children", allow_duplicate=True),
                              Output(ACTION_STATUS, "className"),
                              Output(PENDING, "data", allow_duplicate=True)],
                   [Input(ids.TICK, "n_intervals"), State(PENDING, "data"),
                    State(ids.LANGUAGE, "value")], prevent_initial_call=True)
    def follow_up(actor, _tick, waiting, lang):
        if not waiting:
            raise PreventUpdate
        return command_status.describe(ctx, lang or "zh", waiting, actor)


def _clicked() -> bool:
    """Return whether the triggering button was really pressed (n_clicks above 0)."""
    return any(t.get("value") for t in dash_ctx.triggered)



PAGE: Final = Page("map", "/map", frozenset({Role.COMMAND, Role.ENV_OFFICER, Role.SUPERVISOR,
                                              Role.DEPARTMENT, Role.ADMIN}),
                   layout, register, nav="nav_map", ids=IDS)
