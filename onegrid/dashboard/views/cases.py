"""Views of the dispatch board (工单派单): the words of the board and the case page, filter
choices, the strip of counts per state, the rows of the case table, the table per
department and the results of a bulk action.

Pure: rows from `queries.board` in, Dash components or table records out. The
strip's cards carry pattern-matching ids ({"type": STRIP, "state": ...}) so one
callback serves them all; the page owns that callback. Text that the table
shows as markdown (the case link, the state badge, the countdown) is escaped
here: a case id typed by staff never becomes markup.
"""

from __future__ import annotations

import html as htmlesc
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import quote

from dash import dcc, html

from onegrid.alerts.cases import CLOCKED, CaseState
from onegrid.alerts.sla import LADDER
from onegrid.dashboard.i18n import COMMON, Words, text
from onegrid.dashboard.views.case_words import TABLE
from onegrid.dashboard.views.format import (
    category_name,
    countdown,
    department_name,
    local_time,
)

W: Final = Words(TABLE, base=COMMON)

STRIP: Final = "dispatch-strip-card"  # pattern-matching id type of the strip's cards
OVERDUE_CARD: Final = "overdue"
# The strip's states, in the order a case goes through them.
STRIP_STATES: Final = tuple(str(s) for s in (
    CaseState.SUGGESTED, CaseState.NEW, CaseState.DISPATCHED, CaseState.ACCEPTED,
    CaseState.IN_PROGRESS, CaseState.RESOLVED, CaseState.VERIFIED, CaseState.CLOSED,
    CaseState.RETURNED, CaseState.ARBITRATION, CaseState.REOPENED, CaseState.DISMISSED))
# The states the table per department counts (the working ones).
DEPT_STATES: Final = ("new", "dispatched", "accepted", "in_progress", "resolved", "returned",
                      "arbitration", "reopened")
DEPT_ROWS: Final = 40


def state_options(lang: str) -> list[dict[str, str]]:
    """Return the state filter's options in lifecycle order."""
    return [{"label": text(lang, f"state_{s}"), "value": s} for s in STRIP_STATES]


def named_options(codes: Sequence[str], name, lang: str) -> list[dict[str, str]]:
    """Return dropdown options for codes, labelled `name(code, lang)`, sorted by label."""
    options = [{"label": name(c, lang), "value": c} for c in codes if c]
    return sorted(options, key=lambda o: o["label"])


def strip(counts: Mapping[str, int], overdue: int, lang: str, active: Sequence[str],
          overdue_on: bool) -> list:
    """Return the strip: a card per state (its cases under the other filters), the total and
    the overdue ones; a card whose filter is on is marked."""
    cards = [_card(W(lang, "total"), sum(counts.values()), None, False)]
    for s in STRIP_STATES:
        cards.append(_card(text(lang, f"state_{s}"), counts.get(s, 0), s, s in active,
                           f" og-state-{s}"))
    cards.append(_card(text(lang, "overdue"), overdue, OVERDUE_CARD, overdue_on,
                       " og-overdue-card" if overdue else ""))
    return cards


def _card(label: str, n: int, key: str | None, on: bool, extra: str = "") -> html.Button:
    cls = "og-card og-strip-card" + extra + (" og-active" if on else "")
    ident = {"type": STRIP, "state": key} if key else {"type": STRIP, "state": "all"}
    return html.Button([html.Div(label, className="og-label"),
                        html.Div(f"{n:,}", className="og-value")],
                       id=ident, className=cls, n_clicks=0)


def case_link(case_id: str) -> str:
    """Return the markdown (HTML) link to a case's page, its id escaped."""
    return f'<a href="/case/{quote(case_id, safe="")}">{htmlesc.escape(case_id)}</a>'


def state_html(state: str, lang: str) -> str:
    """Return a state badge as HTML for the table (the class names come from the state)."""
    label = htmlesc.escape(text(lang, f"state_{state}")) if state in STRIP_STATES else \
        htmlesc.escape(state)
    return f'<span class="og-badge og-state-{htmlesc.escape(state)}">{label}</span>'


def ladder_word(level: int | None, lang: str) -> str:
    """Return an escalation level as the ladder's word ("" at the grid, the normal level)."""
    level = int(level or 0)
    if level <= 0:
        return ""
    return W(lang, f"ladder_{LADDER[min(level, len(LADDER) - 1)]}")


def clock_text(row: Mapping[str, Any], now: datetime, lang: str) -> tuple[str, bool]:
    """Return (countdown text, overdue) of a case: time left or overdue while its clock runs,
    "paused" in arbitration, nothing once it is resolved or before dispatch."""
    overdue = bool(row.get("overdue"))
    state = row["state"]
    if state == CaseState.ARBITRATION:
        return W(lang, "paused") + (f" · {text(lang, 'overdue')}" if overdue else ""), overdue
    if state not in CLOCKED or row.get("due_at") is None:
        return "", False
    words, late = countdown(row["due_at"], now, lang, running=True)
    return words, late or overdue


