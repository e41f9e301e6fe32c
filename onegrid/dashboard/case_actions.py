"""The case actions the dispatch board and the case page offer, around `actions`.

`actions.refusal` holds the engine's own checks and `actions.send` the
sending; this module adds what the pages need around them: which case
actions to show an actor on a case (those `refusal` does not refuse for
rights or state: a missing reason is fixed in the form, a wrong role is
not), the fields each action asks for and which must be filled before
anything is sent (`field_refusal`: a reason to return, a note to resolve,
a satisfaction answer to record a follow-up), the department routing
suggests, and bulk runs over the board's selected rows: each row
pre-checked, refused rows listed with their reason, the rest sent as one
command each. Every row acted on is read again through the actor's scope:
an id the actor may not see is refused as unknown and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from onegrid.alerts.actors import ROLE_ACTIONS, Actor, Role
from onegrid.alerts.cases import Action, CaseError, row_to_case
from onegrid.alerts.opening import remit_covers
from onegrid.alerts.routing import fallback_owner, route
from onegrid.alerts.sla import LADDER
from onegrid.dashboard import actions
from onegrid.dashboard.actions import Refusal
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.i18n import text
from onegrid.dashboard.queries import board as reads
from onegrid.dashboard.views.cases import W
from onegrid.streams.contract import PHOTO_URL_PREFIXES

# The case actions a case page offers, in the order of its buttons (merge and split
# need other cases or sources picked: the command map and supervision do those).
CASE_ACTIONS: Final = ("dispatch", "arbitrate", "approve", "dismiss", "accept", "start",
                       "resolve", "verify", "close", "return", "reopen", "escalate", "press",
                       "notify", "feedback", "comment")
# Refusal codes that mean the action is not this actor's to take on this case now.
HIDING: Final = frozenset({"read_only", CaseError.NOT_ALLOWED, CaseError.BAD_STATE,
                           CaseError.SELF_VERIFY, CaseError.UNKNOWN_CASE})
# role -> the actions its staff take on many cases at once from the board.
BULK_ACTIONS: Final[dict[Role, tuple[str, ...]]] = {
    Role.COMMAND: ("dispatch", "press", "close"),
    Role.DEPARTMENT: ("accept", "start"),
    Role.SUPERVISOR: ("press",),
}
# The links a photo may be: the incident contract's, so a page shows and sends no kind
# of link the engine would refuse on a report.
PHOTO_PREFIXES: Final = PHOTO_URL_PREFIXES


@dataclass(frozen=True)
class Form:
    """The fields an action's form shows."""

    department: bool = False
    override: bool = False
    reason: bool = False
    note: bool = True
    photo: bool = False
    satisfaction: bool = False


# action -> its form (actions not listed show a note only).
FORMS: Final[dict[str, Form]] = {
    "dispatch": Form(department=True, override=True, reason=True),
    "arbitrate": Form(department=True, reason=True),
    "dismiss": Form(reason=True), "return": Form(reason=True), "reopen": Form(reason=True),
    "press": Form(reason=True), "escalate": Form(reason=True), "notify": Form(reason=True),
    "resolve": Form(photo=True), "verify": Form(photo=True), "comment": Form(photo=True),
    "feedback": Form(satisfaction=True),
}
# Actions whose form must carry a reason before it is sent (the engine's list, and press:
# a 督办 without a reason tells the department nothing).
NEEDS_REASON: Final = frozenset({"dismiss", "return", "reopen", "press"})


def form_of(action: str | None, actor: Actor) -> Form:
    """Return the form of `action` for `actor` (override only for who may override)."""
    form = FORMS.get(action or "", Form())
    if form.override and Action.OVERRIDE not in ROLE_ACTIONS[actor.role]:
        return Form(department=True, reason=True)
    return form


def available(ctx: DashboardContext, actor: Actor, case_row: Mapping[str, Any] | None) -> list[str]:
    """Return the case actions `actor` may take on the case in its state, in button order."""
    if case_row is None:
        return []
    out = []
    for action in CASE_ACTIONS:
        if _pointless(action, case_row):
            continue
        why = actions.refusal(ctx, actor, action, case_row, {"reason": "·"})
        if why is None or why.code not in HIDING:
            out.append(action)
    return out


