"""Views of the supervision page (督办/考核): the page's words, the KPI table, charts and
cards, and the overdue list with its press-for-action (督办) controls.

Pure: KPI records and overdue cases in, Dash components and figures out.
Department and region names come from the city's registers in the UI
language. Buttons and checkboxes of the overdue list carry pattern-matching
ids ({"type": ..., "id": case id}) so one callback serves every row; the
page owns those callbacks. The audit trail is `views.audit`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

import plotly.graph_objects as go
from dash import dcc, html

from onegrid.alerts.kpi import Kpi
from onegrid.alerts.sla import LADDER
from onegrid.alerts.supervision import Overdue
from onegrid.dashboard.components.kpi import Column, bar_chart, kpi_table
from onegrid.dashboard.i18n import COMMON, Words, text
from onegrid.dashboard.views.format import (
    category_name,
    department_name,
    duration_text,
    local_time,
    region_name,
    state_badge,
)

W: Final = Words({
    "zh": {
        "title": "督办考核", "period": "统计周期", "period_today": "今日",
        "period_7d": "近7天", "period_30d": "近30天", "group": "考核对象",
        "group_department": "职能部门", "group_district": "区", "group_street": "街道",
        "unit_department": "职能部门", "unit_district": "区", "unit_street": "街道",
        "kpi_title": "考核", "kpi_hint": "{since} 至 {until} 受理的工单；每 {every} 秒自动更新。",
        "col_cases": "工单数", "col_closed": "已结案", "col_on_time_rate": "按期办结率",
        "col_mean_accept_s": "平均签收用时", "col_mean_resolve_s": "平均办结用时",
        "col_mean_close_s": "平均结案用时", "col_return_rate": "退单率",
        "col_reopen_rate": "重办率", "col_satisfaction_rate": "满意度", "col_backlog": "积压",
        "chart_on_time": "按期办结率（{group}，最低在上）",
        "chart_backlog": "积压工单（{group}，最多在上）",
        "no_kpis": "所选周期内没有工单。", "no_region": "未落网格",
        "overdue_title": "督办清单（超期工单）", "overdue_count": "超期 {n} 件",
        "no_overdue": "目前没有超期工单。", "col_case": "工单", "col_category": "事项",
        "col_lead": "主办单位", "col_grid": "网格", "col_state": "状态", "col_due": "处置时限",
        "col_overdue_by": "超期时长", "col_level": "升级 / 下一步", "col_press": "督办",
        "ladder_grid": "网格", "ladder_street": "街道", "ladder_district": "区",
        "ladder_city": "市", "level_text": "{level}级 · {who}督办",
        "next_step": "{when} 升至{who}", "top_step": "不再升级",
        "press_selected": "督办所选", "select_all": "全选",
        "press_reason": "督办原因（必填）", "more_rows": "仅显示前 {n} 件，共 {total} 件。",
        "audit_title": "电子监察 · 全过程记录", "verify": "重新校验",
        "chain_ok": "记录链完整：共 {n} 条，末条哈希 {head}…（{at} 校验）",
        "chain_empty": "尚无全过程记录（{at} 校验）。",
        "chain_broken": "记录链断裂：第 {log_seq} 条（工单 {case}）{what}。{problem}（{at} 校验）",
        "chain_tail": "记录链断裂：工单 {case} {what}。{problem}（{at} 校验）",
        "broken_changed": "内容被改动", "broken_missing": "之前的记录被删除",
        "broken_reordered": "顺序被打乱或被替换", "broken_seq": "工单序号不连续",
        "broken_tail": "末尾记录缺失", "hidden_case": "辖区外",
        "col_time": "时间", "col_action": "操作", "col_actor": "操作人", "col_reason": "原因",
        "audit_only": "电子监察仅对监督和管理员开放。", "no_log": "暂无记录。",
        "system_intake": "系统（受理）", "system_sla": "系统（时限）",
        "system_sensor": "系统（感知设备）", "system_other": "系统（{what}）",
        "latest_rows": "最近 {n} 条记录",
    },
    "en": {
        "title": "Supervision", "period": "Period", "period_today": "Today",
        "period_7d": "Last 7 days", "period_30d": "Last 30 days", "group": "Assess by",
        "group_department": "Department", "group_district": "District", "group_street": "Street",
        "unit_department": "department", "unit_district": "district", "unit_street": "street",
        "kpi_title": "Assessment",
        "kpi_hint": "Cases taken in from {since} to {until}; updated every {every} s.",
        "col_cases": "Cases", "col_closed": "Closed", "col_on_time_rate": "On-time closure",
        "col_mean_accept_s": "Mean time to accept", "col_mean_resolve_s": "Mean time to resolve",
        "col_mean_close_s": "Mean time to close", "col_return_rate": "Return rate",
        "col_reopen_rate": "Reopen rate", "col_satisfaction_rate": "Satisfaction",
        "col_backlog": "Backlog",
        "chart_on_time": "On-time closure rate by {group} (lowest first)",
        "chart_backlog": "Backlog by {group} (largest first)",
        "no_kpis": "No cases in this period.", "no_region": "outside the grids",
        "overdue_title": "Press for action (overdue cases)", "overdue_count": "{n} overdue",
        "no_overdue": "No case is overdue.", "col_case": "Case", "col_category": "Category",
        "col_lead": "Lead unit", "col_grid": "Grid", "col_state": "State", "col_due": "Due",
        "col_overdue_by": "Overdue by", "col_level": "Escalation / next step",
        "col_press": "Press", "ladder_grid": "grid", "ladder_street": "street",
        "ladder_district": "district", "ladder_city": "city",
        "level_text": "level {level} · {who} presses", "next_step": "to {who} at {when}",
        "top_step": "no further step", "press_selected": "Press selected",
        "select_all": "Select all", "press_reason": "Reason for pressing (required)",
        "more_rows": "Showing the first {n} of {total}.",
        "audit_title": "Electronic supervision · whole-process record", "verify": "Verify again",
        "chain_ok": "Chain intact: {n} rows, head hash {head}… (checked {at})",
        "chain_empty": "No whole-process record yet (checked {at}).",
        "chain_broken": "Chain broken at row {log_seq} (case {case}): {what}. {problem} "
                        "(checked {at})",
        "chain_tail": "Chain broken: case {case}: {what}. {problem} (checked {at})",
        "broken_changed": "its content was changed",
        "broken_missing": "rows before it were deleted",
        "broken_reordered": "rows are out of order or replaced",
        "broken_seq": "the case's sequence jumps", "broken_tail": "rows at the end are missing",
        "hidden_case": "outside your region", "col_time": "Time", "col_action": "Action",
        "col_actor": "By", "col_reason": "Reason",
        "audit_only": "Electronic supervision is open to supervisors and admins.",
        "no_log": "Nothing recorded yet.", "system_intake": "system (intake)",
        "system_sla": "system (time limits)", "system_sensor": "system (sensor)",
        "system_other": "system ({what})", "latest_rows": "Latest {n} rows",
    },
}, base=COMMON)

PICK: Final = "supervision-pick"  # pattern type: one overdue row's checkbox
PRESS_ONE: Final = "supervision-press-one"  # pattern type: one overdue row's 督办 button
SORT_BY: Final = "supervision-sort-by"  # pattern type: a KPI column header
CHART_TOP: Final = 15  # bars per chart: the worst departments or regions
LOW_ON_TIME: Final = 0.9  # on-time closure rates below this show in red
OVERDUE_LIMIT: Final = 200  # rows of the overdue list drawn at most
KPI_COLUMNS: Final = (("cases", "int"), ("closed", "int"), ("on_time_rate", "rate"),
                      ("mean_accept_s", "duration"), ("mean_resolve_s", "duration"),
                      ("mean_close_s", "duration"), ("return_rate", "rate"),
                      ("reopen_rate", "rate"), ("satisfaction_rate", "rate"),
                      ("backlog", "int"))
DEFAULT_SORT: Final = {"col": "backlog", "desc": True}
# Long lists scroll inside their panel, so every section of the page stays in reach.
SCROLL: Final = {"overflow": "auto", "maxHeight": "440px"}
_NOWRAP: Final = {"whiteSpace": "nowrap"}


# -- KPIs ------------------------------------------------------------------------------

def group_name(registry, regions, group: str, key: str, lang: str) -> str:
    """Return the name of a department, district or street in `lang`."""
    if not key:
        return W(lang, "no_region")
    if group == "department":
        return department_name(registry, key, lang)
    return region_name(regions, group, key, lang)


def kpi_view_rows(kpis: Sequence[Kpi], group: str, registry, regions,
                  lang: str) -> list[dict[str, Any]]:
    """Return the KPI records as table rows, each with its name in `lang`."""
    return [{"key": k.key, "name": group_name(registry, regions, group, k.key, lang),
             **{col: getattr(k, col) for col, _ in KPI_COLUMNS}} for k in kpis]


def kpi_columns(group: str, lang: str) -> list[Column]:
    """Return the KPI table's columns: the name of the group, then the measures."""
    return [Column("name", text(lang, group), "text"),
            *(Column(col, W(lang, f"col_{col}"), kind) for col, kind in KPI_COLUMNS)]


