"""The grid worker's phone page (网格员): my tasks, cases to verify, a patrol report.

Three tabs on a phone-sized page. "My tasks" lists the open cases of the
worker's grid (a grid chief's: the community), overdue and most urgent first,
as cards with the buttons the worker may press now: 签收 and 开始处置 send at
once; 办结 opens the action sheet for a note (required here) and an optional
photo. "To verify" lists resolved cases of the community that someone else
handled, with 核查. "Patrol report" sends a report at the phone's location.
The lists refresh on the shell's tick (sent only when they changed), every
action's status line follows the engine's answer (`command_status`), and
every callback reads only what the signed-in worker's scope allows, so a
posted request naming another grid's case gets nothing and sends nothing.
What the callbacks call is `tasks` (the lists, the buttons, the sheet) and
`patrol` (the report); photos are `media`'s.
"""

from __future__ import annotations

from typing import Final

from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash import ctx as dash_ctx
from dash.exceptions import PreventUpdate

from onegrid.alerts.actors import Actor, Role
from onegrid.dashboard import ids, media, patrol, tasks
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.guard import user_callback
from onegrid.dashboard.i18n import text
from onegrid.dashboard.pages.base import Page
from onegrid.dashboard.views import worker as view
from onegrid.dashboard.views.worker import ACT, W

TABS: Final = "worker-tabs"
ACTION_STATUS: Final = "worker-action-status"
TASKS: Final = "worker-tasks"
TASKS_DIGEST: Final = "worker-tasks-digest"
VERIFY: Final = "worker-verify"
VERIFY_DIGEST: Final = "worker-verify-digest"
PENDING: Final = "worker-pending"
TARGET: Final = "worker-target"
SHEET: Final = "worker-sheet"
SHEET_TITLE: Final = "worker-sheet-title"
NOTE_LABEL: Final = "worker-note-label"
NOTE: Final = "worker-note"
UPLOAD: Final = "worker-upload"
PHOTO: Final = "worker-photo"
PHOTO_STATUS: Final = "worker-photo-status"
CHECK: Final = "worker-check"
CONFIRM: Final = "worker-confirm"
CANCEL: Final = "worker-cancel"
CATEGORY: Final = "worker-category"
DESCRIPTION: Final = "worker-description"
SEVERITY: Final = "worker-severity"
ADDRESS: Final = "worker-address"
REPORT_UPLOAD: Final = "worker-report-upload"
REPORT_PHOTO: Final = "worker-report-photo"
REPORT_PHOTO_STATUS: Final = "worker-report-photo-status"
LOCATE: Final = "worker-locate"
LOCATION: Final = "worker-location"
LOCATION_TEXT: Final = "worker-location-text"
SUBMIT: Final = "worker-submit"
REPORT_STATUS: Final = "worker-report-status"
REPORT_PENDING: Final = "worker-report-pending"
IDS: Final = (TABS, ACTION_STATUS, TASKS, TASKS_DIGEST, VERIFY, VERIFY_DIGEST, PENDING, TARGET,
              SHEET, SHEET_TITLE, NOTE_LABEL, NOTE, UPLOAD, PHOTO, PHOTO_STATUS, CHECK, CONFIRM,
              CANCEL, CATEGORY, DESCRIPTION, SEVERITY, ADDRESS, REPORT_UPLOAD, REPORT_PHOTO,
              REPORT_PHOTO_STATUS, LOCATE, LOCATION, LOCATION_TEXT, SUBMIT, REPORT_STATUS,
              REPORT_PENDING)


# -- layout ----------------------------------------------------------------------

def layout(ctx: DashboardContext, actor: Actor, lang: str, path: str) -> html.Div:
    """Return the phone page for `actor` in `lang` (the lists fill in on the first tick)."""
    return html.Div([
        html.Div(html.Div(id=ACTION_STATUS, className="og-status-line"), className="og-w-status"),
        # Tabs stay side by side on a phone (dcc.Tabs stacks them below 800 px by default).
        dcc.Tabs(id=TABS, value="tasks", className="og-w-tabs", mobile_breakpoint=0, children=[
            _tab(W(lang, "tasks"), "tasks",
                 dcc.Loading(html.Div(id=TASKS, className="og-w-list"), delay_show=400)),
            _tab(W(lang, "verify"), "verify",
                 dcc.Loading(html.Div(id=VERIFY, className="og-w-list"), delay_show=400)),
            _tab(W(lang, "report"), "report", _report_form(ctx, lang)),
        ]),
        _sheet(lang),
        *(dcc.Store(id=i) for i in (TASKS_DIGEST, VERIFY_DIGEST, PENDING, TARGET, PHOTO,
                                    REPORT_PHOTO, LOCATION, REPORT_PENDING)),
    ], className="og-worker")


