"""Views of the case page: the summary, the whole-process record (全过程记录), the sources
(reports, masked; alerts with their evidence), the plan steps, the action buttons.

Pure: rows from `queries.cases` in, Dash components out. Buttons carry
pattern-matching ids ({"type": ACT, "action": ...}, {"type": STEP, "step": ...})
so one callback serves each kind; the page owns those callbacks. Hashes are
shown shortened with the full value in the tooltip; a photo link is shown
only when it is a web link or a path on this server, never a script URL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from dash import dcc, html

from onegrid.alerts.routing import kind_department
from onegrid.dashboard.case_actions import PHOTO_PREFIXES
from onegrid.dashboard.i18n import text
from onegrid.dashboard.views.cases import W, clock_text, ladder_word
from onegrid.dashboard.views.format import (
    category_name,
    department_name,
    local_time,
    plain,
    region_name,
    state_badge,
)
from onegrid.dashboard.views.overview import rule_label

ACT: Final = "case-act"  # pattern-matching id type of the action buttons
STEP: Final = "case-step"  # ... and of the plan steps' tick buttons
HASH_CHARS: Final = 10
EVIDENCE_SHOWN: Final = 6
_SYSTEM: Final = {"system:intake": "system_intake", "system:sla": "system_sla",
                  "system:sensor": "system_sensor"}
_TIME: Final = "%m-%d %H:%M:%S"


def actor_name(actor_id: str | None, staff, lang: str) -> str:
    """Return who acted, in words: a staff member's name and id, or the system step."""
    if not actor_id:
        return ""
    if actor_id in _SYSTEM:
        return W(lang, _SYSTEM[actor_id])
    found = staff.get(actor_id)
    return f"{found.name} ({actor_id})" if found else actor_id


def summary(case: Mapping[str, Any], lang: str, *, now: datetime, overdue: bool, tz: str,
            registry, regions, staff, plans: Mapping[str, Any]) -> list:
    """Return the case's summary table (state, category, units, grid and its workers,
    times, the clock, ladder, returns, reopens, satisfaction, plan)."""
    left, late = clock_text({**case, "overdue": overdue}, now, lang)
    workers = [staff.get(w) for w in staff.by_grid.get(case.get("grid_id") or "", ())]
    assisting = [department_name(registry, d, lang) for d in case.get("assisting") or []]
    plan = plans.get(case.get("plan_id") or "")
    rows: list[tuple[str, Any]] = [
        (W(lang, "title"), case.get("title") or ""),
        (text(lang, "state"), state_badge(case["state"], lang)),
        (text(lang, "category"), category_name(registry, case["category"], lang)),
        (text(lang, "severity"), str(case.get("severity") or "")),
        (text(lang, "lead"), department_name(registry, case.get("department"), lang)),
        (text(lang, "assisting"), "、".join(assisting) or text(lang, "none")),
        (text(lang, "grid"), f"{region_name(regions, 'grid', case.get('grid_id'), lang)} "
                             f"({case.get('grid_id') or '—'})"),
        (text(lang, "grid_workers"), ", ".join(f"{w.name} ({w.actor_id})" for w in workers
                                               if w) or text(lang, "none")),
        (W(lang, "origin"), W(lang, f"origin_{case.get('origin') or 'staff'}")),
        (text(lang, "created"), local_time(case.get("created_at"), tz, _TIME)),
        (W(lang, "dispatched_at"), local_time(case.get("dispatched_at"), tz, _TIME)),
        (text(lang, "due"), local_time(case.get("due_at"), tz, _TIME)),
        (W(lang, "countdown"), html.Span(left, className="og-overdue" if late else "")),
        (W(lang, "resolved_at"), local_time(case.get("resolved_at"), tz, _TIME)),
        (W(lang, "closed_at"), local_time(case.get("closed_at"), tz, _TIME)),
        (text(lang, "handler"), actor_name(case.get("handler"), staff, lang)),
        (W(lang, "escalation"), ladder_word(case.get("escalation_level"), lang) or
         text(lang, "none")),
        (W(lang, "returns"), str(case.get("returns") or 0)),
        (W(lang, "reopens"), str(case.get("reopens") or 0)),
        (W(lang, "satisfaction"), W(lang, case["satisfaction"]) if case.get("satisfaction")
         in ("satisfied", "dissatisfied") else "—"),
        (W(lang, "plan"), (plan.title_en if lang == "en" else plan.title_zh) if plan
         else text(lang, "none")),
    ]
    if case.get("merged_into"):
        rows.append((text(lang, "action_merge"),
                     dcc.Link(case["merged_into"], href=f"/case/{case['merged_into']}")))
    return [html.Table(html.Tbody([html.Tr([html.Th(k), html.Td(v)]) for k, v in rows]),
                       className="og-table og-summary")]


def log_table(rows: Sequence[Mapping[str, Any]], lang: str, *, tz: str, registry,
              staff) -> list:
    """Return the whole-process record: every entry with its seq, time, action, actor,
    state after, department, reason, note (and what the entry adds), and its hashes."""
    head = [W(lang, "log_seq"), W(lang, "time"), W(lang, "action"), W(lang, "actor"),
            W(lang, "state_after"), text(lang, "department"), text(lang, "reason"),
            text(lang, "note"), W(lang, "hash")]
    body = [html.Tr([
        html.Td(r["seq"]), html.Td(local_time(r["at"], tz, _TIME)),
        html.Td(_action_word(r["action"], lang)), html.Td(actor_name(r["actor"], staff, lang)),
        html.Td(state_badge(r["state"], lang)),
        html.Td(department_name(registry, r.get("department"), lang)),
        html.Td(r.get("reason") or ""), html.Td(_note(r, lang)),
        html.Td(_hashes(r), className="og-hash"),
    ], id=f"case-log-{r['seq']}") for r in rows]
    return [html.Table([html.Thead(html.Tr([html.Th(h) for h in head])), html.Tbody(body)],
                       className="og-table og-log")]


