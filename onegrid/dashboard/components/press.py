"""Press for action (督办): check a press the way the engine will, send it, follow the answer.

A press names one or more overdue cases and a reason. The reason is
required here (the supervision list's rule: a press says why), on top of
the engine's own checks that `actions.refusal` runs (rights and region,
state). Every case is checked before any is sent, so a refusal shows
before anything goes on Kafka; each case then becomes one `press` command
carrying the seq the user saw (`expected_seq`). The status line follows
every command sent, with `command_status` for each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from dash import html

from onegrid.alerts.actors import ROLE_ACTIONS, Actor
from onegrid.alerts.cases import Action, CaseError
from onegrid.dashboard import actions
from onegrid.dashboard.actions import Refusal
from onegrid.dashboard.components import command_status
from onegrid.dashboard.i18n import Words, text
from onegrid.dashboard.queries.supervision import cases_by_id

W: Final = Words({
    "zh": {"select_some": "勾选工单后可批量督办。", "press_ready": "已选 {n} 件，可以督办。",
           "press_view_only": "您的角色只能查看督办清单。"},
    "en": {"select_some": "Tick cases to press several at once.",
           "press_ready": "{n} selected; ready to press.",
           "press_view_only": "Your role may only view the overdue list."},
})
_LINE: Final = "og-status-line"


def can_press(ctx, actor: Actor) -> bool:
    """Return whether the actor may press cases at all on this node."""
    return ctx.sender is not None and Action.PRESS in ROLE_ACTIONS[actor.role]


def refusal(ctx, actor: Actor, row: Mapping[str, Any] | None,
            reason: str | None) -> Refusal | None:
    """Return why `actor` cannot press this case (a `cases` row the actor sees) now."""
    why = actions.refusal(ctx, actor, "press", row, {"reason": reason})
    if why is None and not (reason or "").strip():
        return Refusal(CaseError.MISSING_REASON, "give a reason to press for action")
    return why


def check(ctx, actor: Actor, selected: Sequence[str], reason: str | None,
          lang: str) -> tuple[str, str, bool]:
    """Return (text, css class, press button disabled) for the selection as it stands."""
    if not can_press(ctx, actor):
        why = actions.refusal(ctx, actor, "press", None) if ctx.sender is None else None
        words = command_status.refusal_text(lang, why) if why else W(lang, "press_view_only")
        return words, _LINE, True
    if not selected:
        return W(lang, "select_some"), _LINE, True
    why = _first_refusal(ctx, actor, selected, reason)
    if why is not None:
        return command_status.refusal_text(lang, why), f"{_LINE} og-refused", True
    return W(lang, "press_ready", n=len(selected)), f"{_LINE} og-applied", False


def press(ctx, actor: Actor, case_ids: Sequence[str], reason: str | None,
          shown: Mapping[str, int], lang: str) -> tuple[list | None, Any, str]:
    """Send one `press` per case if every one passes the checks; return (pending commands,
    status, css class). Nothing is sent when any case is refused."""
    case_ids = list(dict.fromkeys(case_ids))
    if not case_ids:
        return None, "", _LINE
    rows = _shown_rows(ctx, actor, case_ids, shown)
    for case_id in case_ids:
        why = refusal(ctx, actor, rows.get(case_id), reason)
        if why is not None:
            return None, f"{case_id}: {command_status.refusal_text(lang, why)}", \
                f"{_LINE} og-refused"
    sent = []
    for case_id in case_ids:
        try:
            command_id = actions.send(ctx, actor, "press", rows[case_id], reason=reason.strip())
        except actions.ActionFailed as exc:
            return sent or None, command_status.failure_text(lang, str(exc)), \
                f"{_LINE} og-refused"
        sent.append({**command_status.pending(command_id, "press", ctx.clock()),
                     "case_id": case_id})
    return sent, text(lang, "sent"), _LINE


def describe(ctx, lang: str, waiting: Sequence[Mapping[str, Any]] | None
             ) -> tuple[Any, str, list | None]:
    """Return (status, css class, commands still waiting) for the presses sent."""
    if not waiting:
        return "", _LINE, None
    lines, classes, still = [], [], []
    for sent in waiting:
        words, css, more = command_status.describe(ctx, lang, dict(sent))
        lines.append(words if len(waiting) == 1 else html.Div(f"{sent['case_id']}: {words}"))
        classes.append(css)
        if more is not None:
            still.append(sent)
    css = next((c for c in classes if "og-refused" in c), None) or \
        (f"{_LINE} og-applied" if all("og-applied" in c for c in classes) else _LINE)
    return (lines[0] if len(lines) == 1 else lines), css, still or None


def _shown_rows(ctx, actor: Actor, case_ids: Sequence[str],
                shown: Mapping[str, int]) -> dict[str, dict[str, Any]]:
    """Return the visible cases among `case_ids` as shown to the user: their current row
    with the seq the user saw, so the engine refuses a press on a case changed since.
    A case not on the user's list (or not visible) is absent: an unknown case."""
    rows = cases_by_id(ctx.store, ctx.scope(actor), case_ids)
    return {cid: {**row, "seq": shown[cid]} for cid, row in rows.items() if cid in shown}


def _first_refusal(ctx, actor: Actor, case_ids: Sequence[str],
                   reason: str | None) -> Refusal | None:
    rows = cases_by_id(ctx.store, ctx.scope(actor), case_ids)
    return next((why for cid in case_ids
                 if (why := refusal(ctx, actor, rows.get(cid), reason)) is not None), None)
