"""The case page (/case/<id>): one case, its whole-process record, sources and plan, and
the actions the user may take on it.

Left, the summary and the action panel: a button per action that
`case_actions.available` allows this user on this case in its state; a
button opens its form (a department for a dispatch, routing's suggestion
first, with the remit refusal shown before sending and an override with a
reason for command staff; a reason to return, reopen, dismiss or press; a
note and an optional photo link to resolve or comment; the answer of a
follow-up), and the status line follows the engine's answer. Right, the
log (全过程记录, every entry with its hashes), the sources and the plan steps
with tick buttons. All of it re-reads on every tick. A case the user may
not see reads "no such case", the same words as a case that does not exist.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import unquote

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts import sla
from onegrid.alerts.actors import Actor, Role
from onegrid.alerts.cases import row_to_case
from onegrid.dashboard import actions, case_actions, ids
from onegrid.dashboard.components import case_form as form
from onegrid.dashboard.components import command_status
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.digest import content_digest
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.queries import cases as reads
from onegrid.dashboard.views import case_detail as view
from onegrid.dashboard.views.case_detail import ACT, STEP
from onegrid.dashboard.views.cases import W

PREFIX: Final = "/case/"
CASE_ID: Final = "case-id"
TITLE: Final = "case-title"
SUMMARY: Final = "case-summary"
ACTIONS: Final = "case-actions"
LOG: Final = "case-log"
SOURCES: Final = "case-sources"
STEPS: Final = "case-steps"
SEEN: Final = "case-seen"
DIGEST: Final = "case-digest"
ERROR: Final = "case-error"
STATUS: Final = "case-status"
PENDING: Final = "case-pending"
IDS: Final = (CASE_ID, TITLE, SUMMARY, ACTIONS, LOG, SOURCES, STEPS, SEEN, DIGEST, ERROR,
              STATUS, PENDING, *form.IDS)


def case_id_of(path: str | None) -> str:
    """Return the case id a /case/<id> path names ("" when none)."""
    path = path or ""
    return unquote(path[len(PREFIX):]).strip("/ ") if path.startswith(PREFIX) else ""


# -- layout ----------------------------------------------------------------------

def layout(ctx: DashboardContext, actor: Actor, lang: str, path: str) -> html.Div:
    """Return the case page, or "no such case" when the actor does not see it."""
    case_id = case_id_of(path)
    if reads.case_row(ctx.store, ctx.scope(actor), case_id) is None:
        return html.Div(W(lang, "no_such_case"), className="og-empty")
    back = dcc.Link(W(lang, "back"), href="/dispatch") if actor.role in (
        Role.COMMAND, Role.DEPARTMENT, Role.SUPERVISOR) else None
    left = html.Div([
        html.Div(id=SUMMARY, className="og-panel"),
        html.Div([html.H3(W(lang, "actions")), html.Div(id=ACTIONS, className="og-row"),
                  form.form(lang), html.Div(id=STATUS, className="og-status-line")],
                 className="og-panel"),
    ], className="og-case-left")
    right = html.Div([
        html.Div([html.H3(W(lang, "log")),
                  dcc.Loading(html.Div(id=LOG), delay_show=600, show_initially=True)],
                 className="og-panel"),
        html.Div([html.H3(W(lang, "sources")), html.Div(id=SOURCES)], className="og-panel"),
        html.Div([html.H3(W(lang, "steps")), html.Div(id=STEPS)], className="og-panel"),
    ], className="og-case-right")
    return html.Div([
        html.Div([html.H2(W(lang, "case_title", case=case_id), id=TITLE), back],
                 className="og-row og-case-head"),
        html.Div(id=ERROR, className="og-error"),
        html.Div([left, right], className="og-case-grid"),
        dcc.Store(id=CASE_ID, data=case_id), dcc.Store(id=SEEN), dcc.Store(id=DIGEST),
        dcc.Store(id=form.CHOSEN), dcc.Store(id=PENDING),
    ], className="og-case")


# -- the case ----------------------------------------------------------------------

def case_view(ctx: DashboardContext, actor: Actor, case_id: str | None, lang: str
              ) -> dict[str, Any] | None:
    """Return the page's sections for a case the actor sees, else None (whether it
    exists or not: the answer is the same)."""
    scope = ctx.scope(actor)
    case = reads.case_row(ctx.store, scope, str(case_id or ""))
    if case is None:
        return None
    now, reg, tz = ctx.clock(), ctx.registry, ctx.registry.timezone
    staff = ctx.directory.staff
    steps = reads.case_steps(ctx.store, scope, case["case_id"])
    can_tick = actions.refusal(ctx, actor, "step", case) is None
    return {
        "summary": view.summary(case, lang, now=now,
                                overdue=sla.is_overdue(row_to_case(case), now), tz=tz,
                                registry=reg, regions=ctx.regions, staff=staff,
                                plans=ctx.directory.plans),
        "actions": view.action_buttons(case_actions.available(ctx, actor, case), lang),
        "log": view.log_table(reads.case_log(ctx.store, scope, case["case_id"]), lang, tz=tz,
                              registry=reg, staff=staff),
        "sources": view.sources_view(reads.case_sources(ctx.store, scope, case["case_id"]),
                                     lang, tz=tz, registry=reg,
                                     rules={r.id: r for r in ctx.rule_set()}),
        "steps": view.steps_view(steps, lang, tz=tz, registry=reg,
                                 district_id=case.get("district_id"), staff=staff,
                                 can_tick=can_tick),
        "seen": {"case_id": case["case_id"], "seq": case["seq"]},
    }


def detail_update(ctx: DashboardContext, actor: Actor, case_id: str | None, lang: str,
                  digest: str | None) -> tuple:
    """Return (summary, actions, log, sources, steps, seen, digest, title) for this tick;
    no_update everywhere when nothing changed, "no such case" when the actor does not
    see the case."""
    # Every change of a case moves its seq (and updated_at), so one read of its row says
    # whether to re-read the rest; the minute keeps the countdown and the alerts fresh.
    case = reads.case_row(ctx.store, ctx.scope(actor), str(case_id or ""))
    new = content_digest([case, lang, int(ctx.clock().timestamp() // 60)]) if case else None
    if new is not None and new == digest:
        return (no_update,) * 8
    found = case_view(ctx, actor, case_id, lang) if case else None
    if found is None:
        gone = html.Div(W(lang, "no_such_case"), className="og-empty")
        return gone, [], [], [], [], None, None, W(lang, "no_such_case")
    title = W(lang, "case_title", case=found["seen"]["case_id"])
    return (found["summary"], found["actions"], found["log"], found["sources"],
            found["steps"], found["seen"], new, title)


# -- wiring --------------------------------------------------------------------------

def register(app: Dash, ctx: DashboardContext) -> None:
    """Attach the case page's callbacks to `app`."""
    lang_state = State(ids.LANGUAGE, "value")
    field_states = [State(f, "value") for f in form.FIELDS]

    @user_callback(app, ctx, [Output(SUMMARY, "children"), Output(ACTIONS, "children"),
                              Output(LOG, "children"), Output(SOURCES, "children"),
                              Output(STEPS, "children"), Output(SEEN, "data"),
                              Output(DIGEST, "data"), Output(TITLE, "children"),
                              Output(ERROR, "children")],
                   [Input(ids.TICK, "n_intervals"), Input(CASE_ID, "data"), lang_state,
                    State(DIGEST, "data")],
                   fallback=lambda: (*([no_update] * 8), text("zh", "error")))
    def detail(actor, _tick, case_id, lang, digest):
        return (*detail_update(ctx, actor, case_id, lang or "zh", digest), "")

    @user_callback(app, ctx, [Output(form.CHOSEN, "data"), Output(form.FORM, "style"),
                              Output(form.FORM_TITLE, "children"),
                              *[Output(b, "style") for b in form.BOXES],
                              Output(form.DEPT, "options"), Output(form.DEPT, "value"),
                              Output(form.OVERRIDE, "value"), Output(form.REASON, "value"),
                              Output(form.NOTE, "value"), Output(form.PHOTO, "value"),
                              Output(form.SAT, "value")],
                   [Input({"type": ACT, "action": ALL}, "n_clicks"), State(CASE_ID, "data"),
                    lang_state], prevent_initial_call=True)
    def choose(actor, _clicks, case_id, lang):
        trigger = dash_ctx.triggered_id
        if not isinstance(trigger, dict) or not _clicked():
            raise PreventUpdate  # the buttons were redrawn, not pressed
        # A fresh form for each action: nothing typed for another action is sent with it.
        return (*form.form_for(ctx, actor, case_id, trigger.get("action"), lang or "zh"),
                [], "", "", "", None)

    @user_callback(app, ctx, [Output(form.CHECK, "children"), Output(form.CHECK, "className"),
                              Output(form.SEND, "disabled")],
                   [Input(form.CHOSEN, "data"), *[Input(f, "value") for f in form.FIELDS],
                    Input(SEEN, "data"), State(CASE_ID, "data"), lang_state])
    def check(actor, action, dept, override, reason, note, photo, sat, _seen, case_id, lang):
        fields = form.form_fields(dept, override, reason, note, photo, sat)
        return form.check_form(ctx, actor, case_id, action, fields, lang or "zh")

    @user_callback(app, ctx, [Output(PENDING, "data"), Output(STATUS, "children"),
                              Output(form.CHOSEN, "data", allow_duplicate=True),
                              Output(form.FORM, "style", allow_duplicate=True)],
                   [Input(form.SEND, "n_clicks"), State(CASE_ID, "data"), State(SEEN, "data"),
                    State(form.CHOSEN, "data"), *field_states, lang_state],
                   prevent_initial_call=True)
    def send(actor, clicks, case_id, seen, action, *rest):
        if not clicks:
            raise PreventUpdate
        *values, lang = rest
        pending, status = form.send_form(ctx, actor, case_id, seen, action,
                                         form.form_fields(*values), lang or "zh")
        return pending, status, (None if pending else no_update), \
            (form.HIDE if pending else no_update)

    @user_callback(app, ctx, [Output(PENDING, "data", allow_duplicate=True),
                              Output(STATUS, "children", allow_duplicate=True)],
                   [Input({"type": STEP, "step": ALL}, "n_clicks"), State(CASE_ID, "data"),
                    State(SEEN, "data"), lang_state], prevent_initial_call=True)
    def step(actor, _clicks, case_id, seen, lang):
        trigger = dash_ctx.triggered_id
        if not isinstance(trigger, dict) or not _clicked():
            raise PreventUpdate
        return form.tick_step(ctx, actor, case_id, seen, str(trigger.get("step")), lang or "zh")

    @user_callback(app, ctx, [Output(STATUS, "children", allow_duplicate=True),
                              Output(STATUS, "className"),
                              Output(PENDING, "data", allow_duplicate=True)],
                   [Input(ids.TICK, "n_intervals"), State(PENDING, "data"), lang_state],
                   prevent_initial_call=True)
    def follow_up(actor, _tick, waiting, lang):
        if not waiting:
            raise PreventUpdate
        return command_status.describe(ctx, lang or "zh", waiting, actor)


def _clicked() -> bool:
    """Return whether the triggering button was really pressed (n_clicks above 0)."""
    return any(t.get("value") for t in dash_ctx.triggered)



PAGE: Final = Page("case", PREFIX, frozenset(Role), layout, register, nav=None, prefix=True,
                   ids=IDS)