def kpi_view(rows: Sequence[Mapping[str, Any]], group: str, sort: Mapping[str, Any] | None,
             lang: str) -> html.Div:
    """Return the sortable KPI table (low on-time closure rates in red)."""
    return kpi_table(rows, kpi_columns(group, lang), lang, sort_type=SORT_BY,
                     sort=sort or DEFAULT_SORT, empty=W(lang, "no_kpis"),
                     flag=lambda col, v: col == "on_time_rate" and v < LOW_ON_TIME)


def kpi_charts(rows: Sequence[Mapping[str, Any]], group: str,
               lang: str) -> tuple[go.Figure, go.Figure]:
    """Return (on-time closure rate, backlog) bar charts: the lowest rates and the
    biggest backlogs first, `CHART_TOP` bars each."""
    rated = sorted((r for r in rows if r["on_time_rate"] is not None),
                   key=lambda r: (r["on_time_rate"], -r["closed"]))[:CHART_TOP]
    backlog = sorted((r for r in rows if r["backlog"]),
                     key=lambda r: (-r["backlog"], r["name"]))[:CHART_TOP]
    unit = W(lang, f"unit_{group}")
    rate_fig = bar_chart([r["name"] for r in rated], [r["on_time_rate"] for r in rated],
                         title=W(lang, "chart_on_time", group=unit), kind="rate",
                         color="#1e8449", empty=W(lang, "no_kpis"))
    backlog_fig = bar_chart([r["name"] for r in backlog], [r["backlog"] for r in backlog],
                            title=W(lang, "chart_backlog", group=unit), kind="int",
                            color="#d68910", empty=W(lang, "no_kpis"))
    return rate_fig, backlog_fig


