"""The grid worker's tasks: the two lists, the buttons on their cards, the action sheet.

What the phone page's callbacks call, with plain values: `task_update` and
`verify_update` give the lists for a tick (nothing when unchanged);
`press` handles a card's button (签收 and 开始处置 are sent at once; 办结 and
核查 open the action sheet); `confirm` sends the sheet's resolve or verify
with its note (required to resolve, by this page's rule) and photo. Every
step reads the case again through the worker's scope, so an id posted for a
case of another grid finds nothing and sends nothing, and checks it as the
engine will (`actions.refusal`), plus whether the case moved on since the
card showed it (its seq), before anything goes on Kafka.
"""

from __future__ import annotations

from typing import Any, Final

from dash import no_update
from dash.exceptions import PreventUpdate

from onegrid.alerts.actors import Actor
from onegrid.alerts.cases import CaseError
from onegrid.dashboard import actions, media
from onegrid.dashboard.actions import Refusal
from onegrid.dashboard.components import command_status
from onegrid.dashboard.context import DashboardContext
from onegrid.dashboard.digest import content_digest
from onegrid.dashboard.i18n import text
from onegrid.dashboard.queries import cases as case_reads
from onegrid.dashboard.queries import worker as reads
from onegrid.dashboard.views import worker as view
from onegrid.dashboard.views.format import region_name
from onegrid.dashboard.views.worker import W

TASK_ACTIONS: Final = ("accept", "start", "resolve")
VERIFY_ACTIONS: Final = ("verify",)
SHEET_ACTIONS: Final = ("resolve", "verify")  # need the sheet: a note, a photo
_REFUSED: Final = "og-status-line og-refused"
_PLAIN: Final = "og-status-line"


# -- the lists -----------------------------------------------------------------------

def allowed_actions(ctx: DashboardContext, actor: Actor, case: dict[str, Any],
                    candidates: tuple[str, ...]) -> list[str]:
    """Return the actions of `candidates` the actor may take on the case now."""
    return [a for a in candidates if actions.refusal(ctx, actor, a, case) is None]


