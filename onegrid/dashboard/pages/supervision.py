"""The supervision page (督办/考核): KPIs by department and region, the overdue list with
press-for-action, and the audit trail with its chain status.

Top, the assessment (考核) of the cases taken in over the chosen period
(today / 7 days / 30 days, ending now), by department, district or street:
totals, bar charts of the lowest on-time closure rates and the biggest
backlogs, and a table sortable by any column. KPIs refresh every
`KPI_EVERY` ticks and at once when the period, grouping or order changes or
on 刷新: they are rates over days, which a tick's worth of cases barely
moves, and the query aggregates the whole period's log. Middle, the overdue
list (督办清单), refreshed every tick: press one case, or the ticked ones,
for action with a required reason; each press is a `press` command, checked
first as the engine will check it (`components.press`). Bottom, for supervisors and
admins, electronic supervision (电子监察): the latest log rows (every tick)
and the hash chain's status, verified when the page opens and on 重新校验
(it hashes the whole log, so never on a tick). Everything read is scoped to
the viewer; a role the page is not for gets nothing from its callbacks.
"""

from __future__ import annotations

from dataclasses import astuple
from typing import Final

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts.actors import Actor, Role
from onegrid.dashboard import ids
from onegrid.dashboard.components import press as presses
from onegrid.dashboard.components.kpi import next_sort
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.digest import content_digest
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.queries import supervision as reads
from onegrid.dashboard.views import audit as audit_view
from onegrid.dashboard.views import supervision as view
from onegrid.dashboard.views.format import local_time
from onegrid.dashboard.views.supervision import PICK, PRESS_ONE, SORT_BY, W

PERIOD: Final = "supervision-period"
GROUP: Final = "supervision-group"
REFRESH: Final = "supervision-refresh"
CARDS: Final = "supervision-cards"
KPI_HINT: Final = "supervision-kpi-hint"
CHART_RATE: Final = "supervision-chart-rate"
CHART_BACKLOG: Final = "supervision-chart-backlog"
KPI_TABLE: Final = "supervision-kpi-table"
SORT: Final = "supervision-sort"
KPI_DIGEST: Final = "supervision-kpi-digest"
KPI_TICK: Final = "supervision-kpi-tick"
OVERDUE_COUNT: Final = "supervision-overdue-count"
OVERDUE: Final = "supervision-overdue"
SHOWN: Final = "supervision-shown"
SELECTED: Final = "supervision-selected"
OVERDUE_DIGEST: Final = "supervision-overdue-digest"
SELECT_ALL: Final = "supervision-select-all"
REASON: Final = "supervision-reason"
PRESS: Final = "supervision-press"
CHECK: Final = "supervision-check"
PENDING: Final = "supervision-pending"
ACTION_STATUS: Final = "supervision-action-status"
CHAIN: Final = "supervision-chain"
VERIFY: Final = "supervision-verify"
AUDIT: Final = "supervision-audit"
AUDIT_DIGEST: Final = "supervision-audit-digest"
IDS: Final = (PERIOD, GROUP, REFRESH, CARDS, KPI_HINT, CHART_RATE, CHART_BACKLOG, KPI_TABLE,
              SORT, KPI_DIGEST, KPI_TICK, OVERDUE_COUNT, OVERDUE, SHOWN, SELECTED, OVERDUE_DIGEST,
              SELECT_ALL, REASON, PRESS, CHECK, PENDING, ACTION_STATUS, CHAIN, VERIFY, AUDIT,
              AUDIT_DIGEST)

ROLES: Final = frozenset({Role.COMMAND, Role.SUPERVISOR, Role.ADMIN})
AUDIT_ROLES: Final = frozenset({Role.SUPERVISOR, Role.ADMIN})
KPI_EVERY: Final = 10  # ticks between KPI refreshes (20 s at the default 2 s tick)
_GRAPH_CONFIG: Final = {"displaylogo": False, "displayModeBar": False}
LOADING_DELAY_MS: Final = 400  # a spinner only for a load a person would notice
# Every KPI_EVERY-th tick, in the browser: the other ticks cost the server nothing and
# never set the KPIs loading.
_KPI_CLOCK: Final = f"""function(n) {{
    return n && n % {KPI_EVERY} === 0 ? n : window.dash_clientside.no_update;
}}"""


# -- layout ----------------------------------------------------------------------------

