"""Views of the grid worker's phone page: task cards, cards to verify, the action sheet's
parts, the patrol report's location line, and the page's words.

Pure: rows from `queries.worker` in, Dash components out. A card's buttons
carry pattern-matching ids ({"type": ACT, "id": case id, "action": ..., "seq":
the case's seq as shown}), so one callback serves every card and the command
can carry the seq the worker saw (`expected_seq`). Which buttons a card has
is decided by the page (`actions.refusal`); this module only draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from dash import html

from onegrid.alerts.cases import CLOCKED, CaseState
from onegrid.dashboard.i18n import COMMON, Words
from onegrid.dashboard.views.format import (
    category_name,
    countdown,
    local_time,
    region_name,
    state_badge,
)

ACT: Final = "worker-act"  # pattern-matching id type of a card's buttons

W: Final = Words({
    "zh": {
        "tasks": "我的任务", "verify": "待核查", "report": "巡查上报",
        "tasks_head": "{where}：在办 {n} 件，超期 {late} 件",
        "verify_head": "{where}：待核查 {n} 件（他人办结）",
        "no_tasks": "本网格暂无在办任务。", "no_verify": "本社区暂无待核查工单。",
        "more": "仅显示前 {n} 件。", "created_at": "受理 {at}", "resolved_by": "{who} 于 {at} 办结",
        "no_address": "（无地址）", "outside_city": "城区外",
        "sheet_resolve": "办结：{title}", "sheet_verify": "核查：{title}",
        "note_required": "请填写处置说明（办结必填）。", "note_optional": "核查意见（选填）",
        "note_label": "处置说明（必填）",
        "note_hint": "现场情况、处置结果…", "ready": "可以提交。",
        "confirm_resolve": "确认办结", "confirm_verify": "确认核查通过",
        "photo_pick": "拍照或选择照片（JPEG/PNG/WebP，≤ 5 MB）",
        "photo_kept": "已附照片", "photo_no_media": "本节点未配置照片目录，无法保存照片。",
        "photo_not_image": "这不是可用的图片（请用 JPEG、PNG、GIF 或 WebP）。",
        "photo_too_big": "照片超过 5 MB，请压缩后重试。",
        "category_pick": "选择事项", "description": "情况描述",
        "description_hint": "发现了什么、在哪里、影响多大…", "address": "地址（选填）",
        "address_hint": "如：XX路XX号门口",
        "sev_1": "一般", "sev_2": "较急", "sev_3": "紧急", "sev_4": "特急",
        "locate": "重新定位", "locating": "正在获取定位…",
        "located": "当前位置 {lat}, {lng}（±{acc} 米）· {where}",
        "located_outside": "当前位置 {lat}, {lng} 不在本市网格内",
        "not_mine": "（不在您的责任网格）",
        "no_fix_denied": "定位被拒绝，将使用 {where} 的中心位置。",
        "no_fix": "无法获取定位，将使用 {where} 的中心位置。",
        "submit": "上报", "report_needs_category": "请选择事项。",
        "report_sent": "已上报 {id}（{category}，{lat}, {lng}），等待受理…",
        "at_centre": "（未获定位，按网格中心上报）",
        "report_opened": "已受理：新立工单 {case}（{title}）",
        "report_joined": "已受理：并入工单 {case}（{title}），同类事件已在处置",
        "report_no_answer": "已上报 {id}，尚未受理；稍后在“我的任务”中查看。",
        "report_too_long": "描述过长（最多 4000 字）。",
    },
    "en": {
        "tasks": "My tasks", "verify": "To verify", "report": "Patrol report",
        "tasks_head": "{where}: {n} open, {late} overdue",
        "verify_head": "{where}: {n} to verify (resolved by others)",
        "no_tasks": "No open tasks in your grid.",
        "no_verify": "Nothing to verify in your community.",
        "more": "Showing the first {n}.", "created_at": "taken in {at}",
        "resolved_by": "resolved by {who} at {at}", "no_address": "(no address)",
        "outside_city": "outside the city",
        "sheet_resolve": "Resolve: {title}", "sheet_verify": "Verify: {title}",
        "note_required": "Write a note (required to resolve).",
        "note_optional": "Verification note (optional)", "note_label": "Note (required)",
        "note_hint": "What you found, what was done…", "ready": "Ready to send.",
        "confirm_resolve": "Resolve", "confirm_verify": "Verify",
        "photo_pick": "Take or pick a photo (JPEG/PNG/WebP, ≤ 5 MB)",
        "photo_kept": "Photo attached",
        "photo_no_media": "This node keeps no photos; the photo cannot be saved.",
        "photo_not_image": "This is not a usable image (use JPEG, PNG, GIF or WebP).",
        "photo_too_big": "The photo is over 5 MB; shrink it and retry.",
        "category_pick": "Pick a category", "description": "Description",
        "description_hint": "What, where, how bad…", "address": "Address (optional)",
        "address_hint": "e.g. gate of No. 12, X Road",
        "sev_1": "low", "sev_2": "medium", "sev_3": "high", "sev_4": "critical",
        "locate": "Locate again", "locating": "Finding your location…",
        "located": "You are at {lat}, {lng} (±{acc} m) · {where}",
        "located_outside": "You are at {lat}, {lng}, outside the city's grids",
        "not_mine": " (not your grid)",
        "no_fix_denied": "Location denied; the centre of {where} will be used.",
        "no_fix": "No location available; the centre of {where} will be used.",
        "submit": "Report", "report_needs_category": "Pick a category.",
        "report_sent": "Reported {id} ({category}, {lat}, {lng}); waiting for intake…",
        "at_centre": " (no location: placed at the grid's centre)",
        "report_opened": "Taken in: new case {case} ({title})",
        "report_joined": "Taken in: joined case {case} ({title}), already being handled",
        "report_no_answer": "Reported {id}; not taken in yet. Look in My tasks shortly.",
        "report_too_long": "The description is too long (4000 characters at most).",
    },
}, base=COMMON)

_RUNNING: Final = CLOCKED | {CaseState.ARBITRATION}  # states whose time limit counts down


def region_label(regions, actor, lang: str) -> str:
    """Return the name of the actor's grid (a grid chief: their community)."""
    level = "community" if actor.is_chief else "grid"
    return region_name(regions, level, actor.region_id, lang)


