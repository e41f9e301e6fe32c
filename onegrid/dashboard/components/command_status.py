"""The status line of a user action: sent, then applied or refused with the engine's reason.

A page that sends a command keeps `{"command_id", "action"}` in a `dcc.Store`
(`pending(...)`) and, on each live tick, asks `describe` what to show: the
engine's answer once `case_commands` has it, "sent, waiting" until then, and
"no answer yet" after `WAIT_S`. Refusals read in the user's language (the
code's words) followed by the engine's own sentence.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from onegrid.dashboard import actions
from onegrid.dashboard.actions import Refusal
from onegrid.dashboard.i18n import text

WAIT_S: Final = 30.0


def pending(command_id: str, action: str, now: datetime) -> dict[str, Any]:
    """Return what a page keeps about a command it has just sent."""
    return {"command_id": command_id, "action": action, "sent_at": now.timestamp()}


def describe(ctx, lang: str, sent: dict[str, Any] | None, actor=None
             ) -> tuple[str, str, dict[str, Any] | None]:
    """Return (text, css class, what to keep waiting for) for a command `actor` sent.

    The third value is None once there is nothing more to wait for. `sent` comes
    back from the page, so the answer is looked up only among the signed-in
    actor's own commands.
    """
    if not sent:
        return "", "og-status-line", None
    found = actions.outcome(ctx.store, sent["command_id"],
                            actor.actor_id if actor is not None else None)
    if found is None:
        waited = ctx.clock().timestamp() - float(sent.get("sent_at") or 0)
        if waited > WAIT_S:
            return text(lang, "no_answer"), "og-status-line", None
        return text(lang, "sent"), "og-status-line", sent
    if found.outcome == "applied":
        label = text(lang, f"action_{sent['action']}")
        return text(lang, "applied", action=label), "og-status-line og-applied", None
    return refusal_text(lang, Refusal(found.code or "", found.reason or "")), \
        "og-status-line og-refused", None


def refusal_text(lang: str, refusal: Refusal) -> str:
    """Return a refusal in the user's words: the code's sentence, then the engine's."""
    try:
        words = text(lang, f"code_{refusal.code}")
    except KeyError:
        words = refusal.code
    return text(lang, "refused", reason=f"{words} ({refusal.reason})" if refusal.reason
                else words)


def failure_text(lang: str, reason: str) -> str:
    """Return the line shown when a command could not be sent at all."""
    return text(lang, "action_error", reason=reason)


__all__ = ["WAIT_S", "describe", "failure_text", "pending", "refusal_text"]