def task_update(ctx: DashboardContext, actor: Actor, lang: str, digest: str | None
                ) -> tuple[Any, str]:
    """Return (the task list, or no_update when unchanged, its digest) for this tick."""
    now = ctx.clock()
    rows = reads.tasks(ctx.store, ctx.scope(actor), now)
    allowed = {r["case_id"]: allowed_actions(ctx, actor, r, TASK_ACTIONS) for r in rows}
    # Countdowns read in minutes: the list changes with the minute even when no case does.
    new = _list_digest(rows, allowed, lang, int(now.timestamp() // 60))
    if new == digest:
        return no_update, digest
    return view.task_list(rows, allowed, lang, where=view.region_label(ctx.regions, actor, lang),
                          limit=reads.TASK_LIMIT, tz=ctx.registry.timezone, now=now,
                          registry=ctx.registry, regions=ctx.regions), new


def verify_update(ctx: DashboardContext, actor: Actor, lang: str, digest: str | None
                  ) -> tuple[Any, str]:
    """Return (the list of cases to verify, or no_update when unchanged, its digest)."""
    rows = reads.to_verify(ctx.store, ctx.scope(actor))
    allowed = {r["case_id"]: allowed_actions(ctx, actor, r, VERIFY_ACTIONS) for r in rows}
    new = _list_digest(rows, allowed, lang, None)
    if new == digest:
        return no_update, digest
    where = region_name(ctx.regions, "community", actor.community_id, lang)
    return view.verify_list(rows, allowed, lang, where=where, limit=reads.TASK_LIMIT,
                            tz=ctx.registry.timezone, registry=ctx.registry,
                            regions=ctx.regions), new


def _list_digest(rows: list[dict[str, Any]], allowed: dict[str, list[str]], *extra: Any) -> str:
    """Return a digest of what a list shows, taken from its rows (every change of a case
    moves its seq) rather than from the components, which would cost more to build."""
    shown = [(r["case_id"], r["seq"], r["state"], r.get("overdue"), r.get("address"),
              allowed.get(r["case_id"])) for r in rows]
    return content_digest([shown, *extra])


# -- actions on a case ---------------------------------------------------------------

def check(ctx: DashboardContext, actor: Actor, case: dict[str, Any] | None, action: str,
          seq: Any, note: str | None = None) -> Refusal | None:
    """Return why the actor cannot take `action` on the case as they saw it (at `seq`),
    or None: the engine's checks, a stale view, and the note this page requires."""
    if action not in TASK_ACTIONS + VERIFY_ACTIONS:
        return Refusal(CaseError.NOT_ALLOWED, f"{action!r} is not an action of this page")
    if case is None:
        return Refusal(CaseError.UNKNOWN_CASE, "there is no such case; refresh the list")
    if seq is not None and seq != case.get("seq"):
        return Refusal(CaseError.STALE, "the case changed since the list showed it")
    why = actions.refusal(ctx, actor, action, case)
    if why is None and note is not None and action == "resolve" and not note.strip():
        return Refusal("note_required", "")
    return why


def press(ctx: DashboardContext, actor: Actor, button: dict[str, Any], lang: str
          ) -> tuple[Any, str, str, Any]:
    """Handle a card's button: accept and start are sent at once; resolve and verify open
    the sheet. Return (pending, status text, status class, sheet target)."""
    case_id, action, seq = button.get("id"), button.get("action"), button.get("seq")
    case = case_reads.case_row(ctx.store, ctx.scope(actor), str(case_id))
    why = check(ctx, actor, case, str(action), seq)
    if why is not None:
        return no_update, _refusal_words(lang, why, case_id), _REFUSED, no_update
    if action in SHEET_ACTIONS:
        return no_update, "", _PLAIN, {"case_id": case_id, "action": action, "seq": seq}
    return (*_send(ctx, actor, case, action, lang), no_update)


def confirm(ctx: DashboardContext, actor: Actor, target: dict[str, Any] | None,
            note: str | None, photo: str | None, lang: str) -> tuple[Any, str, str, Any]:
    """Send the sheet's resolve or verify with its note and photo; return (pending, status
    text, status class, sheet target: None to close it once sent)."""
    if not isinstance(target, dict) or target.get("action") not in SHEET_ACTIONS:
        raise PreventUpdate
    case_id, action = str(target.get("case_id")), str(target["action"])
    case = case_reads.case_row(ctx.store, ctx.scope(actor), case_id)
    why = check(ctx, actor, case, action, target.get("seq"), note or "")
    if why is not None:
        return no_update, _refusal_words(lang, why, case_id), _REFUSED, no_update
    pending, words, css = _send(ctx, actor, case, action, lang, note=(note or "").strip()
                                or None, photo_url=media.photo_url(ctx.media_dir, photo))
    return pending, words, css, None if pending is not None else no_update


def _send(ctx, actor: Actor, case: dict[str, Any], action: str, lang: str,
          **fields: Any) -> tuple[Any, str, str]:
    try:
        sent = actions.send(ctx, actor, action, case, **fields)
    except actions.ActionFailed as exc:
        return no_update, f"{case['case_id']} · {command_status.failure_text(lang, str(exc))}", \
            _REFUSED
    pending = command_status.pending(sent, action, ctx.clock()) | {"case_id": case["case_id"]}
    return pending, f"{case['case_id']} · {text(lang, 'sent')}", _PLAIN


def _refusal_words(lang: str, why: Refusal, case_id: Any) -> str:
    if why.code == "note_required":
        return W(lang, "note_required")
    words = command_status.refusal_text(lang, why)
    return f"{case_id} · {words}" if why.code != CaseError.UNKNOWN_CASE else words


def follow_up(ctx: DashboardContext, lang: str, waiting: dict[str, Any] | None,
              actor: Actor | None = None) -> tuple[str, str, dict[str, Any] | None]:
    """Return (status text, class, what to keep waiting for) of the actor's last case action."""
    words, css, keep = command_status.describe(ctx, lang, waiting, actor)
    case_id = (waiting or {}).get("case_id")
    return (f"{case_id} · {words}" if case_id and words else words), css, keep


# -- the action sheet ----------------------------------------------------------------

def sheet_for(ctx: DashboardContext, actor: Actor, target: dict[str, Any] | None, lang: str
              ) -> tuple:
    """Return the sheet for a target: (hidden, title, note label, note, photo, photo
    status, upload contents, confirm label). Fields start empty for each case."""
    action = target.get("action") if isinstance(target, dict) else None
    case = case_reads.case_row(ctx.store, ctx.scope(actor), str(target.get("case_id"))) \
        if action in SHEET_ACTIONS else None
    if case is None:
        return True, "", "", "", None, [], None, ""
    label = W(lang, "note_label") if action == "resolve" else W(lang, "note_optional")
    return (False, view.sheet_title(case, action, lang, ctx.registry), label, "", None, [],
            None, W(lang, f"confirm_{action}"))


def sheet_check(ctx: DashboardContext, actor: Actor, target: dict[str, Any] | None,
                note: str | None, lang: str) -> tuple[str, str, bool]:
    """Return (text, class, confirm disabled) for the sheet as it stands."""
    if not isinstance(target, dict):
        return "", _PLAIN, True
    case = case_reads.case_row(ctx.store, ctx.scope(actor), str(target.get("case_id")))
    why = check(ctx, actor, case, str(target.get("action")), target.get("seq"), note or "")
    if why is None:
        return W(lang, "ready"), "og-status-line og-applied", False
    return _refusal_words(lang, why, target.get("case_id")), _REFUSED, True


def upload_photo(ctx: DashboardContext, contents: str | None, lang: str) -> tuple[Any, list]:
    """Save an uploaded photo; return (its name or None, what the photo field shows)."""
    if not contents:
        raise PreventUpdate
    try:
        name = media.save_photo(ctx.media_dir, contents)
    except media.PhotoRefused as exc:
        return None, view.photo_status(lang, refused=exc.code)
    return name, view.photo_status(lang, url=media.photo_url(ctx.media_dir, name))