def _action_word(action: str, lang: str) -> str:
    try:
        return text(lang, f"action_{action}")
    except KeyError:
        return action


def _note(row: Mapping[str, Any], lang: str) -> list:
    out: list = [row.get("note") or ""]
    try:
        detail = json.loads(row.get("detail") or "{}")
    except ValueError:
        detail = {}
    out += _photo_link(detail.get("photo_url"), lang)
    if detail.get("override"):
        out.append(html.Span(f" [{W(lang, 'detail_override')}]", className="og-muted"))
    if "from" in detail and "to" in detail:
        out.append(html.Span(" " + W(lang, "detail_escalate",
                                     frm=W(lang, f"ladder_{detail['from']}"),
                                     to=W(lang, f"ladder_{detail['to']}")),
                             className="og-muted"))
    return out


def _photo_link(photo: Any, lang: str) -> list:
    """Return [" ", a link to the photo], or [] when it is not a web link or a path on
    this server (never a script URL, whatever the store holds)."""
    if isinstance(photo, str) and photo.startswith(PHOTO_PREFIXES):
        return [" ", html.A(W(lang, "photo"), href=photo, target="_blank", rel="noopener")]
    return []


def _hashes(row: Mapping[str, Any]) -> html.Span:
    prev, this = row.get("prev_hash") or "", row.get("hash") or ""
    return html.Span(f"{prev[:HASH_CHARS]} → {this[:HASH_CHARS]}",
                     title=f"prev_hash {prev}\nhash {this}")


def sources_view(rows: Sequence[Mapping[str, Any]], lang: str, *, tz: str, registry,
                 rules: Mapping[str, Any]) -> list:
    """Return a case's sources: reports (reporter masked by the query; the photo, when
    the report has one) and alerts with their rule, value against threshold and
    evidence ids."""
    if not rows:
        return [html.Div(W(lang, "no_sources"), className="og-muted")]
    out = []
    for s in rows:
        when = local_time(s.get("at"), tz, _TIME)
        if s["kind"] == "alert":
            evidence = list(s.get("evidence") or [])
            more = len(evidence) - EVIDENCE_SHOWN
            ids = ", ".join(evidence[:EVIDENCE_SHOWN]) + \
                (f" {W(lang, 'evidence_more', n=more)}" if more > 0 else "")
            body = [html.B(f"{W(lang, 'source_alert')} {s['source_id']}"),
                    html.Div(f"{W(lang, 'rule')} {rule_label(rules, s.get('rule_id') or '', lang)}"
                             f" · {W(lang, 'value')} {plain(s.get('value'))} / "
                             f"{W(lang, 'threshold')} {plain(s.get('threshold'))} · {when}"),
                    html.Div(f"{W(lang, 'evidence')}: {ids or '—'}", className="og-muted")]
        else:
            reporter = " ".join(x for x in (s.get("reporter_name"), s.get("reporter_phone"))
                                if x)
            body = [html.B(f"{W(lang, 'source_report')} {s['source_id']}"),
                    html.Div(f"{category_name(registry, s.get('category'), lang)} · "
                             f"{_channel(s.get('report_source'), lang)} · {when}"),
                    html.Div([f"{W(lang, 'description')}: {s.get('description') or ''}",
                              *_photo_link(s.get("photo_url"), lang)]),
                    html.Div(f"{W(lang, 'address')}: {s.get('address') or ''} · "
                             f"{text(lang, 'reporter')}: {reporter}", className="og-muted")]
        out.append(html.Div(body, className="og-source"))
    return out


def _channel(source: str | None, lang: str) -> str:
    try:
        return text(lang, f"source_{source}") if source else ""
    except KeyError:
        return source or ""


def steps_view(rows: Sequence[Mapping[str, Any]], lang: str, *, tz: str, registry,
               district_id: str | None, staff, can_tick: bool) -> list:
    """Return the plan steps in order: who does each, who ticked it when, and a tick button
    on the open ones when the actor may tick."""
    if not rows:
        return [html.Div(W(lang, "no_steps"), className="og-muted")]
    items = []
    for s in rows:
        dept = kind_department(s.get("dept_kind") or "", district_id, registry.departments)
        label = s["text_en"] if lang == "en" else s["text_zh"]
        if s.get("done_at"):
            state: Any = html.Span(W(lang, "done_by", who=actor_name(s.get("done_by"), staff,
                                                                   lang),
                                     at=local_time(s["done_at"], tz)), className="og-applied")
        elif can_tick:
            state = html.Button(W(lang, "tick"), id={"type": STEP, "step": s["step_id"]},
                                n_clicks=0, className="og-secondary")
        else:
            state = ""
        items.append(html.Li([html.Span(f"{label} "),
                              html.Span(f"({department_name(registry, dept, lang)}) ",
                                        className="og-muted"), state],
                             className="og-step"))
    return [html.Ol(items, className="og-steps")]


def action_buttons(available: Sequence[str], lang: str) -> list:
    """Return a button per action the actor may take (or a sentence when there is none)."""
    if not available:
        return [html.Div(W(lang, "no_actions"), className="og-muted")]
    return [html.Button(text(lang, f"action_{a}"), id={"type": ACT, "action": a}, n_clicks=0,
                        className="og-danger" if a in ("dismiss", "return") else "")
            for a in available]
