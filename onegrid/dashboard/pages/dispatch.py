"""The dispatch board (工单派单): the cases of the user's scope by state and department.

Top, a strip of counts per state (click a card to filter by it) and the
filters (state, lead department, district, category, overdue only, free
text). Then the bulk bar: the actions the user's role takes on many cases
at once (command staff dispatch to routing's suggestion, press for action
with a reason, close verified cases; department staff accept and start),
with a preview of which selected rows would be refused and why, and after
sending the engine's answer per row. Then the case table (its id links to
the case page) and the counts per lead department. The server filters;
every tick re-reads and re-sends only when something changed, keeping the
filters and the ticked rows.
"""

from __future__ import annotations

from typing import Final

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts.actors import Actor, Role
from onegrid.dashboard import case_actions, ids
from onegrid.dashboard.actions import Refusal
from onegrid.dashboard.components import case_table
from onegrid.dashboard.components.command_status import WAIT_S, refusal_text
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.digest import content_digest
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.queries import board as reads
from onegrid.dashboard.views import cases as view
from onegrid.dashboard.views.cases import STRIP, W
from onegrid.dashboard.views.format import category_name, department_name, region_name

STRIP_ID: Final = "dispatch-strip"
STATES: Final = "dispatch-states"
DEPTS: Final = "dispatch-departments"
DISTRICTS: Final = "dispatch-districts"
CATEGORIES: Final = "dispatch-categories"
OVERDUE: Final = "dispatch-overdue"
SEARCH: Final = "dispatch-search"
CLEAR: Final = "dispatch-clear"
SHOWN: Final = "dispatch-shown"
ERROR: Final = "dispatch-error"
TABLE: Final = "dispatch-table"
BY_DEPT: Final = "dispatch-by-department"
DIGEST: Final = "dispatch-digest"
SEQS: Final = "dispatch-seqs"
BULK_ACTION: Final = "dispatch-bulk-action"
BULK_REASON: Final = "dispatch-bulk-reason"
BULK_PREVIEW: Final = "dispatch-bulk-preview"
BULK_SEND: Final = "dispatch-bulk-send"
BULK_RESULTS: Final = "dispatch-bulk-results"
BULK_PENDING: Final = "dispatch-bulk-pending"
IDS: Final = (STRIP_ID, STATES, DEPTS, DISTRICTS, CATEGORIES, OVERDUE, SEARCH, CLEAR, SHOWN,
              ERROR, TABLE, BY_DEPT, DIGEST, SEQS, BULK_ACTION, BULK_REASON, BULK_PREVIEW,
              BULK_SEND, BULK_RESULTS, BULK_PENDING)
_KEEP: Final = {"persistence": True, "persistence_type": "session"}


# -- layout ----------------------------------------------------------------------

