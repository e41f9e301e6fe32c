"""The dashboard's words in Chinese and English, from the glossary.

Every piece of UI text is looked up by a short key, so the 中文/English
switch is a dictionary swap and a term reads the same on every page. This
module holds the shared vocabulary (product, navigation, roles, case states
and actions, common buttons and messages); each page keeps its own words in a
`Words` table that falls back to these. Chinese is the default language.
Names of categories, departments, regions and stations come bilingual from
the city's registers, not from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

LANGUAGES: Final = ("zh", "en")
DEFAULT_LANGUAGE: Final = "zh"
LANGUAGE_LABELS: Final = {"zh": "中文", "en": "English"}


class Words:
    """A page's text by language and key, falling back to a shared table.

    `words(lang, key, **values)` returns the text with `{name}` fields filled.
    An unknown language reads Chinese; an unknown key raises KeyError (a
    test walks every page, so a missing word is found before a user sees it).
    """

    def __init__(self, table: Mapping[str, Mapping[str, str]], base: Words | None = None):
        self.table = {lang: dict(table.get(lang, {})) for lang in LANGUAGES}
        self.base = base

    def __call__(self, lang: str | None, key: str, **values: object) -> str:
        lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
        text = self.table[lang].get(key)
        if text is None:
            if self.base is None:
                raise KeyError(f"no {lang} text for {key!r}")
            return self.base(lang, key, **values)
        return text.format(**values) if values else text

    def keys(self, lang: str) -> set[str]:
        """Return the keys this table defines in `lang` (not the shared ones)."""
        return set(self.table[lang])


COMMON: Final = Words({
    "zh": {
        "product": "一网统管",
        "title": "城运总览",
        "sign_in": "登录",
        "sign_out": "退出",
        "user": "账号",
        "password": "密码",
        "bad_login": "账号或密码不正确。",
        "signed_in_as": "{name}（{role}）",
        "not_allowed_page": "您的角色无权查看此页面。",
        "not_found_page": "没有这个页面。",
        "error": "数据暂时无法读取，稍后自动重试。",
        "action_error": "操作未能发送：{reason}",
        "read_only": "本节点未连接 Kafka，只能查看，不能操作。",
        "loading": "加载中…",
        "sent": "已发送，等待处理…",
        "applied": "已处理：{action}",
        "refused": "被拒绝：{reason}",
        "no_answer": "已发送，尚未收到处理结果；稍后刷新查看。",
        "nav_map": "城运总览",
        "nav_dispatch": "工单派单",
        "nav_worker": "网格员",
        "nav_environment": "生态环境",
        "nav_supervision": "督办考核",
        "role_command": "指挥中心",
        "role_department": "职能部门",
        "role_grid_worker": "网格员",
        "role_env_officer": "环保人员",
        "role_admin": "管理员",
        "role_supervisor": "监督",
        "state_suggested": "建议立案",
        "state_new": "受理",
        "state_dispatched": "已派单",
        "state_accepted": "已签收",
        "state_in_progress": "处置中",
        "state_resolved": "已办结",
        "state_verified": "已核查",
        "state_closed": "已结案",
        "state_returned": "已退单",
        "state_arbitration": "待仲裁",
        "state_reopened": "已重办",
        "state_dismissed": "不予立案",
        "action_open": "立案",
        "action_approve": "批准立案",
        "action_dismiss": "不予立案",
        "action_dispatch": "派单",
        "action_override": "越权派单",
        "action_accept": "签收",
        "action_start": "开始处置",
        "action_resolve": "办结",
        "action_verify": "核查通过",
        "action_close": "结案",
        "action_return": "退单",
        "action_arbitrate": "仲裁派单",
        "action_reopen": "重办",
        "action_escalate": "升级",
        "action_press": "督办",
        "action_merge": "合并",
        "action_split": "拆分",
        "action_comment": "备注",
        "action_feedback": "回访",
        "action_step": "预案步骤",
        "action_notify": "联动通知",
        "action_join": "并案",
        "action_acknowledge": "确认告警",
        "alert_pending": "待确认",
        "alert_firing": "告警中",
        "alert_resolved": "已恢复",
        "note": "处置说明",
        "reason": "原因",
        "photo": "现场照片",
        "send": "发送",
        "cancel": "取消",
        "refresh": "刷新",
        "case": "工单",
        "cases": "工单",
        "alert": "告警",
        "alerts": "告警",
        "grid": "网格",
        "community": "社区",
        "street": "街道",
        "district": "区",
        "department": "职能部门",
        "lead": "主办单位",
        "assisting": "协办单位",
        "category": "事项",
        "severity": "紧急程度",
        "state": "状态",
        "created": "受理时间",
        "due": "处置时限",
        "overdue": "超期",
        "remaining": "剩余",
        "handler": "处置人",
        "grid_workers": "网格员",
        "none": "无",
        "updated": "更新于",
        "reporter": "反映人",
        "source": "来源",
        "source_hotline": "12345热线",
        "source_patrol": "巡查上报",
        "source_video": "视频识别",
        "source_app": "随申拍",
        "source_sensor": "感知设备",
        "masked": "（已脱敏）",
        "code_unknown_case": "没有这个工单，请刷新",
        "code_unknown_actor": "账号不在人员名册中",
        "code_not_allowed": "无权执行此操作",
        "code_bad_state": "工单当前状态不允许此操作",
        "code_stale": "工单已被他人处理，请刷新后重试",
        "code_remit_refused": "该部门权责清单不含此事项",
        "code_missing_reason": "请填写原因",
        "code_missing_field": "缺少必填内容",
        "code_unknown_department": "没有这个部门",
        "code_unknown_category": "没有这个事项",
        "code_out_of_area": "位置不在本市网格内",
        "code_self_verify": "处置人不能核查自己办结的工单",
        "code_no_plan": "该工单没有应急预案",
        "code_unknown_step": "预案中没有这个步骤",
        "code_bad_merge": "不能合并这些工单",
        "code_bad_split": "不能这样拆分",
        "code_unknown_alert": "没有这条告警，请刷新",
        "code_read_only": "本节点只能查看",
        "code_send_failed": "发送失败",
    },
    "en": {
        "product": "One network manages the whole city",
        "title": "City overview",
        "sign_in": "Sign in",
        "sign_out": "Sign out",
        "user": "Account",
        "password": "Password",
        "bad_login": "Wrong account or password.",
        "signed_in_as": "{name} ({role})",
        "not_allowed_page": "Your role may not open this page.",
        "not_found_page": "There is no such page.",
        "error": "The data cannot be read just now; retrying automatically.",
        "action_error": "The action was not sent: {reason}",
        "read_only": "This node has no Kafka connection: you can look, not act.",
        "loading": "Loading…",
        "sent": "Sent; waiting for the engine…",
        "applied": "Done: {action}",
        "refused": "Refused: {reason}",
        "no_answer": "Sent; no answer yet. Refresh in a moment.",
        "nav_map": "City overview",
        "nav_dispatch": "Dispatch",
        "nav_worker": "Grid worker",
        "nav_environment": "Environment",
        "nav_supervision": "Supervision",
        "role_command": "command centre",
        "role_department": "department",
        "role_grid_worker": "grid worker",
        "role_env_officer": "environmental officer",
        "role_admin": "administrator",
        "role_supervisor": "supervisor",
        "state_suggested": "Suggested",
        "state_new": "Taken in",
        "state_dispatched": "Dispatched",
        "state_accepted": "Accepted",
        "state_in_progress": "In progress",
        "state_resolved": "Resolved",
        "state_verified": "Verified",
        "state_closed": "Closed",
        "state_returned": "Returned",
        "state_arbitration": "Arbitration",
        "state_reopened": "Reopened",
        "state_dismissed": "Dismissed",
        "action_open": "Open case",
        "action_approve": "Approve",
        "action_dismiss": "Dismiss",
        "action_dispatch": "Dispatch",
        "action_override": "Dispatch (override)",
        "action_accept": "Accept",
        "action_start": "Start",
        "action_resolve": "Resolve",
        "action_verify": "Verify",
        "action_close": "Close",
        "action_return": "Return",
        "action_arbitrate": "Arbitrate",
        "action_reopen": "Reopen",
        "action_escalate": "Escalate",
        "action_press": "Press for action",
        "action_merge": "Merge",
        "action_split": "Split",
        "action_comment": "Comment",
        "action_feedback": "Follow-up",
        "action_step": "Plan step",
        "action_notify": "Notify plan departments",
        "action_join": "Joined",
        "action_acknowledge": "Acknowledge",
        "alert_pending": "Pending",
        "alert_firing": "Firing",
        "alert_resolved": "Resolved",
        "note": "Note",
        "reason": "Reason",
        "photo": "Photo",
        "send": "Send",
        "cancel": "Cancel",
        "refresh": "Refresh",
        "case": "Case",
        "cases": "Cases",
        "alert": "Alert",
        "alerts": "Alerts",
        "grid": "Grid",
        "community": "Community",
        "street": "Street",
        "district": "District",
        "department": "Department",
        "lead": "Lead unit",
        "assisting": "Assisting units",
        "category": "Category",
        "severity": "Severity",
        "state": "State",
        "created": "Taken in",
        "due": "Due",
        "overdue": "Overdue",
        "remaining": "Left",
        "handler": "Handler",
        "grid_workers": "Grid workers",
        "none": "none",
        "updated": "Updated",
        "reporter": "Reporter",
        "source": "Source",
        "source_hotline": "12345 hotline",
        "source_patrol": "Patrol report",
        "source_video": "Video",
        "source_app": "Citizen app",
        "source_sensor": "Sensor",
        "masked": "(masked)",
        "code_unknown_case": "No such case; refresh",
        "code_unknown_actor": "The account is not in the staff register",
        "code_not_allowed": "You may not do this",
        "code_bad_state": "The case's state does not allow this",
        "code_stale": "Someone acted on the case first; refresh and retry",
        "code_remit_refused": "Outside the department's remit",
        "code_missing_reason": "Give a reason",
        "code_missing_field": "Something required is missing",
        "code_unknown_department": "No such department",
        "code_unknown_category": "No such category",
        "code_out_of_area": "The place is outside the city's grids",
        "code_self_verify": "The handler cannot verify their own case",
        "code_no_plan": "The case has no emergency plan",
        "code_unknown_step": "The plan has no such step",
        "code_bad_merge": "These cases cannot be merged",
        "code_bad_split": "The case cannot be split this way",
        "code_unknown_alert": "No such alert; refresh",
        "code_read_only": "This node is read-only",
        "code_send_failed": "Sending failed",
    },
})


def text(lang: str | None, key: str, **values: object) -> str:
    """Return the shared UI text for `key` in `lang` (unknown languages read Chinese)."""
    return COMMON(lang, key, **values)


def name_in(lang: str | None, thing: object, default: str = "") -> str:
    """Return a register record's name in `lang` (`name_zh` / `name_en`), or `default`."""
    if thing is None:
        return default
    return getattr(thing, "name_en" if lang == "en" else "name_zh", default) or default
