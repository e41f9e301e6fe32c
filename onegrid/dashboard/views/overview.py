"""Views of the command map's side panel: status cards, the alert queue, what a click
picked (a cell, an alert and why it fired, a case, a report), and the dispatch form.

Pure: rows from `queries` in, Dash components out. Buttons carry
pattern-matching ids ({"type": ..., "id": ...}) so one callback serves every
row of a list; the page owns those callbacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from dash import dcc, html

from onegrid.dashboard.i18n import COMMON, Words, text
from onegrid.dashboard.views.format import (
    alert_badge,
    category_name,
    countdown,
    department_name,
    duration_text,
    local_time,
    plain,
    region_name,
    state_badge,
)

W: Final = Words({
    "zh": {
        "events_stored": "已入库事件", "dead_letters": "死信", "last_minute": "近1分钟入库",
        "firing": "告警中", "open_cases": "在办工单", "overdue_cases": "超期工单",
        "queue": "告警队列", "details": "详情", "dispatch": "派单",
        "show": "定位", "ack": "确认告警", "open_case": "立案派单", "dispatch_btn": "派单",
        "details_btn": "查看详情", "acked_by": "{who} 已确认", "since": "持续", "acked": "确认人",
        "pick_alert": "在告警队列中点选一条告警，或点击地图。",
        "picked": "已选：{rule} · {grid}",
        "no_alerts": "暂无告警。", "pick_hint": "点击地图上的网格单元、告警或工单查看详情。",
        "cell_title": "网格单元 {cell}（H3 第{res}级）", "stats": "统计（所选时间范围）",
        "metric": "指标", "count": "条数", "mean": "均值", "max": "最大",
        "recent": "最近事件", "grid_workers_of": "{grid} 的网格员",
        "why": "为什么告警", "rule": "规则", "level": "级别", "value": "数值",
        "threshold": "阈值", "started": "开始", "evidence": "依据事件",
        "history": "状态变化", "silenced": "已静默（记录保留）",
        "case_link": "打开工单 {case}", "in_case": "已立案：{case}",
        "report": "事件上报", "time": "时间", "description": "描述", "address": "地址",
        "dispatch_hint": "先在地图或告警队列中选择一条告警或工单。",
        "dispatch_alert": "由告警立案并派单：{alert}", "dispatch_case": "派单：{case}",
        "suggested": "（建议）", "remit_ok": "权责清单覆盖此事项。",
        "remit_no": "该部门权责清单不含此事项：{why}", "override": "越权派单（需说明原因）",
        "outside_remit": "（清单外）", "measure_events": "事件数",
        "measure_incidents": "事件上报", "measure_aqi": "空气质量指数AQI",
        "measure_alerts": "告警", "measure_cases": "在办工单",
        "window_15": "近15分钟", "window_60": "近1小时", "window_1440": "近24小时",
        "layer_incidents": "事件点", "layer_alerts": "告警点", "layer_cases": "工单点",
        "layer_district": "区界", "layer_street": "街道界", "layer_community": "社区界",
        "layer_grid": "网格界", "measure": "图层", "window": "时间范围", "layers": "显示",
        "resolution": "H3 第{res}级", "cell_hover": "网格单元", "no_location": "无位置",
        "basis": "判定依据", "basis_stat": "{metric} {window}{stat}",
        "basis_rate": "{metric} {window}内的升幅（末段减首段）",
        "basis_nodata": "设备 {window} 无数据",
        "basis_count": "{window}内本单元及周边 {ring} 圈的上报数",
        "basis_forecast": "{metric} 预警：按近{window}趋势外推 {horizon}，升速不低于 {rate}/小时",
        "stat_mean": "均值", "stat_max": "最大值", "stat_min": "最小值", "stat_sum": "累计",
        "stat_count": "条数", "decided": "判定时机", "decided_every": "按事件时间每{every}判定一次",
        "decided_arrival": "数据到达即判定",
    },
    "en": {
        "events_stored": "Events stored", "dead_letters": "Dead letters",
        "last_minute": "Stored last minute", "firing": "Firing alerts",
        "open_cases": "Open cases", "overdue_cases": "Overdue cases",
        "queue": "Alert queue", "details": "Details", "dispatch": "Dispatch",
        "show": "Show", "ack": "Acknowledge", "open_case": "Open case and dispatch",
        "dispatch_btn": "Dispatch", "details_btn": "Details",
        "acked_by": "acknowledged by {who}", "no_alerts": "No alerts.", "since": "For",
        "acked": "Acknowledged by",
        "pick_alert": "Click an alert in the queue, or a place on the map.",
        "picked": "Picked: {rule} · {grid}",
        "pick_hint": "Click a cell, an alert or a case on the map to see it here.",
        "cell_title": "Cell {cell} (H3 res {res})", "stats": "Statistics (chosen window)",
        "metric": "Metric", "count": "Count", "mean": "Mean", "max": "Max",
        "recent": "Recent events", "grid_workers_of": "Grid workers of {grid}",
        "why": "Why did this fire", "rule": "Rule", "level": "Level", "value": "Value",
        "threshold": "Threshold", "started": "Started", "evidence": "Evidence",
        "history": "History", "silenced": "Silenced (kept on record)",
        "case_link": "Open case {case}", "in_case": "In case {case}",
        "report": "Report", "time": "Time", "description": "Description",
        "address": "Address",
        "dispatch_hint": "Pick an alert or a case on the map or in the alert queue first.",
        "dispatch_alert": "Open a case from alert {alert} and dispatch it",
        "dispatch_case": "Dispatch case {case}", "suggested": " (suggested)",
        "remit_ok": "The remit list covers this category here.",
        "remit_no": "Outside this department's remit: {why}",
        "override": "Override the remit (give a reason)", "outside_remit": " (outside remit)",
        "measure_events": "Events", "measure_incidents": "Reports", "measure_aqi": "AQI",
        "measure_alerts": "Alerts", "measure_cases": "Open cases",
        "window_15": "Last 15 min", "window_60": "Last 1 h", "window_1440": "Last 24 h",
        "layer_incidents": "Reports", "layer_alerts": "Alerts", "layer_cases": "Cases",
        "layer_district": "Districts", "layer_street": "Streets",
        "layer_community": "Communities", "layer_grid": "Grids", "measure": "Layer",
        "window": "Window", "layers": "Show", "resolution": "H3 res {res}",
        "cell_hover": "Cell", "no_location": "no location",
        "basis": "Basis", "basis_stat": "{stat} of {metric} over {window}",
        "basis_rate": "rise of {metric} over {window} (last bucket minus first)",
        "basis_nodata": "device silent for {window}",
        "basis_count": "reports in the cell and {ring} rings around it over {window}",
        "basis_forecast": "early warning for {metric}: the {window} trend read {horizon} "
                          "ahead, rising at least {rate}/h",
        "stat_mean": "mean", "stat_max": "max", "stat_min": "min", "stat_sum": "sum",
        "stat_count": "count", "decided": "Decided", "decided_every": "every {every} of event time",
        "decided_arrival": "as its data arrive",
    },
}, base=COMMON)

SHOW: Final = "map-show"  # pattern-matching id type of a cell panel's "show this alert"


def status_cards(figures: Mapping[str, int | None], lang: str) -> list[html.Div]:
    """Return the status strip: events, dead letters, last minute, alerts, cases, overdue."""
    keys = ("events_stored", "dead_letters", "last_minute", "firing", "open_cases",
            "overdue_cases")
    values = (figures.get("events"), figures.get("dead_letters"), figures.get("last_minute"),
              figures.get("firing"), figures.get("open_cases"), figures.get("overdue"))
    return [html.Div([html.Div(W(lang, k), className="og-label"),
                      html.Div(f"{v:,}", className="og-value"
                               + (" og-overdue" if k == "overdue_cases" and v else ""))],
                     className="og-card")
            for k, v in zip(keys, values, strict=True) if v is not None]


def rule_label(rules: Mapping[str, Any], rule_id: str, lang: str) -> str:
    """Return a rule's title in `lang` (its id when it has none)."""
    rule = rules.get(rule_id)
    if rule is None:
        return rule_id
    return (rule.title_en if lang == "en" else rule.title_zh) or rule_id