def table_records(rows: Sequence[Mapping[str, Any]], lang: str, *, now: datetime, tz: str,
                  registry, regions) -> list[dict[str, Any]]:
    """Return the case table's records (`id` is the case id; `overdue` 1/0 colours the row)."""
    grids = region_names(regions, "grid", [r.get("grid_id") for r in rows], lang)
    out = []
    for r in rows:
        left, late = clock_text(r, now, lang)
        out.append({
            "id": r["case_id"], "case": case_link(r["case_id"]), "title": r.get("title") or "",
            "category": category_name(registry, r["category"], lang),
            "state": state_html(r["state"], lang),
            "department": department_name(registry, r.get("department"), lang),
            "grid": grids.get(r.get("grid_id"), ""),
            "severity": int(r.get("severity") or 1),
            "created": local_time(r.get("created_at"), tz),
            "due": local_time(r.get("due_at"), tz),
            "countdown": left, "escalation": ladder_word(r.get("escalation_level"), lang),
            "returns": int(r.get("returns") or 0), "overdue": 1 if late else 0,
        })
    return out


def region_names(regions, level: str, region_ids: Sequence[str | None], lang: str
                 ) -> dict[str, str]:
    """Return region id -> name in `lang` for these ids, looked up at once (the id itself
    when the region is unknown)."""
    wanted = sorted({i for i in region_ids if i})
    column = regions.levels[level]["name_en" if lang == "en" else "name_zh"]
    found = column.reindex(wanted)
    return {k: v if isinstance(v, str) else k for k, v in zip(wanted, found.tolist(),
                                                               strict=True)}


def shown_line(shown: int, total: int, lang: str) -> str:
    """Return the line under the filters: how many cases are shown of how many."""
    if total == 0:
        return W(lang, "no_cases")
    key = "shown_capped" if shown < total else "shown"
    return W(lang, key, shown=f"{shown:,}", total=f"{total:,}")


def department_table(rows: Sequence[Mapping[str, Any]], lang: str, registry) -> list:
    """Return the cases per lead department: total, overdue and the working states."""
    if not rows:
        return [html.Div(W(lang, "no_cases"), className="og-muted")]
    head = [text(lang, "lead"), W(lang, "total"), text(lang, "overdue"),
            *[text(lang, f"state_{s}") for s in DEPT_STATES]]
    body = []
    for r in rows[:DEPT_ROWS]:
        late = r["overdue"]
        body.append(html.Tr([
            html.Td(department_name(registry, r["department"], lang) or "—"),
            html.Td(r["total"]),
            html.Td(late or "", className="og-overdue" if late else ""),
            *[html.Td(r["states"].get(s) or "") for s in DEPT_STATES]]))
    out: list = [html.Table([html.Thead(html.Tr([html.Th(h) for h in head])),
                             html.Tbody(body)], className="og-table og-dept-table")]
    if len(rows) > DEPT_ROWS:
        out.append(html.Div(W(lang, "more_departments", n=len(rows) - DEPT_ROWS),
                            className="og-muted"))
    return out


def bulk_options(actions: Sequence[str], lang: str) -> list[dict[str, str]]:
    """Return the bulk action choices of a role."""
    return [{"label": W(lang, f"bulk_{a}"), "value": a} for a in actions]


def bulk_preview(items: Sequence[Any], lang: str) -> list:
    """Return what a bulk action would do to the selected rows, before sending: how many
    pass and, for each refused row, why."""
    if not items:
        return [html.Span(W(lang, "bulk_none"))]
    refused = [i for i in items if i.refusal]
    out: list = [html.Span(W(lang, "bulk_preview", ok=len(items) - len(refused),
                             refused=len(refused)))]
    if refused:
        out.append(html.Ul([html.Li([dcc.Link(i.case_id, href=f"/case/{i.case_id}"), " ",
                                     i.refusal]) for i in refused[:20]],
                           className="og-refused-list"))
    return out


def bulk_results(items: Sequence[Mapping[str, Any]], lang: str) -> list:
    """Return the result of each row of a bulk run (items with their `result` line and
    `css` class already decided by the page)."""
    if not items:
        return []
    return [html.Table([
        html.Thead(html.Tr([html.Th(text(lang, "case")), html.Th(W(lang, "action")),
                            html.Th(W(lang, "result"))])),
        html.Tbody([html.Tr([html.Td(dcc.Link(i["case_id"], href=f"/case/{i['case_id']}")),
                             html.Td(text(lang, f"action_{i['action']}")),
                             html.Td(i["result"], className=i["css"])]) for i in items]),
    ], className="og-table og-bulk-results")]