def case_heading(case: Mapping[str, Any], registry, lang: str) -> str:
    """Return a case's title in `lang`: the title the engine gave it ("井盖缺失 · grid"),
    said in `lang` when it is that automatic one, else the title as written."""
    title = case.get("title") or ""
    cat = registry.categories.get(case.get("category") or "")
    if cat is None:
        return title or str(case.get("category") or "")
    place = case.get("grid_id") or ""
    if not title or title in (f"{cat.name_zh} · {place}", f"{cat.name_zh} · 城区外"):
        where = place or W(lang, "outside_city")
        return f"{category_name(registry, cat.code, lang)} · {where}"
    return title


def task_card(case: Mapping[str, Any], allowed: Sequence[str], lang: str, *, tz: str,
              now: datetime, registry, regions) -> html.Div:
    """Return one task's card: title, category, state, where, time limit, its buttons."""
    text, overdue = countdown(case.get("due_at"), now, lang,
                              running=case["state"] in _RUNNING)
    return _card(case, allowed, lang, registry, regions, [
        html.Div(text, className="og-w-due og-overdue" if overdue else "og-w-due"),
        html.Div(W(lang, "created_at", at=local_time(case.get("created_at"), tz)),
                 className="og-muted"),
    ], overdue)


def verify_card(case: Mapping[str, Any], allowed: Sequence[str], lang: str, *, tz: str,
                registry, regions) -> html.Div:
    """Return a card of a resolved case to verify: who resolved it and when."""
    return _card(case, allowed, lang, registry, regions, [
        html.Div(W(lang, "resolved_by", who=case.get("handler") or "",
                   at=local_time(case.get("resolved_at"), tz)), className="og-muted"),
    ], False)