QUEUE_COLUMNS: Final = ("state", "rule", "value", "grid", "since", "case", "acked")


def queue_columns(lang: str) -> list[dict[str, str]]:
    """Return the alert queue table's columns in `lang`."""
    names = {"state": text(lang, "state"), "rule": W(lang, "rule"), "value": W(lang, "value"),
             "grid": text(lang, "grid"), "since": W(lang, "since"),
             "case": text(lang, "case"), "acked": W(lang, "acked")}
    return [{"id": c, "name": names[c]} for c in QUEUE_COLUMNS]


def alert_queue_rows(rows: Sequence[Mapping[str, Any]], lang: str, *, now: datetime,
                     rules: Mapping[str, Any], regions) -> list[dict[str, Any]]:
    """Return the alert queue's rows: state, rule and level, value against threshold,
    where, for how long, its case and who acknowledged it; `id` is the alert id (the
    table keeps the selection by it while rows come and go)."""
    out = []
    for a in rows:
        level = f" · {a['level']}" if a.get("level") and a["level"] != "alert" else ""
        out.append({
            "id": a["alert_id"], "state_code": a["state"], "severity": a.get("severity") or 1,
            "state": text(lang, f"alert_{a['state']}"),
            "rule": rule_label(rules, a["rule_id"], lang) + level,
            "value": f"{plain(a.get('value'))} / {plain(a.get('threshold'))}",
            "grid": region_name(regions, "grid", a.get("grid_id"), lang) or "—",
            "since": duration_text((now - a["started_at"]).total_seconds(), lang),
            "case": a.get("case_id") or "", "acked": a.get("acked_by") or ""})
    return out