def layout(ctx: DashboardContext, actor: Actor, lang: str, path: str) -> html.Div:
    """Return the dispatch board for `actor` in `lang` (filter choices from its scope)."""
    reg, regions = ctx.registry, ctx.regions
    found = reads.filter_choices(ctx.store, ctx.scope(actor))
    filters = html.Div([
        _labelled(W(lang, "filter_state"), dcc.Dropdown(
            view.state_options(lang), [], id=STATES, multi=True, **_KEEP)),
        _labelled(W(lang, "filter_department"), dcc.Dropdown(
            view.named_options(found["departments"],
                               lambda c, lg: department_name(reg, c, lg), lang),
            [], id=DEPTS, multi=True, **_KEEP)),
        _labelled(W(lang, "filter_district"), dcc.Dropdown(
            view.named_options(found["districts"],
                               lambda c, lg: region_name(regions, "district", c, lg), lang),
            [], id=DISTRICTS, multi=True, **_KEEP)),
        _labelled(W(lang, "filter_category"), dcc.Dropdown(
            view.named_options(found["categories"],
                               lambda c, lg: category_name(reg, c, lg), lang),
            [], id=CATEGORIES, multi=True, **_KEEP)),
        _labelled("", dcc.Checklist([{"label": W(lang, "overdue_only"), "value": "on"}], [],
                                    id=OVERDUE, **_KEEP)),
        _labelled("", dcc.Input(id=SEARCH, type="search", debounce=0.4, value="",
                                placeholder=W(lang, "search"), className="og-search",
                                style={"width": "300px"}, **_KEEP)),
        _labelled("", html.Button(W(lang, "clear_filters"), id=CLEAR, n_clicks=0,
                                  className="og-secondary")),
    ], className="og-filters")
    return html.Div([
        html.Div(id=STRIP_ID, className="og-cards og-strip"),
        filters,
        html.Div(id=ERROR, className="og-error"),
        _bulk_bar(actor, lang),
        html.Div(id=SHOWN, className="og-muted"),
        dcc.Loading(case_table.case_table(TABLE, lang), delay_show=600, show_initially=True,
                    overlay_style={"visibility": "visible", "opacity": 0.6}),
        html.Details([html.Summary(W(lang, "by_department")),
                      html.Div(id=BY_DEPT)], className="og-panel og-by-dept"),
        dcc.Store(id=DIGEST), dcc.Store(id=SEQS), dcc.Store(id=BULK_PENDING),
    ], className="og-board")


def _labelled(label: str, control) -> html.Div:
    return html.Div([html.Label(label), control], className="og-filter")


def _bulk_bar(actor: Actor, lang: str) -> html.Div:
    choices = view.bulk_options(case_actions.bulk_actions(actor), lang)
    hidden = {} if choices else {"display": "none"}  # the ids stay for the callbacks
    return html.Div([
        html.B(W(lang, "bulk_title")),
        dcc.RadioItems(choices, choices[0]["value"] if choices else None, id=BULK_ACTION,
                       inline=True, className="og-bulk-actions"),
        dcc.Input(id=BULK_REASON, type="text", value="", placeholder=W(lang, "bulk_reason"),
                  className="og-bulk-reason"),
        html.Button(W(lang, "bulk_send"), id=BULK_SEND, n_clicks=0, disabled=True),
        html.Div(view.bulk_preview([], lang), id=BULK_PREVIEW, className="og-status-line"),
        html.Div(id=BULK_RESULTS),
    ], className="og-panel og-bulk", style=hidden)


# -- the board -------------------------------------------------------------------

def board_filter(states, depts, districts, categories, overdue, search) -> reads.BoardFilter:
    """Return the filter the controls ask for (anything malformed is ignored)."""
    def codes(values) -> tuple[str, ...]:
        return tuple(str(v) for v in values if v) if isinstance(values, list) else ()
    return reads.BoardFilter(codes(states), codes(depts), codes(districts), codes(categories),
                             bool(overdue), str(search or "")[:100])