def layout(ctx: DashboardContext, actor: Actor, lang: str, path: str) -> html.Div:
    """Return the supervision page for `actor` in `lang` (filled by its callbacks)."""
    return html.Div([
        _kpi_section(lang),
        _overdue_section(ctx, actor, lang),
        _audit_section(actor, lang),
        dcc.Store(id=SORT, data=dict(view.DEFAULT_SORT)), dcc.Store(id=KPI_DIGEST),
        dcc.Store(id=KPI_TICK),
        dcc.Store(id=SHOWN, data={}), dcc.Store(id=SELECTED, data=[]),
        dcc.Store(id=OVERDUE_DIGEST), dcc.Store(id=PENDING), dcc.Store(id=AUDIT_DIGEST),
    ], className="og-supervision")


def _kpi_section(lang: str) -> html.Div:
    tools = html.Div([
        html.Span(W(lang, "period")),
        dcc.RadioItems([{"label": W(lang, f"period_{p}"), "value": p} for p in reads.PERIODS],
                       "today", id=PERIOD, inline=True),
        html.Span(W(lang, "group")),
        dcc.RadioItems([{"label": W(lang, f"group_{g}"), "value": g} for g in reads.GROUPS],
                       "department", id=GROUP, inline=True),
        html.Button(text(lang, "refresh"), id=REFRESH, n_clicks=0, className="og-secondary"),
    ], className="og-maptools")
    graph = {"config": _GRAPH_CONFIG, "style": {"height": "100%"}}
    return html.Div([
        html.H3(W(lang, "kpi_title")), tools,
        html.Div(id=KPI_HINT, className="og-muted"),
        dcc.Loading([
            html.Div(id=CARDS, className="og-cards"),
            html.Div([html.Div(dcc.Graph(id=CHART_RATE, **graph), style={"flex": "1 1 420px"}),
                      html.Div(dcc.Graph(id=CHART_BACKLOG, **graph),
                               style={"flex": "1 1 420px"})],
                     style={"display": "flex", "gap": "10px", "flexWrap": "wrap"}),
            html.Div(id=KPI_TABLE),
        ], delay_show=LOADING_DELAY_MS),
    ], className="og-panel")


def _overdue_section(ctx: DashboardContext, actor: Actor, lang: str) -> html.Div:
    able = presses.can_press(ctx, actor)
    controls = html.Div([
        dcc.Checklist([{"label": W(lang, "select_all"), "value": "all"}], [], id=SELECT_ALL,
                      inline=True),
        dcc.Input(id=REASON, type="text", placeholder=W(lang, "press_reason"), debounce=False,
                  disabled=not able, style={"flex": "1 1 260px"}),
        html.Button(W(lang, "press_selected"), id=PRESS, n_clicks=0, disabled=True,
                    className="og-danger"),
    ], className="og-row")
    return html.Div([
        html.H3([W(lang, "overdue_title"), " ",
                 html.Span(id=OVERDUE_COUNT, className="og-badge og-firing")]),
        controls,
        html.Div(id=CHECK, className="og-status-line"),
        html.Div(id=ACTION_STATUS, className="og-status-line"),
        html.Div(id=OVERDUE),
    ], className="og-panel")


def _audit_section(actor: Actor, lang: str) -> html.Div:
    # Other roles get the ids too (so no callback names a missing component), hidden.
    hidden = {} if actor.role in AUDIT_ROLES else {"display": "none"}
    return html.Div([
        html.H3(W(lang, "audit_title")),
        html.Div([dcc.Loading(html.Div(id=CHAIN, className="og-status-line"),
                              delay_show=LOADING_DELAY_MS),
                  html.Button(W(lang, "verify"), id=VERIFY, n_clicks=0,
                              className="og-secondary")], className="og-row"),
        html.Div(id=AUDIT),
    ], className="og-panel", style=hidden)


# -- what the callbacks compute ---------------------------------------------------------

def kpi_update(ctx: DashboardContext, actor: Actor, period: str | None, group: str | None,
               sort: dict | None, lang: str, digest: str | None) -> tuple:
    """Return (cards, on-time chart, backlog chart, table, hint, digest); the first four
    are no_update when nothing they show changed."""
    if actor.role not in ROLES:
        raise PreventUpdate
    group = group if group in reads.GROUPS else "department"
    since, until = reads.period_bounds(period, ctx.clock(), ctx.registry.timezone)
    tz = ctx.registry.timezone
    every = round(KPI_EVERY * ctx.refresh_ms / 1000)
    hint = W(lang, "kpi_hint", since=local_time(since, tz), until=local_time(until, tz),
             every=every)
    kpis = reads.kpi_rows(ctx.store, ctx.scope(actor), group, since, until)
    new = content_digest([[_rounded(k) for k in kpis], group, sort, lang])
    if new == digest:
        return no_update, no_update, no_update, no_update, hint, digest
    rows = view.kpi_view_rows(kpis, group, ctx.registry, ctx.regions, lang)
    rate_fig, backlog_fig = view.kpi_charts(rows, group, lang)
    return (view.kpi_cards(rows, lang), rate_fig, backlog_fig,
            view.kpi_view(rows, group, sort, lang), hint, new)