def _pointless(action: str, case_row: Mapping[str, Any]) -> bool:
    """Return True for an action the engine would refuse for what the case is, not for who
    asks: notifying a plan the case does not have, escalating past the city."""
    if action == "notify":
        return not case_row.get("plan_id")
    if action == "escalate":
        return int(case_row.get("escalation_level") or 0) >= len(LADDER) - 1
    return False


def suggested_department(ctx: DashboardContext, case_row: Mapping[str, Any],
                         action: str = "dispatch") -> str | None:
    """Return the department to suggest: routing's lead for a dispatch, the fallback owner
    (兜底) for an arbitration."""
    d = ctx.directory
    if action == "arbitrate":
        return fallback_owner(row_to_case(case_row).regions, d.registry.departments,
                              d.fallback_owners)
    found = route(case_row["category"], case_row.get("grid_id"), d.registry, d.regions,
                  d.staff, d.fallback_owners)
    return found.lead or case_row.get("department")


def department_choices(ctx: DashboardContext, case_row: Mapping[str, Any], action: str
                       ) -> tuple[list[tuple[str, bool]], str | None]:
    """Return (dept id, remit covers the case) for every department, and the suggested one."""
    case = row_to_case(case_row)
    depts = sorted(ctx.registry.departments)
    return ([(d, remit_covers(case, d, ctx.directory)) for d in depts],
            suggested_department(ctx, case_row, action))


def field_refusal(action: str, fields: Mapping[str, Any], lang: str) -> Refusal | None:
    """Return why the form cannot be sent as filled in (in `lang`), or None."""
    reason, note = _clean(fields.get("reason")), _clean(fields.get("note"))
    photo = _clean(fields.get("photo_url"))
    if photo and not photo.startswith(PHOTO_PREFIXES):
        return Refusal(CaseError.MISSING_FIELD, W(lang, "bad_photo"))
    if action == "dispatch" and not fields.get("department"):
        return Refusal(CaseError.MISSING_FIELD, W(lang, "need_department"))
    if (action in NEEDS_REASON or (action == "dispatch" and fields.get("override"))) \
            and not reason:
        return Refusal(CaseError.MISSING_REASON, W(lang, "need_reason"))
    if action == "resolve" and not note:
        return Refusal(CaseError.MISSING_FIELD, W(lang, "need_note"))
    if action == "comment" and not (note or photo):
        return Refusal(CaseError.MISSING_FIELD, W(lang, "need_note_or_photo"))
    if action == "feedback" and fields.get("satisfaction") not in ("satisfied", "dissatisfied"):
        return Refusal(CaseError.MISSING_FIELD, W(lang, "need_satisfaction"))
    return None


def check(ctx: DashboardContext, actor: Actor, action: str, case_row: Mapping[str, Any] | None,
          fields: Mapping[str, Any], lang: str) -> tuple[Refusal | None, str]:
    """Return (refusal or None, the line to show) for the action as the form stands:
    the engine's checks first (rights, state, remit), then the form's own."""
    why = actions.refusal(ctx, actor, action, case_row, command_fields(action, fields))
    if why is None:
        why = field_refusal(action, fields, lang)
        if why is not None:
            return why, W(lang, "cannot", reason=why.reason)
        return None, W(lang, "ready")
    return why, refusal_line(lang, why)


def refusal_line(lang: str, why: Refusal) -> str:
    """Return an engine-style refusal in the user's words: the code's sentence, then its own."""
    try:
        words = text(lang, f"code_{why.code}")
    except KeyError:
        words = str(why.code)
    return W(lang, "cannot", reason=f"{words} ({why.reason})" if why.reason else words)