def board_update(ctx: DashboardContext, actor: Actor, f: reads.BoardFilter, lang: str,
                 selected_ids: list[str] | None, digest: str | None) -> tuple:
    """Return (strip, table records, selected rows, shown line, per-department table,
    case id -> seq shown, digest) for this tick; all no_update when nothing changed."""
    scope, now, reg = ctx.scope(actor), ctx.clock(), ctx.registry
    rows, total = reads.board_rows(ctx.store, scope, f, now, reg)
    counts, late = reads.state_counts(ctx.store, scope, f, now, reg)
    per_dept = reads.department_counts(ctx.store, scope, f, now, reg)
    seqs = {r["case_id"]: r["seq"] for r in rows}
    # The countdowns read in minutes, so the minute is part of what is shown.
    new = content_digest([seqs, [r["overdue"] for r in rows], total, counts, late, per_dept,
                          f.states, f.overdue, lang, int(now.timestamp() // 60)])
    if new == digest:
        return (no_update,) * 7
    records = view.table_records(rows, lang, now=now, tz=reg.timezone, registry=reg,
                                 regions=ctx.regions)
    return (view.strip(counts, late, lang, f.states, f.overdue), records,
            case_table.selection_for(records, selected_ids),
            view.shown_line(len(rows), total, lang), view.department_table(per_dept, lang, reg),
            seqs, new)


def strip_toggle(key: str | None, states: list[str] | None, overdue: list[str] | None
                 ) -> tuple[list[str], list[str]]:
    """Return the (states, overdue) filter values after a click on a strip card: a state
    card shows only that state (again: all states), the overdue card toggles overdue,
    the total card clears both."""
    states, overdue = list(states or []), list(overdue or [])
    if key == view.OVERDUE_CARD:
        return states, [] if overdue else ["on"]
    if key in view.STRIP_STATES:
        return ([] if states == [key] else [key]), overdue
    return [], []


# -- bulk actions ------------------------------------------------------------------

def bulk_check(ctx: DashboardContext, actor: Actor, action: str | None,
               selected_ids: list[str] | None, reason: str | None, lang: str
               ) -> tuple[list, bool]:
    """Return (preview of the bulk action on the selected rows, send disabled)."""
    chosen = [str(i) for i in selected_ids or []]
    plan = case_actions.bulk_plan(ctx, actor, action, chosen, reason, lang) if chosen else []
    items = [item for item, _row, _fields in plan]
    ready = any(i.refusal is None for i in items)
    return [html.Span(W(lang, "selected", n=len(chosen)) + " · "),
            *view.bulk_preview(items, lang)], not ready


def bulk_run(ctx: DashboardContext, actor: Actor, action: str | None,
             selected_ids: list[str] | None, reason: str | None,
             seqs: dict[str, int] | None, lang: str) -> tuple[dict, list]:
    """Send the bulk action (refused rows are not sent); return (pending, results)."""
    items = case_actions.bulk_send(ctx, actor, action, [str(i) for i in selected_ids or []],
                                   seqs, reason, lang)
    pending = {"sent_at": ctx.clock().timestamp(),
               "items": [{"case_id": i.case_id, "action": i.action,
                          "command_id": i.command_id, "refusal": i.refusal} for i in items]}
    results, _open = bulk_follow(ctx, actor, pending, lang)
    return pending, results


def bulk_follow(ctx: DashboardContext, actor: Actor, pending: dict | None, lang: str
                ) -> tuple[list, bool]:
    """Return (the results of a bulk run so far, whether answers are still awaited)."""
    if not pending:
        return [], False
    items = pending.get("items") or []
    answers = reads.outcomes(ctx.store, actor.actor_id,
                             [i["command_id"] for i in items if i.get("command_id")])
    waited = ctx.clock().timestamp() - float(pending.get("sent_at") or 0)
    shown, awaiting = [], False
    for item in items:
        result, css = _result(item, answers.get(item.get("command_id") or ""), waited, lang)
        awaiting |= css == "og-status-line"
        shown.append({**item, "result": result, "css": css})
    return view.bulk_results(shown, lang), awaiting and waited <= WAIT_S


def _result(item: dict, answer: dict | None, waited: float, lang: str) -> tuple[str, str]:
    if item.get("refusal"):
        return W(lang, "not_sent", reason=item["refusal"]), "og-status-line og-refused"
    if answer is None:
        return (text(lang, "no_answer"), "og-status-line og-done") if waited > WAIT_S \
            else (text(lang, "sent"), "og-status-line")
    if answer["outcome"] == "applied":
        return text(lang, "applied", action=text(lang, f"action_{item['action']}")), \
            "og-status-line og-applied"
    return refusal_text(lang, Refusal(answer.get("code") or "", answer.get("reason") or "")), \
        "og-status-line og-refused"


# -- wiring --------------------------------------------------------------------------

def register(app: Dash, ctx: DashboardContext) -> None:
    """Attach the dispatch board's callbacks to `app`."""
    filters = [Input(STATES, "value"), Input(DEPTS, "value"), Input(DISTRICTS, "value"),
               Input(CATEGORIES, "value"), Input(OVERDUE, "value"), Input(SEARCH, "value")]
    lang_state = State(ids.LANGUAGE, "value")

    @user_callback(app, ctx, [Output(STRIP_ID, "children"), Output(TABLE, "data"),
                              Output(TABLE, "selected_rows"), Output(SHOWN, "children"),
                              Output(BY_DEPT, "children"), Output(SEQS, "data"),
                              Output(DIGEST, "data"), Output(ERROR, "children")],
                   [Input(ids.TICK, "n_intervals"), *filters, lang_state,
                    State(TABLE, "selected_row_ids"), State(DIGEST, "data")],
                   fallback=lambda: (*([no_update] * 7), text("zh", "error")))
    def refresh(actor, _tick, states, depts, districts, cats, overdue, search, lang,
                selected, digest):
        f = board_filter(states, depts, districts, cats, overdue, search)
        return (*board_update(ctx, actor, f, lang or "zh", selected, digest), "")

    @user_callback(app, ctx, [Output(STATES, "value"), Output(OVERDUE, "value")],
                   [Input({"type": STRIP, "state": ALL}, "n_clicks"), State(STATES, "value"),
                    State(OVERDUE, "value")], prevent_initial_call=True)
    def strip_click(actor, _clicks, states, overdue):
        trigger = dash_ctx.triggered_id
        if not isinstance(trigger, dict) or not _clicked():
            raise PreventUpdate  # the strip was redrawn: no card was pressed
        return strip_toggle(trigger.get("state"), states, overdue)

    @user_callback(app, ctx, [Output(STATES, "value", allow_duplicate=True),
                              Output(DEPTS, "value"), Output(DISTRICTS, "value"),
                              Output(CATEGORIES, "value"),
                              Output(OVERDUE, "value", allow_duplicate=True),
                              Output(SEARCH, "value")],
                   [Input(CLEAR, "n_clicks")], prevent_initial_call=True)
    def clear(actor, clicks):
        if not clicks:
            raise PreventUpdate
        return [], [], [], [], [], ""

    @user_callback(app, ctx, [Output(BULK_PREVIEW, "children"), Output(BULK_SEND, "disabled")],
                   [Input(TABLE, "selected_row_ids"), Input(BULK_ACTION, "value"),
                    Input(BULK_REASON, "value"), lang_state])
    def preview(actor, selected, action, reason, lang):
        return bulk_check(ctx, actor, action, selected, reason, lang or "zh")

    @user_callback(app, ctx, [Output(BULK_PENDING, "data"), Output(BULK_RESULTS, "children")],
                   [Input(BULK_SEND, "n_clicks"), State(TABLE, "selected_row_ids"),
                    State(BULK_ACTION, "value"), State(BULK_REASON, "value"), State(SEQS, "data"),
                    lang_state], prevent_initial_call=True)
    def send(actor, clicks, selected, action, reason, seqs, lang):
        if not clicks:
            raise PreventUpdate
        return bulk_run(ctx, actor, action, selected, reason, seqs, lang or "zh")

    @user_callback(app, ctx, [Output(BULK_RESULTS, "children", allow_duplicate=True),
                              Output(BULK_PENDING, "data", allow_duplicate=True)],
                   [Input(ids.TICK, "n_intervals"), State(BULK_PENDING, "data"), lang_state],
                   prevent_initial_call=True)
    def follow(actor, _tick, pending, lang):
        if not pending:
            raise PreventUpdate
        results, awaiting = bulk_follow(ctx, actor, pending, lang or "zh")
        return results, (no_update if awaiting else None)  # None: every answer is in


def _clicked() -> bool:
    """Return whether the triggering card was really pressed (n_clicks above 0)."""
    return any(t.get("value") for t in dash_ctx.triggered)



PAGE: Final = Page("dispatch", "/dispatch",
                   frozenset({Role.COMMAND, Role.DEPARTMENT, Role.SUPERVISOR}),
                   layout, register, nav="nav_dispatch", ids=IDS)