def overdue_update(ctx: DashboardContext, actor: Actor, lang: str, selected: list | None,
                   digest: str | None) -> tuple:
    """Return (count, overdue list or no_update, {case id: seq shown}, digest)."""
    if actor.role not in ROLES:
        raise PreventUpdate
    now, tz = ctx.clock(), ctx.registry.timezone
    items = reads.overdue_rows(ctx.store, ctx.scope(actor), now)
    drawn = items[:view.OVERDUE_LIMIT]
    shown = {o.case.case_id: o.case.seq for o in drawn}
    steps = {o.case.case_id: reads.next_step(o.case, now, ctx.directory) for o in drawn}
    able = presses.can_press(ctx, actor)
    content = view.overdue_view(items, lang, tz=tz, registry=ctx.registry, regions=ctx.regions,
                                selected=selected or [], can_press=able, steps=steps)
    new = content_digest(content)
    count = W(lang, "overdue_count", n=len(items))
    return count, (no_update if new == digest else content), shown, new


def audit_update(ctx: DashboardContext, actor: Actor, lang: str, digest: str | None) -> tuple:
    """Return (latest log rows or no_update, digest) for supervisors and admins."""
    if actor.role not in AUDIT_ROLES:
        raise PreventUpdate
    rows = reads.audit_rows(ctx.store, ctx.scope(actor))
    staff = ctx.directory.staff

    def name_of(actor_id: str) -> str | None:
        found = staff.get(actor_id)
        return found.name if found else None

    content = audit_view.audit_view(rows, lang, tz=ctx.registry.timezone, name_of=name_of)
    new = content_digest(content)
    return (no_update if new == digest else content), new


def chain_update(ctx: DashboardContext, actor: Actor, lang: str) -> tuple[str, str]:
    """Return (text, css class) of the hash chain verified now (supervisors and admins)."""
    if actor.role not in AUDIT_ROLES:
        raise PreventUpdate
    scope = ctx.scope(actor)
    status = reads.chain_status(ctx.store, ctx.clock())
    visible = reads.cases_by_id(ctx.store, scope, [status.broken.case_id]) \
        if status.broken else {}
    return audit_view.chain_line(status, lang, tz=ctx.registry.timezone,
                                 sees_case=lambda case_id: case_id in visible)


def picked(values: list | None) -> list[str]:
    """Return the case ids whose checkbox is ticked (one list of values per row)."""
    return [v for vs in values or [] for v in vs or []]


# -- wiring ----------------------------------------------------------------------------