def picked_alert_line(alert: Mapping[str, Any] | None, lang: str, rules, regions) -> str:
    """Return the action bar's line for the picked alert ("" when none is picked)."""
    if alert is None:
        return W(lang, "pick_alert")
    where = region_name(regions, "grid", alert.get("grid_id"), lang) or "—"
    return W(lang, "picked", rule=rule_label(rules, alert["rule_id"], lang), grid=where)


def cell_panel(detail: Mapping[str, Any], lang: str, *, tz: str, registry, regions,
               workers: Mapping[str, Sequence[Any]]) -> list:
    """Return what one cell holds: statistics, its grids and grid workers, alerts, cases,
    and its newest events (reporters masked by the query)."""
    out: list = [html.H3(W(lang, "cell_title", cell=f"{detail['cell']:x}", res=detail["res"]))]
    if detail["stats"]:
        out.append(html.Div(W(lang, "stats"), className="og-label"))
        out.append(_table([W(lang, "metric"), W(lang, "count"), W(lang, "mean"),
                           W(lang, "max")],
                          [[_metric_name(registry, s["metric"], lang), s["n"], plain(s["mean"]),
                            plain(s["max"])] for s in detail["stats"]]))
    for grid in detail["grids"][:3]:
        names = ", ".join(f"{w.name} ({w.actor_id})" for w in workers.get(grid, ())) or \
            text(lang, "none")
        out.append(html.Div([html.B(W(lang, "grid_workers_of",
                                      grid=region_name(regions, "grid", grid, lang))),
                             html.Span(f" {names}")], className="og-row"))
    if detail["alerts"]:
        out.append(html.Div(text(lang, "alerts"), className="og-label"))
        out += [html.Div([alert_badge(a["state"], lang), f" {a['rule_id']} ",
                          html.Button(W(lang, "show"), id={"type": SHOW, "id": a["alert_id"]},
                                      className="og-secondary", n_clicks=0)],
                         className="og-row") for a in detail["alerts"]]
    if detail["cases"]:
        out.append(html.Div(text(lang, "cases"), className="og-label"))
        out += [html.Div([state_badge(c["state"], lang), " ",
                          dcc.Link(c["case_id"], href=f"/case/{c['case_id']}"),
                          f" {category_name(registry, c['category'], lang)}"],
                         className="og-row") for c in detail["cases"]]
    if detail["events"]:
        out.append(html.Div(W(lang, "recent"), className="og-label"))
        out.append(_table([W(lang, "time"), text(lang, "source"), W(lang, "value"),
                           text(lang, "reporter")],
                          [[local_time(e["ts"], tz, "%H:%M:%S"), _event_source(e, registry, lang),
                            _event_value(e), _reporter(e)] for e in detail["events"]]))
    return out


