"""The action form of the case page: the fields an action needs, the check before
sending, and the sending.

An action button of the case page opens this form for its action
(`form_for`): the department dropdown of a dispatch or arbitration (the
suggested department first, those outside the remit marked; an override
with a reason for staff who may override), a reason, a note, a photo link,
the answer of a follow-up, as `case_actions.FORMS` says. As the fields
change, `check_form` shows why the command would be refused (the remit
refusal of a dispatch among them) or that it is ready; `send_form` reads the
case again through the actor's scope, checks again and sends it with the seq
the page showed. The page owns the callbacks; this module owns the ids of
the form's components.
"""

from __future__ import annotations

from typing import Any, Final

from dash import dcc, html

from onegrid.alerts.actors import Actor
from onegrid.dashboard import actions, case_actions
from onegrid.dashboard.components import command_status
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.i18n import text
from onegrid.dashboard.queries import cases as reads
from onegrid.dashboard.views.cases import W
from onegrid.dashboard.views.overview import department_options

CHOSEN: Final = "case-chosen"
FORM: Final = "case-form"
FORM_TITLE: Final = "case-form-title"
DEPT_BOX, DEPT = "case-dept-box", "case-dept"
OVERRIDE_BOX, OVERRIDE = "case-override-box", "case-override"
REASON_BOX, REASON = "case-reason-box", "case-reason"
NOTE_BOX, NOTE = "case-note-box", "case-note"
PHOTO_BOX, PHOTO = "case-photo-box", "case-photo"
SAT_BOX, SAT = "case-satisfaction-box", "case-satisfaction"
CHECK: Final = "case-check"
SEND: Final = "case-send"
BOXES: Final = (DEPT_BOX, OVERRIDE_BOX, REASON_BOX, NOTE_BOX, PHOTO_BOX, SAT_BOX)
FIELDS: Final = (DEPT, OVERRIDE, REASON, NOTE, PHOTO, SAT)  # in `form_fields` order
IDS: Final = (CHOSEN, FORM, FORM_TITLE, *BOXES, *FIELDS, CHECK, SEND)
SHOW: Final = {}
HIDE: Final = {"display": "none"}


def form(lang: str) -> html.Div:
    """Return the action form, hidden until an action button opens it."""
    return html.Div([
        html.B(id=FORM_TITLE),
        html.Div([html.Label(text(lang, "department")),
                  dcc.Dropdown(id=DEPT, clearable=False)], id=DEPT_BOX, style=HIDE),
        html.Div(dcc.Checklist([{"label": W(lang, "override"), "value": "override"}], [],
                               id=OVERRIDE), id=OVERRIDE_BOX, style=HIDE),
        html.Div([html.Label(text(lang, "reason")), dcc.Input(id=REASON, type="text", value="")],
                 id=REASON_BOX, style=HIDE),
        html.Div([html.Label(text(lang, "note")),
                  dcc.Textarea(id=NOTE, value="", style={"height": "60px"})], id=NOTE_BOX,
                 style=HIDE),
        html.Div([html.Label(W(lang, "photo_url")), dcc.Input(id=PHOTO, type="url", value="")],
                 id=PHOTO_BOX, style=HIDE),
        html.Div([html.Label(W(lang, "satisfaction_q")), dcc.RadioItems(
            [{"label": W(lang, s), "value": s} for s in ("satisfied", "dissatisfied")],
            None, id=SAT, inline=True)], id=SAT_BOX, style=HIDE),
        html.Div(id=CHECK, className="og-status-line"),
        html.Button(text(lang, "send"), id=SEND, n_clicks=0, disabled=True),
    ], id=FORM, className="og-form", style=HIDE)


def form_for(ctx: DashboardContext, actor: Actor, case_id: str | None, action: str | None,
             lang: str) -> tuple:
    """Return the form for `action` on the case: (chosen, form style, title, box styles
    (department, override, reason, note, photo, satisfaction), department options,
    department value); the form stays hidden when the action is not available."""
    case = reads.case_row(ctx.store, ctx.scope(actor), str(case_id or ""))
    if case is None or action not in case_actions.available(ctx, actor, case):
        return (None, HIDE, "", *([HIDE] * len(BOXES)), [], None)
    form = case_actions.form_of(action, actor)
    options, value = [], None
    if form.department:
        depts, value = case_actions.department_choices(ctx, case, action)
        options = department_options(ctx.registry, depts, value, lang)
    shown = (form.department, form.override, form.reason, form.note, form.photo,
             form.satisfaction)
    return (action, SHOW, text(lang, f"action_{action}"),
            *[SHOW if s else HIDE for s in shown], options, value)


def form_fields(dept, override, reason, note, photo, satisfaction) -> dict[str, Any]:
    """Return the form's values as the fields `case_actions` reads."""
    return {"department": dept, "override": bool(override), "reason": reason, "note": note,
            "photo_url": photo, "satisfaction": satisfaction}


def check_form(ctx: DashboardContext, actor: Actor, case_id: str | None, action: str | None,
               fields: dict[str, Any], lang: str) -> tuple[str, str, bool]:
    """Return (line, css class, send disabled) for the form as it stands: why it cannot be
    sent (the remit refusal of a dispatch among them), or that it is ready."""
    if not action:
        return W(lang, "choose_action"), "og-status-line", True
    case = reads.case_row(ctx.store, ctx.scope(actor), str(case_id or ""))
    why, line = case_actions.check(ctx, actor, action, case, fields, lang)
    if why is None:
        return line, "og-status-line og-applied", False
    return line, "og-status-line og-refused", True


def send_form(ctx: DashboardContext, actor: Actor, case_id: str | None, seen: dict | None,
              action: str | None, fields: dict[str, Any], lang: str) -> tuple[dict | None, str]:
    """Check the action again and send it on the case as shown; return (pending, status).

    Nothing is sent for a case the actor does not see, or when the check refuses.
    """
    case = reads.case_row(ctx.store, ctx.scope(actor), str(case_id or ""))
    if case is None or not action:
        return None, W(lang, "no_such_case")
    why, line = case_actions.check(ctx, actor, action, case, fields, lang)
    if why is not None:
        return None, line
    try:
        sent = case_actions.send_one(ctx, actor, action, as_shown(case, seen), fields)
    except actions.ActionFailed as exc:
        return None, command_status.failure_text(lang, str(exc))
    return command_status.pending(sent, case_actions.pending_action(action, fields),
                                  ctx.clock()), text(lang, "sent")


def as_shown(case: dict[str, Any], seen: dict | None) -> dict[str, Any]:
    """Return the case row with the seq the page showed (the engine refuses the command as
    stale when someone acted since)."""
    if seen and seen.get("case_id") == case["case_id"] and isinstance(seen.get("seq"), int):
        return {**case, "seq": seen["seq"]}
    return case


def tick_step(ctx: DashboardContext, actor: Actor, case_id: str | None, seen: dict | None,
              step_id: str, lang: str) -> tuple[dict | None, str]:
    """Send the tick of a plan step; return (pending, status)."""
    return send_form(ctx, actor, case_id, seen, "step", {"step_id": step_id}, lang)
