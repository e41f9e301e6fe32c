"""Views of the audit trail (电子监察 / 全过程记录): the latest case-log rows and the status
of the log's hash chain.

Pure: log rows and a `ChainStatus` in, components and a status line out.
Actions and states read in the UI language; actors by name and id (the
engine's own entries as "system (...)"). A break names its case only when
the viewer may see it: the chain is the whole city's, the viewer's region
may not be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from dash import dcc, html

from onegrid.dashboard.i18n import text
from onegrid.dashboard.queries.supervision import ChainStatus
from onegrid.dashboard.views.format import local_time, state_badge
from onegrid.dashboard.views.supervision import SCROLL, W

HEAD_CHARS: Final = 12  # characters of the head hash shown (the full hash is in the tooltip)
_SYSTEM: Final = "system:"


def action_words(action: str, lang: str) -> str:
    """Return a log entry's action in words ("督办"), the code itself when unknown."""
    try:
        return text(lang, f"action_{action}")
    except KeyError:
        return action


def actor_words(actor_id: str, lang: str, name_of: Callable[[str], str | None]) -> str:
    """Return who acted: "name (id)" for staff, "system (...)" for the engine's entries."""
    if actor_id.startswith(_SYSTEM):
        what = actor_id[len(_SYSTEM):]
        try:
            return W(lang, f"system_{what}")
        except KeyError:
            return W(lang, "system_other", what=what)
    name = name_of(actor_id)
    return f"{name} ({actor_id})" if name else actor_id


def audit_view(rows: Sequence[Mapping[str, Any]], lang: str, *, tz: str,
               name_of: Callable[[str], str | None]) -> html.Div:
    """Return the latest log rows, newest first: time, case, action, actor, state, reason."""
    if not rows:
        return html.Div(W(lang, "no_log"), className="og-muted")
    head = html.Tr([html.Th(W(lang, k)) for k in (
        "col_time", "col_case", "col_action", "col_actor", "col_state", "col_reason")])
    body = [html.Tr([
        html.Td(local_time(r["at"], tz, "%m-%d %H:%M:%S")),
        html.Td(dcc.Link(r["case_id"], href=f"/case/{r['case_id']}")),
        html.Td(action_words(r["action"], lang)),
        html.Td(actor_words(r["actor"], lang, name_of)),
        html.Td(state_badge(r["state"], lang)),
        html.Td(r.get("reason") or ""),
    ], title=f"log_seq {r['log_seq']}") for r in rows]
    return html.Div([html.Div(W(lang, "latest_rows", n=len(rows)), className="og-muted"),
                     html.Table([html.Thead(head), html.Tbody(body)], className="og-table")],
                    style=SCROLL)


def chain_line(status: ChainStatus, lang: str, *, tz: str,
               sees_case: Callable[[str], bool]) -> tuple[str, str]:
    """Return (text, css class) of the chain status: intact with its row count and head
    hash, or the first broken row in red."""
    at = local_time(status.checked_at, tz, "%H:%M:%S")
    broken = status.broken
    if broken is None:
        if not status.rows:
            return W(lang, "chain_empty", at=at), "og-status-line og-applied"
        head = (status.head_hash or "")[:HEAD_CHARS]
        return (W(lang, "chain_ok", n=f"{status.rows:,}", head=head, at=at),
                "og-status-line og-applied")
    case = broken.case_id if sees_case(broken.case_id) else W(lang, "hidden_case")
    # The engine's sentence names the case too: shown only when the viewer sees the case.
    problem = broken.problem if sees_case(broken.case_id) else ""
    key = "chain_tail" if broken.kind == "tail" else "chain_broken"
    return (W(lang, key, log_seq=broken.log_seq, case=case, problem=problem, at=at,
              what=W(lang, f"broken_{broken.kind}")), "og-status-line og-refused")
