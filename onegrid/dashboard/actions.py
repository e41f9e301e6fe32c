"""User actions: check them the way the engine will, send them as commands, read the answer.

A button on any page ends here. `refusal` runs the engine's own checks
(the actor's rights and scope, the case's state, the remit of a dispatch)
before anything is sent, so a user sees at once why an action cannot be
taken; the engine checks again when it applies the command, so a forged
request changes nothing either. `send` puts the command on
`onegrid.commands` through the context's `Sender`; `outcome` reads what the
engine decided about it from `case_commands` (applied, or refused with a
code and a reason). The dashboard never writes the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from onegrid.alerts.actors import Actor
from onegrid.alerts.actors import refusal as rights_refusal
from onegrid.alerts.cases import Action, CaseError, can, row_to_case
from onegrid.alerts.opening import remit_covers
from onegrid.streams.sender import BadMessage, SendFailed

# Actions that are not case actions: they name an alert, not a case.
ALERT_ACTIONS: Final = ("acknowledge",)
# Actions whose command must carry a reason (the engine refuses them without).
NEEDS_REASON: Final = frozenset({"return", "dismiss", "reopen", "override", "press"})


@dataclass(frozen=True)
class Refusal:
    """Why an action cannot be taken: a stable code (the engine's) and a sentence."""

    code: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What the engine decided about a sent command."""

    command_id: str
    outcome: str  # applied | rejected
    code: str | None = None
    reason: str | None = None
    case_id: str | None = None


def refusal(ctx, actor: Actor, action: str, case_row: Mapping[str, Any] | None,
            fields: Mapping[str, Any] | None = None) -> Refusal | None:
    """Return why `actor` cannot take `action` on the case (a `cases` row), or None.

    The same checks as the engine's, in its order: rights and scope, state,
    then what the action itself needs (a reason; a remit for a dispatch).
    """
    fields = fields or {}
    if ctx.sender is None:
        return Refusal("read_only", "this node has no Kafka connection")
    if action in ALERT_ACTIONS or action == "open":
        return _needs_reason(action, fields)
    if case_row is None:
        return Refusal(CaseError.UNKNOWN_CASE, "there is no such case; refresh the list")
    case = row_to_case(case_row)
    asked = Action.OVERRIDE if action == "dispatch" and fields.get("override") else Action(action)
    why = rights_refusal(actor, asked, case, ctx.registry.categories)
    if why:
        return Refusal(CaseError.NOT_ALLOWED, why)
    if not can(asked, case.state):
        return Refusal(CaseError.BAD_STATE, f"cannot {action} a case that is {case.state}")
    if action == "verify" and actor.actor_id == case.handler:
        return Refusal(CaseError.SELF_VERIFY, "you handled this case; someone else verifies it")
    missing = _needs_reason(str(asked), fields)
    if missing:
        return missing
    if asked == Action.DISPATCH:
        dept = fields.get("department") or case.department
        if dept not in ctx.registry.departments:
            return Refusal(CaseError.UNKNOWN_DEPARTMENT, f"{dept!r} is not a department")
        if not remit_covers(case, dept, ctx.directory):
            return Refusal(CaseError.REMIT_REFUSED,
                           f"{dept}'s remit does not cover {case.category} here")
    return None


def send(ctx, actor: Actor, action: str, case_row: Mapping[str, Any] | None = None,
         **fields: Any) -> str:
    """Send the command for `action` by `actor` and return its id.

    The case's seq as the user saw it goes along (`expected_seq`), so when
    someone else acted first the engine refuses this one as stale instead of
    applying it to a case the user has not seen. Raises `ActionFailed`.
    """
    if ctx.sender is None:
        raise ActionFailed("this node has no Kafka connection")
    message = {"action": action, "actor": actor.actor_id, **fields}
    if case_row is not None:
        message.setdefault("case_id", case_row["case_id"])
        message.setdefault("expected_seq", case_row.get("seq"))
    try:
        return ctx.sender.command(message)
    except (BadMessage, SendFailed) as exc:
        raise ActionFailed(str(exc)) from None


def outcome(store, command_id: str, actor_id: str | None = None) -> Outcome | None:
    """Return the engine's decision about a command, or None while it has not decided.

    With `actor_id`, only a command that actor sent is answered: a page asks about
    the commands its user sent, and an id from anywhere else tells nothing.
    """
    sql = ("SELECT command_id, outcome, code, reason, case_id FROM case_commands "
           "WHERE command_id = ?")
    params: list = [command_id]
    if actor_id is not None:
        sql += " AND actor = ?"
        params.append(actor_id)
    rows = store.query(sql, params).to_pylist()
    return Outcome(**rows[0]) if rows else None


class ActionFailed(RuntimeError):
    """The command could not be sent; the message says why."""


def _needs_reason(action: str, fields: Mapping[str, Any]) -> Refusal | None:
    if action in NEEDS_REASON and not (fields.get("reason") or "").strip():
        return Refusal(CaseError.MISSING_REASON, f"give a reason to {action}")
    return None