def rule_basis(rule, lang: str) -> str:
    """Return what a rule measures, in its kind's own terms (a forecast is not a window's
    statistic, a silence not a value)."""
    metric = rule.metric or ""
    window = duration_text(rule.window_s, lang)
    if rule.kind == "forecast":
        return W(lang, "basis_forecast", metric=metric, window=window,
                 horizon=duration_text(rule.horizon_s, lang), rate=plain(rule.min_rate))
    if rule.kind == "rate":
        return W(lang, "basis_rate", metric=metric, window=window)
    if rule.kind == "nodata":
        return W(lang, "basis_nodata", window=window)
    if rule.kind == "count":
        return W(lang, "basis_count", window=window, ring=rule.ring_k)
    return W(lang, "basis_stat", stat=W(lang, f"stat_{rule.stat}"), metric=metric,
             window=window)


def rule_cadence(rule, lang: str) -> str:
    """Return when a rule is decided: every `every` of event time, or as its data arrive
    (what lets an operator read why an alert started up to `every` after its value)."""
    if not rule.every_s:
        return W(lang, "decided_arrival")
    every = (f"{rule.every_s}秒" if lang != "en" else f"{rule.every_s} s") \
        if rule.every_s < 60 or rule.every_s % 60 else duration_text(rule.every_s, lang)
    return W(lang, "decided_every", every=every)


def alert_panel(alert: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
                evidence: Sequence[Mapping[str, Any]], lang: str, *, tz: str, rules,
                regions) -> list:
    """Return why an alert fired: the rule, the statistic against its threshold, the
    window, the events that made the value, and its history."""
    rule = rules.get(alert["rule_id"])
    rows = [[W(lang, "rule"), f"{rule_label(rules, alert['rule_id'], lang)} "
                              f"({alert['rule_id']} v{alert.get('rule_version') or ''})"],
            [W(lang, "level"), alert.get("level") or ""],
            [W(lang, "value"), plain(alert.get("value"))],
            [W(lang, "threshold"), plain(alert.get("threshold"))],
            [W(lang, "started"), local_time(alert["started_at"], tz)],
            [text(lang, "grid"), region_name(regions, "grid", alert.get("grid_id"), lang)]]
    if rule is not None:
        rows.append([W(lang, "basis"), rule_basis(rule, lang)])
        rows.append([W(lang, "decided"), rule_cadence(rule, lang)])
    out: list = [html.H3([alert_badge(alert["state"], lang), " ", W(lang, "why")]),
                 _table(["", ""], rows)]
    if alert.get("silenced"):
        out.append(html.Div(W(lang, "silenced"), className="og-muted"))
    if alert.get("case_id"):
        out.append(dcc.Link(W(lang, "case_link", case=alert["case_id"]),
                            href=f"/case/{alert['case_id']}"))
    values = dict(zip(alert.get("evidence") or [], alert.get("evidence_values") or [],
                      strict=False))
    if evidence:
        out.append(html.Div(W(lang, "evidence"), className="og-label"))
        out.append(_table([W(lang, "time"), "id", W(lang, "value")],
                          [[local_time(e["ts"], tz, "%H:%M:%S"), e["id"],
                            plain(values.get(e["id"], _event_value(e)))] for e in evidence]))
    if history:
        out.append(html.Div(W(lang, "history"), className="og-label"))
        out.append(_table([W(lang, "time"), text(lang, "state"), W(lang, "value")],
                          [[local_time(h["at"], tz, "%H:%M:%S"),
                            f"{h.get('previous') or '—'} → {h['state']} {h.get('level') or ''}",
                            plain(h.get("value"))] for h in history]))
    return out