def _card(case: Mapping[str, Any], allowed: Sequence[str], lang: str, registry, regions,
          lines: list, overdue: bool) -> html.Div:
    category = category_name(registry, case.get("category"), lang)
    sev = case.get("severity") or 1
    where = [case.get("address") or W(lang, "no_address"), " · ",
             region_name(regions, "grid", case.get("grid_id"), lang)]
    buttons = [html.Button(W(lang, f"action_{a}"), n_clicks=0,
                           className=f"og-w-act og-w-act-{a}",
                           id={"type": ACT, "id": case["case_id"], "action": a,
                               "seq": int(case.get("seq") or 0)}) for a in allowed]
    return html.Div([
        html.Div([html.Span(case_heading(case, registry, lang), className="og-w-title"),
                  state_badge(case["state"], lang)], className="og-w-head"),
        html.Div([html.Span(category), " · ",
                  html.Span(W(lang, f"sev_{min(max(int(sev), 1), 4)}"),
                            className=f"og-sev-{sev}"),
                  html.Span(case["case_id"], className="og-w-id")], className="og-w-meta"),
        html.Div(where, className="og-w-where"),
        *lines,
        html.Div(buttons, className="og-w-actions") if buttons else None,
    ], className="og-task og-w-late" if overdue else "og-task")


def task_list(cases: Sequence[Mapping[str, Any]], allowed: Mapping[str, Sequence[str]],
              lang: str, *, where: str, limit: int, tz: str, now: datetime, registry,
              regions) -> list:
    """Return the task list: a head line (how many, how many overdue) and the cards."""
    late = sum(1 for c in cases if c.get("overdue"))
    head = html.Div(W(lang, "tasks_head", where=where, n=len(cases), late=late),
                    className="og-w-listhead")
    if not cases:
        return [head, html.Div(W(lang, "no_tasks"), className="og-w-empty")]
    cards = [task_card(c, allowed.get(c["case_id"], ()), lang, tz=tz, now=now,
                       registry=registry, regions=regions) for c in cases]
    return [head, *cards, _more(len(cases), limit, lang)]


def verify_list(cases: Sequence[Mapping[str, Any]], allowed: Mapping[str, Sequence[str]],
                lang: str, *, where: str, limit: int, tz: str, registry, regions) -> list:
    """Return the list of cases to verify with its head line."""
    head = html.Div(W(lang, "verify_head", where=where, n=len(cases)), className="og-w-listhead")
    if not cases:
        return [head, html.Div(W(lang, "no_verify"), className="og-w-empty")]
    cards = [verify_card(c, allowed.get(c["case_id"], ()), lang, tz=tz, registry=registry,
                         regions=regions) for c in cases]
    return [head, *cards, _more(len(cases), limit, lang)]


def _more(n: int, limit: int, lang: str):
    return html.Div(W(lang, "more", n=limit), className="og-muted") if n >= limit else None


def photo_status(lang: str, url: str | None = None, refused: str | None = None) -> list:
    """Return what the photo field shows: the attached photo, or why it was refused."""
    if refused:
        return [html.Span(W(lang, f"photo_{refused}"), className="og-refused")]
    if url:
        return [html.Img(src=url, alt=W(lang, "photo_kept"), className="og-w-thumb"),
                html.Span(W(lang, "photo_kept"), className="og-applied")]
    return []


def sheet_title(case: Mapping[str, Any] | None, action: str | None, lang: str, registry) -> str:
    """Return the action sheet's title for a case (empty when there is none)."""
    if not case or action not in ("resolve", "verify"):
        return ""
    title = case_heading(case, registry, lang)
    return W(lang, f"sheet_{action}", title=f"{title} · {case['case_id']}")


def category_options(registry, lang: str) -> list[dict[str, str]]:
    """Return the category catalogue as dropdown options, named in `lang`."""
    return [{"label": category_name(registry, code, lang), "value": code}
            for code in registry.categories]


def severity_options(lang: str) -> list[dict[str, Any]]:
    """Return the severities 1-4 as radio options."""
    return [{"label": W(lang, f"sev_{s}"), "value": s} for s in (1, 2, 3, 4)]
