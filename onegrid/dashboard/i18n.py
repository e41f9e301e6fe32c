"""The dashboard's words in Chinese and English, from the glossary.

Every piece of UI text is looked up here by a short key, so the 中文/English
switch is one dictionary swap and the wording of a term stays the same on
every page. Chinese is the default language. Layout and formatting of numbers
are left to the pages and `views`.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("zh", "en")
DEFAULT_LANGUAGE: Final = "zh"

# language -> key -> text
TEXT: Final[dict[str, dict[str, str]]] = {
    "zh": {
        "title": "城运总览",
        "product": "一网统管",
        "window": "时间范围",
        "window_15": "近15分钟",
        "window_60": "近1小时",
        "window_1440": "近24小时",
        "events": "事件数",
        "events_stored": "已入库事件",
        "dead_letters": "死信",
        "events_last_minute": "近1分钟入库",
        "cell": "网格单元",
        "resolution": "H3 分辨率",
        "updated": "更新于",
        "error": "数据暂时无法读取，稍后自动重试。",
    },
    "en": {
        "title": "City overview",
        "product": "One network manages the whole city",
        "window": "Time range",
        "window_15": "Last 15 min",
        "window_60": "Last 1 h",
        "window_1440": "Last 24 h",
        "events": "Events",
        "events_stored": "Events stored",
        "dead_letters": "Dead letters",
        "events_last_minute": "Stored in the last minute",
        "cell": "Cell",
        "resolution": "H3 resolution",
        "updated": "Updated",
        "error": "The data cannot be read just now; retrying automatically.",
    },
}

LANGUAGE_LABELS: Final = {"zh": "中文", "en": "English"}


def text(lang: str, key: str) -> str:
    """Return the UI text for `key` in `lang` (unknown languages fall back to Chinese)."""
    return TEXT.get(lang, TEXT[DEFAULT_LANGUAGE])[key]
