"""Formatting shared by every page: local times, durations and countdowns, names, badges.

Times are stored in UTC and shown in the city's time zone (`city.toml`
`timezone`); durations read as the domain does (2 小时 15 分 / 2 h 15 min).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from dash import html

from onegrid.dashboard.i18n import name_in, text


@lru_cache(maxsize=8)
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


def local_time(at: datetime | None, tz: str, fmt: str = "%m-%d %H:%M") -> str:
    """Return `at` in the city's time zone as text ("" for None)."""
    if at is None:
        return ""
    return at.astimezone(_zone(tz)).strftime(fmt)


def duration_text(seconds: float | None, lang: str) -> str:
    """Return a duration as days/hours/minutes in `lang` (`""` for None)."""
    if seconds is None:
        return ""
    s = int(abs(seconds))
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    zh = lang != "en"
    parts = []
    if days:
        parts.append(f"{days}天" if zh else f"{days} d")
    if hours:
        parts.append(f"{hours}小时" if zh else f"{hours} h")
    if minutes or not parts:
        parts.append(f"{minutes}分" if zh else f"{minutes} min")
    return ("" if zh else " ").join(parts[:2])


def countdown(due_at: datetime | None, now: datetime, lang: str,
              running: bool = True) -> tuple[str, bool]:
    """Return (text, overdue) for a time limit: time left, or how long overdue.

    `running` False (the clock is stopped: resolved, closed, in arbitration)
    gives the due time's distance without counting it as overdue.
    """
    if due_at is None:
        return "", False
    left = (due_at - now).total_seconds()
    if left >= 0 or not running:
        return f"{text(lang, 'remaining')} {duration_text(left, lang)}", False
    return f"{text(lang, 'overdue')} {duration_text(-left, lang)}", True


def state_badge(state: str, lang: str) -> html.Span:
    """Return a case state as a badge in `lang`."""
    return html.Span(text(lang, f"state_{state}"), className=f"og-badge og-state-{state}")


def alert_badge(state: str, lang: str) -> html.Span:
    """Return an alert state as a coloured badge in `lang`."""
    return html.Span(text(lang, f"alert_{state}"), className=f"og-badge og-{state}")


def category_name(registry, code: str | None, lang: str) -> str:
    """Return a category's name in `lang` (the code when it is not in the catalogue)."""
    return name_in(lang, registry.categories.get(code or ""), code or "")


def department_name(registry, dept_id: str | None, lang: str) -> str:
    """Return a department's name in `lang` (the id when it is not registered)."""
    return name_in(lang, registry.departments.get(dept_id or ""), dept_id or "")


def region_name(regions, level: str, region_id: str | None, lang: str) -> str:
    """Return a region's name in `lang` (`level` is district, street, community or grid)."""
    if not region_id:
        return ""
    frame = regions.levels[level]
    if region_id not in frame.index:
        return region_id
    return str(frame.at[region_id, "name_en" if lang == "en" else "name_zh"])


def plain(value: Any) -> str:
    """Return a value as table text ("" for None; numbers rounded to 2 places)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}".rstrip("0").rstrip(".")
    return str(value)