def register(app: Dash, ctx: DashboardContext) -> None:
    """Attach the supervision page's callbacks to `app`."""
    # Read, not listened to: a language switch draws the whole page again (`app.render`).
    lang_state = State(ids.LANGUAGE, "value")
    app.clientside_callback(_KPI_CLOCK, Output(KPI_TICK, "data"),
                            Input(ids.TICK, "n_intervals"), prevent_initial_call=True)
    status_out = [Output(PENDING, "data", allow_duplicate=True),
                  Output(ACTION_STATUS, "children", allow_duplicate=True),
                  Output(ACTION_STATUS, "className", allow_duplicate=True)]

    @user_callback(app, ctx, [Output(CARDS, "children"), Output(CHART_RATE, "figure"),
                              Output(CHART_BACKLOG, "figure"), Output(KPI_TABLE, "children"),
                              Output(KPI_HINT, "children"), Output(KPI_DIGEST, "data")],
                   [Input(KPI_TICK, "data"), Input(PERIOD, "value"),
                    Input(GROUP, "value"), Input(SORT, "data"), Input(REFRESH, "n_clicks"),
                    lang_state, State(KPI_DIGEST, "data")],
                   fallback=lambda: (no_update, no_update, no_update,
                                     html.Div(text("zh", "error"), className="og-error"),
                                     no_update, None))
    def refresh_kpis(actor, _due, period, group, sort, clicks, lang, digest):
        if dash_ctx.triggered_id == REFRESH:
            digest = None  # asked for: draw again even if nothing changed
        return kpi_update(ctx, actor, period, group, sort, lang or "zh", digest)

    @user_callback(app, ctx, [Output(SORT, "data")],
                   [Input({"type": SORT_BY, "col": ALL}, "n_clicks"), State(SORT, "data")],
                   prevent_initial_call=True)
    def sort_by(actor, _clicks, sort):
        trigger = dash_ctx.triggered_id
        if not isinstance(trigger, dict) or not _clicked():
            raise PreventUpdate  # the table was redrawn, no header was clicked
        return next_sort(sort, trigger["col"])

    @user_callback(app, ctx, [Output(OVERDUE_COUNT, "children"), Output(OVERDUE, "children"),
                              Output(SHOWN, "data"), Output(OVERDUE_DIGEST, "data")],
                   [Input(ids.TICK, "n_intervals"), lang_state, State(SELECTED, "data"),
                    State(OVERDUE_DIGEST, "data")],
                   fallback=lambda: (no_update, html.Div(text("zh", "error"),
                                                         className="og-error"), no_update, None))
    def refresh_overdue(actor, _tick, lang, selected, digest):
        return overdue_update(ctx, actor, lang or "zh", selected, digest)

    @user_callback(app, ctx, [Output(SELECTED, "data")],
                   [Input({"type": PICK, "id": ALL}, "value")])
    def remember_selection(actor, values):
        return picked(values)

    @user_callback(app, ctx, [Output({"type": PICK, "id": ALL}, "value")],
                   [Input(SELECT_ALL, "value"), State({"type": PICK, "id": ALL}, "id")],
                   prevent_initial_call=True)
    def select_all(actor, everything, row_ids):
        return [[r["id"]] if everything else [] for r in row_ids or []]

    @user_callback(app, ctx, [Output(CHECK, "children"), Output(CHECK, "className"),
                              Output(PRESS, "disabled")],
                   [Input(SELECTED, "data"), Input(REASON, "value"), lang_state])
    def check(actor, selected, reason, lang):
        return presses.check(ctx, actor, selected or [], reason, lang or "zh")

    @user_callback(app, ctx, status_out,
                   [Input(PRESS, "n_clicks"), State(SELECTED, "data"), State(REASON, "value"),
                    State(SHOWN, "data"), lang_state], prevent_initial_call=True)
    def press_selected(actor, clicks, selected, reason, shown, lang):
        if not clicks:
            raise PreventUpdate
        return presses.press(ctx, actor, selected or [], reason, shown or {}, lang or "zh")

    @user_callback(app, ctx, status_out,
                   [Input({"type": PRESS_ONE, "id": ALL}, "n_clicks"), State(REASON, "value"),
                    State(SHOWN, "data"), lang_state], prevent_initial_call=True)
    def press_one(actor, _clicks, reason, shown, lang):
        trigger = dash_ctx.triggered_id
        if not isinstance(trigger, dict) or not _clicked():
            raise PreventUpdate
        return presses.press(ctx, actor, [trigger["id"]], reason, shown or {}, lang or "zh")

    @user_callback(app, ctx, [Output(ACTION_STATUS, "children", allow_duplicate=True),
                              Output(ACTION_STATUS, "className", allow_duplicate=True),
                              Output(PENDING, "data", allow_duplicate=True)],
                   [Input(ids.TICK, "n_intervals"), State(PENDING, "data"), lang_state],
                   prevent_initial_call=True)
    def follow_up(actor, _tick, waiting, lang):
        if not waiting:
            raise PreventUpdate
        return presses.describe(ctx, lang or "zh", waiting)

    @user_callback(app, ctx, [Output(AUDIT, "children"), Output(AUDIT_DIGEST, "data")],
                   [Input(ids.TICK, "n_intervals"), lang_state, State(AUDIT_DIGEST, "data")],
                   fallback=lambda: (html.Div(text("zh", "error"), className="og-error"), None))
    def refresh_audit(actor, _tick, lang, digest):
        return audit_update(ctx, actor, lang or "zh", digest)

    @user_callback(app, ctx, [Output(CHAIN, "children"), Output(CHAIN, "className")],
                   [Input(VERIFY, "n_clicks"), lang_state],
                   fallback=lambda: (text("zh", "error"), "og-status-line og-refused"))
    def verify(actor, _clicks, lang):
        return chain_update(ctx, actor, lang or "zh")


def _clicked() -> bool:
    """Return whether the triggering button was really pressed (n_clicks above 0)."""
    return any(t.get("value") for t in dash_ctx.triggered)


def _rounded(kpi) -> tuple:
    """Return a KPI's values with floats rounded: DuckDB's parallel means can differ in the
    last bits between two runs over the same rows, which must not count as a change."""
    return tuple(round(v, 3) if isinstance(v, float) else v for v in astuple(kpi))



PAGE: Final = Page("supervision", "/supervision", ROLES, layout, register,
                   nav="nav_supervision", ids=IDS)