def kpi_cards(rows: Sequence[Mapping[str, Any]], lang: str) -> list[html.Div]:
    """Return the period's totals: cases, closed, backlog."""
    totals = {k: sum(r[k] for r in rows) for k in ("cases", "closed", "backlog")}
    return [html.Div([html.Div(W(lang, f"col_{k}"), className="og-label"),
                      html.Div(str(v), className="og-value", id=f"supervision-card-{k}")],
                     className="og-card") for k, v in totals.items()]


# -- the overdue list -------------------------------------------------------------------

def ladder_text(level: int, lang: str) -> str:
    """Return an escalation level as its ladder step ("1级 · 街道督办")."""
    level = max(0, min(level, len(LADDER) - 1))
    return W(lang, "level_text", level=level, who=W(lang, f"ladder_{LADDER[level]}"))


def next_step_text(step: tuple[int, datetime] | None, lang: str, tz: str) -> str:
    """Return when the ladder takes the case one step up ("" at the top or paused)."""
    if step is None:
        return W(lang, "top_step")
    level, at = step
    return W(lang, "next_step", when=local_time(at, tz), who=W(lang, f"ladder_{LADDER[level]}"))


def overdue_view(items: Sequence[Overdue], lang: str, *, tz: str, registry, regions,
                 selected: Sequence[str], can_press: bool,
                 steps: Mapping[str, tuple[int, datetime] | None]) -> html.Div:
    """Return the overdue list, most overdue first: a checkbox and a 督办 button per case."""
    if not items:
        return html.Div(W(lang, "no_overdue"), className="og-muted")
    chosen = set(selected or ())
    head = html.Tr([html.Th(""), *(html.Th(W(lang, k)) for k in (
        "col_case", "col_category", "col_lead", "col_grid", "col_state", "col_due",
        "col_overdue_by", "col_level", "col_press"))])
    body = [_overdue_row(o, lang, tz, registry, regions, o.case.case_id in chosen, can_press,
                         steps.get(o.case.case_id)) for o in items[:OVERDUE_LIMIT]]
    more = [] if len(items) <= OVERDUE_LIMIT else [html.Div(
        W(lang, "more_rows", n=OVERDUE_LIMIT, total=len(items)), className="og-muted")]
    return html.Div([html.Table([html.Thead(head), html.Tbody(body)],
                                className="og-table og-overdue-table"), *more],
                    style=SCROLL)


def _overdue_row(o: Overdue, lang: str, tz: str, registry, regions, checked: bool,
                 can_press: bool, step: tuple[int, datetime] | None) -> html.Tr:
    c = o.case
    return html.Tr([
        html.Td(dcc.Checklist([{"label": "", "value": c.case_id}],
                              [c.case_id] if checked else [], id={"type": PICK, "id": c.case_id},
                              inputStyle={"margin": 0})),
        html.Td(dcc.Link(c.case_id, href=f"/case/{c.case_id}"), style=_NOWRAP),
        html.Td(category_name(registry, c.category, lang)),
        html.Td(department_name(registry, c.department, lang)),
        html.Td(region_name(regions, "grid", c.grid_id, lang) or W(lang, "no_region")),
        html.Td(state_badge(str(c.state), lang)),
        html.Td(local_time(c.due_at, tz), style=_NOWRAP),
        html.Td(duration_text(o.overdue_s, lang), className="og-overdue"),
        html.Td([html.Div(ladder_text(c.escalation_level, lang)),
                 html.Div(next_step_text(step, lang, tz), className="og-muted")]),
        html.Td(html.Button(text(lang, "action_press"), id={"type": PRESS_ONE, "id": c.case_id},
                            n_clicks=0, disabled=not can_press, className="og-danger",
                            style=_NOWRAP)),
    ])