def command_fields(action: str, fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return the command fields of a filled-in form: only those the action uses, text
    stripped, empty ones left out."""
    out: dict[str, Any] = {}
    form = FORMS.get(action, Form())
    if form.department and fields.get("department"):
        out["department"] = fields["department"]
    if form.override and fields.get("override"):
        out["override"] = True
    for key in ("reason", "note", "photo_url"):
        value = _clean(fields.get(key))
        if value:
            out[key] = value
    if form.satisfaction and fields.get("satisfaction"):
        out["satisfaction"] = fields["satisfaction"]
    if fields.get("step_id"):
        out["step_id"] = fields["step_id"]
    return out


def send_one(ctx: DashboardContext, actor: Actor, action: str, seen_row: Mapping[str, Any],
             fields: Mapping[str, Any]) -> str:
    """Send the action on the case as the user saw it (its seq guards concurrent edits);
    return the command id. Raises `actions.ActionFailed`."""
    return actions.send(ctx, actor, action, seen_row, **command_fields(action, fields))


def pending_action(action: str, fields: Mapping[str, Any]) -> str:
    """Return the word the status line uses for a sent action (an override is one)."""
    return "override" if action == "dispatch" and fields.get("override") else action


# -- bulk ---------------------------------------------------------------------------

@dataclass(frozen=True)
class BulkItem:
    """One selected row of a bulk run: sent (its command id) or refused (why)."""

    case_id: str
    action: str
    command_id: str | None = None
    refusal: str | None = None  # the line to show, in the user's language
    department: str | None = None


def bulk_actions(actor: Actor) -> tuple[str, ...]:
    """Return the actions `actor`'s role takes from the board on many cases at once."""
    return BULK_ACTIONS.get(actor.role, ())


def bulk_plan(ctx: DashboardContext, actor: Actor, action: str | None, case_ids: Sequence[str],
              reason: str | None, lang: str) -> list[tuple[BulkItem, dict | None, dict]]:
    """Return, per selected id, (item, the case row the actor sees or None, command fields);
    an item with `refusal` set is not to be sent."""
    if action not in bulk_actions(actor):
        return [(BulkItem(i, action or "", refusal=refusal_line(lang, Refusal(
            CaseError.NOT_ALLOWED, W(lang, "bulk_not_yours")))), None, {}) for i in case_ids]
    rows = reads.rows_by_id(ctx.store, ctx.scope(actor), case_ids)
    out = []
    for case_id in dict.fromkeys(str(i) for i in case_ids):
        row = rows.get(case_id)
        fields: dict[str, Any] = {"reason": reason}
        if row is not None and action == "dispatch":
            fields["department"] = suggested_department(ctx, row)
        why, line = check(ctx, actor, action, row, fields, lang)
        if why is None and row is not None and _already_there(action, row, fields):
            line = W(lang, "cannot", reason=W(lang, "already_there"))
            why = Refusal(CaseError.BAD_STATE, line)
        item = BulkItem(case_id, action, refusal=line if why else None,
                        department=fields.get("department"))
        out.append((item, row, fields))
    return out


def _already_there(action: str, row: Mapping[str, Any], fields: Mapping[str, Any]) -> bool:
    """Return True for a bulk dispatch that would send a dispatched case where it already is
    (allowed, but a ticked row too many, not what the dispatcher meant)."""
    return action == "dispatch" and row["state"] == "dispatched" and \
        fields.get("department") == row.get("department")


def bulk_send(ctx: DashboardContext, actor: Actor, action: str | None, case_ids: Sequence[str],
              seen_seqs: Mapping[str, int] | None, reason: str | None,
              lang: str) -> list[BulkItem]:
    """Pre-check every selected row, send the action on those that pass (one command
    each, with the seq the board showed), and return what happened to each row."""
    seen = seen_seqs or {}
    out = []
    for item, row, fields in bulk_plan(ctx, actor, action, case_ids, reason, lang):
        if item.refusal is not None or row is None:
            out.append(item)
            continue
        shown = {**row, "seq": seen.get(item.case_id, row["seq"])}
        try:
            sent = send_one(ctx, actor, item.action, shown, fields)
        except actions.ActionFailed as exc:
            out.append(BulkItem(item.case_id, item.action,
                                refusal=text(lang, "action_error", reason=str(exc))))
            continue
        out.append(BulkItem(item.case_id, item.action, command_id=sent,
                            department=item.department))
    return out


def _clean(value: Any) -> str:
    return str(value).strip() if value is not None else ""