_TAB_STYLE: Final = {"padding": "9px 4px", "lineHeight": "20px"}
_TAB_SELECTED: Final = {**_TAB_STYLE, "fontWeight": 600, "borderTop": "3px solid #1f3a5f"}


def _tab(label: str, value: str, children) -> dcc.Tab:
    return dcc.Tab(label=label, value=value, children=children, style=_TAB_STYLE,
                   selected_style=_TAB_SELECTED)


def _upload(upload_id: str, status_id: str, lang: str) -> html.Div:
    return html.Div([
        dcc.Upload(html.Div(W(lang, "photo_pick")), id=upload_id, accept=media.ACCEPT,
                   max_size=media.MAX_PHOTO_BYTES, multiple=False, className="og-w-upload"),
        html.Div(id=status_id, className="og-w-photo"),
    ])


def _sheet(lang: str) -> html.Div:
    """The action sheet (resolve, verify): fixed at the bottom of the phone's screen."""
    return html.Div([
        html.Div(id=SHEET_TITLE, className="og-w-sheet-title"),
        html.Label(id=NOTE_LABEL, htmlFor=NOTE),
        dcc.Textarea(id=NOTE, placeholder=W(lang, "note_hint"), maxLength=4000,
                     className="og-w-note"),
        html.Label(text(lang, "photo")),
        _upload(UPLOAD, PHOTO_STATUS, lang),
        html.Div(id=CHECK, className="og-status-line"),
        html.Div([html.Button(id=CONFIRM, n_clicks=0, disabled=True),
                  html.Button(text(lang, "cancel"), id=CANCEL, n_clicks=0,
                              className="og-secondary")], className="og-w-actions"),
    ], id=SHEET, hidden=True, className="og-w-sheet og-form")


def _report_form(ctx: DashboardContext, lang: str) -> html.Div:
    return html.Div([
        html.Label(text(lang, "category"), htmlFor=CATEGORY),
        dcc.Dropdown(view.category_options(ctx.registry, lang), None, id=CATEGORY,
                     placeholder=W(lang, "category_pick"), clearable=False),
        html.Label(W(lang, "description"), htmlFor=DESCRIPTION),
        dcc.Textarea(id=DESCRIPTION, placeholder=W(lang, "description_hint"),
                     maxLength=patrol.MAX_DESCRIPTION, className="og-w-note"),
        html.Label(text(lang, "severity")),
        dcc.RadioItems(view.severity_options(lang), 2, id=SEVERITY, inline=True,
                       className="og-w-severity"),
        html.Label(W(lang, "address"), htmlFor=ADDRESS),
        dcc.Input(id=ADDRESS, type="text", maxLength=patrol.MAX_ADDRESS,
                  placeholder=W(lang, "address_hint")),
        html.Label(text(lang, "photo")),
        _upload(REPORT_UPLOAD, REPORT_PHOTO_STATUS, lang),
        html.Div([html.Span(W(lang, "locating"), id=LOCATION_TEXT),
                  html.Button(W(lang, "locate"), id=LOCATE, n_clicks=0,
                              className="og-secondary")], className="og-w-location"),
        html.Button(W(lang, "submit"), id=SUBMIT, n_clicks=0, className="og-w-submit"),
        html.Div(id=REPORT_STATUS, className="og-status-line"),
    ], className="og-panel og-form og-w-report")


# -- wiring --------------------------------------------------------------------------

_LOCATE_JS: Final = """
function(tab, _clicks) {
    // Ask the phone where it is when the report tab opens (or on "locate again");
    // a refusal or a timeout becomes {error}, and the server falls back to the grid centre.
    if (tab !== "report") { return window.dash_clientside.no_update; }
    return new Promise(function(resolve) {
        if (!navigator.geolocation) { resolve({error: "unavailable"}); return; }
        navigator.geolocation.getCurrentPosition(
            function(p) { resolve({lat: p.coords.latitude, lng: p.coords.longitude,
                                   accuracy: p.coords.accuracy}); },
            function(e) { resolve({error: e.code === 1 ? "denied" : "unavailable"}); },
            {enableHighAccuracy: true, timeout: 10000, maximumAge: 60000});
    });
}
"""