def case_panel(case: Mapping[str, Any], lang: str, *, tz: str, now: datetime, registry,
               regions) -> list:
    """Return a case's summary and a link to its page."""
    due, overdue = countdown(case.get("due_at"), now, lang)
    return [html.H3([state_badge(case["state"], lang), f" {case['case_id']}"]),
            _table(["", ""], [
                [text(lang, "category"), category_name(registry, case["category"], lang)],
                [text(lang, "lead"), department_name(registry, case.get("department"), lang)],
                [text(lang, "grid"), region_name(regions, "grid", case.get("grid_id"), lang)],
                [text(lang, "due"), html.Span(due, className="og-overdue" if overdue else "")],
            ]),
            dcc.Link(W(lang, "case_link", case=case["case_id"]),
                     href=f"/case/{case['case_id']}")]


def report_panel(event: Mapping[str, Any], lang: str, *, tz: str, registry) -> list:
    """Return one incident report (reporter masked by the query)."""
    return [html.H3(W(lang, "report")), _table(["", ""], [
        [W(lang, "time"), local_time(event["ts"], tz, "%m-%d %H:%M:%S")],
        [text(lang, "category"), category_name(registry, event.get("category"), lang)],
        [text(lang, "source"), _source_name(event.get("source"), lang)],
        [W(lang, "description"), event.get("description") or ""],
        [W(lang, "address"), event.get("address") or ""],
        [text(lang, "reporter"), _reporter(event)],
    ])]


def department_options(registry, candidates: Sequence[tuple[str, bool]], suggested: str | None,
                       lang: str) -> list[dict[str, Any]]:
    """Return dropdown options for a dispatch: (dept id, remit covers) pairs, the
    suggested one first and marked, those outside the remit marked."""
    options = []
    for dept, covers in candidates:
        label = department_name(registry, dept, lang)
        if dept == suggested:
            label += W(lang, "suggested")
        elif not covers:
            label += W(lang, "outside_remit")
        options.append({"label": label, "value": dept})
    options.sort(key=lambda o: (o["value"] != suggested, o["label"]))
    return options


def _metric_name(registry, metric: str, lang: str) -> str:
    if metric.startswith("incident:"):
        return category_name(registry, metric.split(":", 1)[1], lang)
    m = registry.metrics.get(metric)
    if m is not None:
        return f"{m.name_en if lang == 'en' else m.name_zh} ({m.unit})"
    return metric


def _event_source(e: Mapping[str, Any], registry, lang: str) -> str:
    if e.get("topic") == "incident":
        return f"{category_name(registry, e.get('category'), lang)} · " \
               f"{_source_name(e.get('source'), lang)}"
    return e.get("source_id") or e.get("topic") or ""


def _source_name(source: str | None, lang: str) -> str:
    if not source:
        return ""
    try:
        return text(lang, f"source_{source}")
    except KeyError:
        return source


def _event_value(e: Mapping[str, Any]) -> str:
    if e.get("value") is not None:
        return plain(e["value"])
    if e.get("pm25") is not None:
        return f"PM2.5 {plain(e['pm25'])}"
    return (e.get("description") or "")[:40]


def _reporter(e: Mapping[str, Any]) -> str:
    name, phone = e.get("reporter_name"), e.get("reporter_phone")
    return " ".join(x for x in (name, phone) if x)


def _table(head: Sequence[str], rows: Sequence[Sequence[Any]]) -> html.Table:
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in head])) if any(head) else None,
                       html.Tbody([html.Tr([html.Td(c) for c in r]) for r in rows])],
                      className="og-table")