def _failed(n_before: int = 1, n_after: int = 1) -> tuple:
    """Return a failed action's outputs: the error sentence in its status line (of class
    `og-refused`) with `n_before` untouched outputs before it and `n_after` after."""
    return (*[no_update] * n_before, text("zh", "error"), "og-status-line og-refused",
            *[no_update] * n_after)


def _photo_failed() -> tuple:
    return None, [html.Span(text("zh", "error"), className="og-refused")]


def _workers_only(actor: Actor) -> None:
    # The page is for grid workers; its callbacks refuse anyone else, whatever they post.
    if actor.role != Role.GRID_WORKER:
        raise PreventUpdate


def register(app: Dash, ctx: DashboardContext) -> None:
    """Attach the page's callbacks to `app`, and the route that serves photos."""
    media.install(app.server, ctx.media_dir)
    # Read, not listened to: a language switch draws the whole page again (`app.render`).
    lang_state = State(ids.LANGUAGE, "value")
    dup = {"allow_duplicate": True}

    @user_callback(app, ctx, [Output(TASKS, "children"), Output(TASKS_DIGEST, "data")],
                   [Input(ids.TICK, "n_intervals"), lang_state, State(TASKS_DIGEST, "data")],
                   fallback=lambda: (html.Div(text("zh", "error"), className="og-error"),
                                     None))
    def refresh_tasks(actor, _tick, lang, digest):
        _workers_only(actor)
        return tasks.task_update(ctx, actor, lang or "zh", digest)

    @user_callback(app, ctx, [Output(VERIFY, "children"), Output(VERIFY_DIGEST, "data")],
                   [Input(ids.TICK, "n_intervals"), lang_state, State(VERIFY_DIGEST, "data")],
                   fallback=lambda: (html.Div(text("zh", "error"), className="og-error"),
                                     None))
    def refresh_verify(actor, _tick, lang, digest):
        _workers_only(actor)
        return tasks.verify_update(ctx, actor, lang or "zh", digest)

    @user_callback(app, ctx, [Output(PENDING, "data"), Output(ACTION_STATUS, "children"),
                              Output(ACTION_STATUS, "className"), Output(TARGET, "data")],
                   [Input({"type": ACT, "id": ALL, "action": ALL, "seq": ALL}, "n_clicks"),
                    lang_state], prevent_initial_call=True, fallback=_failed)
    def on_button(actor, _clicks, lang):
        _workers_only(actor)
        button = dash_ctx.triggered_id
        if not isinstance(button, dict) or not _clicked():
            raise PreventUpdate  # a list re-rendered: its buttons were not pressed
        return tasks.press(ctx, actor, button, lang or "zh")

    @user_callback(app, ctx, [Output(SHEET, "hidden"), Output(SHEET_TITLE, "children"),
                              Output(NOTE_LABEL, "children"), Output(NOTE, "value"),
                              Output(PHOTO, "data"), Output(PHOTO_STATUS, "children"),
                              Output(UPLOAD, "contents"), Output(CONFIRM, "children")],
                   [Input(TARGET, "data"), lang_state])
    def sheet(actor, target, lang):
        _workers_only(actor)
        return tasks.sheet_for(ctx, actor, target, lang or "zh")

    @user_callback(app, ctx, [Output(CHECK, "children"), Output(CHECK, "className"),
                              Output(CONFIRM, "disabled")],
                   [Input(NOTE, "value"), Input(TARGET, "data"), lang_state])
    def check_sheet(actor, note, target, lang):
        _workers_only(actor)
        return tasks.sheet_check(ctx, actor, target, note, lang or "zh")

    @user_callback(app, ctx, [Output(PHOTO, "data", **dup),
                              Output(PHOTO_STATUS, "children", **dup)],
                   [Input(UPLOAD, "contents"), lang_state], prevent_initial_call=True,
                   fallback=_photo_failed)
    def photo(actor, contents, lang):
        _workers_only(actor)
        return tasks.upload_photo(ctx, contents, lang or "zh")

    @user_callback(app, ctx, [Output(PENDING, "data", **dup),
                              Output(ACTION_STATUS, "children", **dup),
                              Output(ACTION_STATUS, "className", **dup),
                              Output(TARGET, "data", **dup)],
                   [Input(CONFIRM, "n_clicks"), State(TARGET, "data"), State(NOTE, "value"),
                    State(PHOTO, "data"), lang_state], prevent_initial_call=True,
                   fallback=_failed)
    def on_confirm(actor, clicks, target, note, photo_name, lang):
        _workers_only(actor)
        if not clicks:
            raise PreventUpdate
        return tasks.confirm(ctx, actor, target, note, photo_name, lang or "zh")

    @user_callback(app, ctx, [Output(TARGET, "data", **dup)], [Input(CANCEL, "n_clicks")],
                   prevent_initial_call=True)
    def on_cancel(actor, clicks):
        _workers_only(actor)
        if not clicks:
            raise PreventUpdate
        return None

    @user_callback(app, ctx, [Output(ACTION_STATUS, "children", **dup),
                              Output(ACTION_STATUS, "className", **dup),
                              Output(PENDING, "data", **dup)],
                   [Input(ids.TICK, "n_intervals"), State(PENDING, "data"), lang_state],
                   prevent_initial_call=True)
    def on_tick(actor, _tick, waiting, lang):
        _workers_only(actor)
        if not waiting:
            raise PreventUpdate
        return tasks.follow_up(ctx, lang or "zh", waiting, actor)

    _register_report(app, ctx)


def _register_report(app: Dash, ctx: DashboardContext) -> None:
    # Read, not listened to: a language switch draws the whole page again (`app.render`).
    lang_state = State(ids.LANGUAGE, "value")
    dup = {"allow_duplicate": True}
    app.clientside_callback(_LOCATE_JS, Output(LOCATION, "data"), Input(TABS, "value"),
                            Input(LOCATE, "n_clicks"))

    @user_callback(app, ctx, [Output(LOCATION_TEXT, "children")],
                   [Input(LOCATION, "data"), lang_state])
    def where(actor, location, lang):
        _workers_only(actor)
        return patrol.location_text(ctx, actor, location, lang or "zh")

    @user_callback(app, ctx, [Output(SEVERITY, "value")], [Input(CATEGORY, "value")],
                   prevent_initial_call=True)
    def default_severity(actor, category):
        found = ctx.registry.categories.get(category or "")
        return found.default_severity if found else no_update

    @user_callback(app, ctx, [Output(REPORT_PHOTO, "data"),
                              Output(REPORT_PHOTO_STATUS, "children")],
                   [Input(REPORT_UPLOAD, "contents"), lang_state], prevent_initial_call=True,
                   fallback=_photo_failed)
    def report_photo(actor, contents, lang):
        _workers_only(actor)
        return tasks.upload_photo(ctx, contents, lang or "zh")

    @user_callback(app, ctx, [Output(REPORT_PENDING, "data"), Output(REPORT_STATUS, "children"),
                              Output(REPORT_STATUS, "className"), Output(DESCRIPTION, "value"),
                              Output(ADDRESS, "value"), Output(REPORT_PHOTO, "data", **dup),
                              Output(REPORT_PHOTO_STATUS, "children", **dup),
                              Output(REPORT_UPLOAD, "contents")],
                   [Input(SUBMIT, "n_clicks"), State(CATEGORY, "value"),
                    State(DESCRIPTION, "value"), State(SEVERITY, "value"),
                    State(ADDRESS, "value"), State(REPORT_PHOTO, "data"),
                    State(LOCATION, "data"), lang_state], prevent_initial_call=True,
                   fallback=lambda: _failed(1, 6))
    def submit(actor, clicks, category, description, severity, address, photo_name,
               location, lang):
        _workers_only(actor)
        if not clicks:
            raise PreventUpdate
        sent, words, css = patrol.send_report(ctx, actor, lang or "zh", category, description,
                                              severity, address, photo_name, location)
        if sent is None:
            return no_update, words, css, no_update, no_update, no_update, no_update, no_update
        return sent, words, css, "", "", None, [], None

    @user_callback(app, ctx, [Output(REPORT_STATUS, "children", **dup),
                              Output(REPORT_STATUS, "className", **dup),
                              Output(REPORT_PENDING, "data", **dup)],
                   [Input(ids.TICK, "n_intervals"), State(REPORT_PENDING, "data"),
                    lang_state], prevent_initial_call=True)
    def report_tick(actor, _tick, sent, lang):
        _workers_only(actor)
        if not sent:
            raise PreventUpdate
        return patrol.report_status(ctx, actor, lang or "zh", sent)


def _clicked() -> bool:
    """Return whether the triggering button was really pressed (n_clicks above 0)."""
    return any(t.get("value") for t in dash_ctx.triggered)


PAGE: Final = Page("grid_worker", "/worker", frozenset({Role.GRID_WORKER}), layout, register,
                   nav="nav_worker", ids=IDS)
