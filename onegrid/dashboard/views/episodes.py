"""Views of the episodes part of the environment page: its words, the episodes list (超标过程),
the replay line, and the upwind candidates (上风向候选污染源) of the picked episode.

Pure: episodes and candidates from `queries` in, table rows and components
out. Times are the city's local times; bearings read as compass points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from dash import html

from onegrid.alerts import aqi
from onegrid.dashboard.i18n import Words
from onegrid.dashboard.queries.episodes import Episode
from onegrid.dashboard.queries.sources import Upwind
from onegrid.dashboard.views import environment as env
from onegrid.dashboard.views.format import local_time
from onegrid.geo.registry import SOURCE_CATEGORIES

COLUMNS: Final = ("station", "pollutant", "start", "peak_at", "peak_aqi", "end", "hours")
_COMPASS: Final = ("n", "ne", "e", "se", "s", "sw", "w", "nw")
_PERMIT_NAMES: Final = {"vocs": "VOCs"}  # permitted pollutants that are not AQI pollutants

W: Final = Words({
    "zh": {
        "episodes_title": "超标过程",
        "episodes_count": "{n} 个超标过程，最严重在前；点击一行在地图上回放。",
        "episodes_more": "仅列出前 {shown} 个。", "no_episodes": "没有符合条件的超标过程。",
        "no_table": "尚无超标过程记录：引擎还没有识别出超标过程。",
        "filter_pollutant": "首要污染物", "filter_district": "区", "ongoing_only": "仅进行中",
        "filter_dates": "日期", "col_station": "监测站", "col_pollutant": "首要污染物",
        "col_start": "开始", "col_peak_at": "峰值时间", "col_peak_aqi": "峰值 AQI",
        "col_end": "结束", "col_hours": "持续", "ongoing": "进行中", "hours": "{n} 小时",
        "replaying": "回放：{station} · {pollutant} · {start} – {end}（{hours}），"
                     "峰值 AQI {aqi}（{peak}）",
        "replay_cut": "（仅回放前24小时）", "back_live": "返回最近24小时",
        "candidates_title": "上风向候选污染源（{km} km 内）",
        "wind": "峰值时风向：{dir}风（来自 {deg}°），风速 {speed} m/s",
        "col_rank": "序", "col_source": "污染源", "col_category": "类别",
        "col_distance": "距离", "col_bearing": "方位", "col_score": "得分",
        "col_permits": "许可排放", "km": "{km} km", "bearing": "{dir} {deg}°",
        "no_wind": "峰值时没有风向记录：仅按距离和许可排放量排序。",
        "no_place": "该监测站不在名录中，无法定位。",
        "no_candidates": "半径内上风向没有登记的污染源。",
        "pick_episode": "选择一个超标过程，查看其上风向候选污染源。",
        "cat_other": "其他", "permits": "许可排放：{list}", "no_permits": "无许可排放量",
        "permit": "{pollutant} {value} 吨/年", "sources_legend": "污染源",
        "source_tip": "{name}<br>{category}<br>{permits}",
        "dir_n": "北", "dir_ne": "东北", "dir_e": "东", "dir_se": "东南", "dir_s": "南",
        "dir_sw": "西南", "dir_w": "西", "dir_nw": "西北",
    },
    "en": {
        "episodes_title": "Exceedance episodes",
        "episodes_count": "{n} episodes, worst first; click a row to replay it on the map.",
        "episodes_more": "Showing the first {shown}.",
        "no_episodes": "No episode matches these filters.",
        "no_table": "No episodes on record: the engine has not detected any yet.",
        "filter_pollutant": "Primary pollutant", "filter_district": "District",
        "ongoing_only": "ongoing only", "filter_dates": "Dates", "col_station": "Station",
        "col_pollutant": "Pollutant", "col_start": "Start", "col_peak_at": "Peak",
        "col_peak_aqi": "Peak AQI", "col_end": "End", "col_hours": "Hours",
        "ongoing": "ongoing", "hours": "{n} h",
        "replaying": "Replaying: {station} · {pollutant} · {start} – {end} ({hours}), "
                     "peak AQI {aqi} ({peak})",
        "replay_cut": " (its first 24 hours)", "back_live": "Back to the last 24 hours",
        "candidates_title": "Upwind candidate sources (within {km} km)",
        "wind": "Wind at the peak: from the {dir} ({deg}°), {speed} m/s",
        "col_rank": "#", "col_source": "Source", "col_category": "Category",
        "col_distance": "Distance", "col_bearing": "Bearing", "col_score": "Score",
        "col_permits": "Permitted", "km": "{km} km", "bearing": "{dir} {deg}°",
        "no_wind": "No wind recorded at the peak: ranked by distance and permits only.",
        "no_place": "The station is not in the register, so it cannot be placed.",
        "no_candidates": "No registered source upwind within the radius.",
        "pick_episode": "Pick an episode to see its upwind candidate sources.",
        "cat_other": "other", "permits": "Permitted: {list}",
        "no_permits": "no permitted emissions",
        "permit": "{pollutant} {value} t/yr", "sources_legend": "Pollution sources",
        "source_tip": "{name}<br>{category}<br>{permits}",
        "dir_n": "north", "dir_ne": "north-east", "dir_e": "east", "dir_se": "south-east",
        "dir_s": "south", "dir_sw": "south-west", "dir_w": "west", "dir_nw": "north-west",
    },
}, base=env.W)


def compass(deg: float | None, lang: str) -> str:
    """Return the compass point (8 of them) of a bearing in degrees ("" when missing)."""
    if deg is None:
        return ""
    return W(lang, f"dir_{_COMPASS[round((deg % 360) / 45) % 8]}")


def pollutant_name(pollutant: str | None, lang: str) -> str:
    """Return a pollutant's name ("" when none)."""
    return W(lang, f"measure_{pollutant}") if pollutant in aqi.POLLUTANTS else ""


def episode_rows(episodes: Sequence[Episode], tz: str, lang: str) -> list[dict[str, Any]]:
    """Return the list's rows (DataTable data): row id the episode id, times local."""
    return [{"id": e.episode_id, "station": e.name(lang),
             "pollutant": pollutant_name(e.pollutant, lang),
             "start": local_time(e.start_at, tz), "peak_at": local_time(e.peak_at, tz),
             "peak_aqi": round(e.peak_aqi), "level": int(env.category_levels([e.peak_aqi])[0]),
             "end": local_time(e.end_at, tz) if e.end_at else W(lang, "ongoing"),
             "hours": W(lang, "hours", n=e.hours)} for e in episodes]


def episode_columns(lang: str) -> list[dict[str, str]]:
    """Return the list's columns in `lang`."""
    return [{"name": W(lang, f"col_{c}"), "id": c} for c in COLUMNS]


def level_styles() -> list[dict[str, Any]]:
    """Return the list's conditional styles: each peak AQI in its HJ 633 colour."""
    return [{"if": {"filter_query": f"{{level}} = {c.level}", "column_id": "peak_aqi"},
             "backgroundColor": c.colour, "color": "#1c2733" if c.level <= 3 else "#ffffff",
             "fontWeight": 600} for c in aqi.CATEGORIES]


def list_note(shown: int, total: int, on_record: bool, lang: str) -> str:
    """Return the line above the list: how many, or why there are none (`on_record`: the
    store holds any episode at all)."""
    if not on_record:
        return W(lang, "no_table")
    if not total:
        return W(lang, "no_episodes")
    note = W(lang, "episodes_count", n=total)
    return note + (" " + W(lang, "episodes_more", shown=shown) if shown < total else "")


def replay_line(e: Episode, tz: str, lang: str, cut: bool) -> str:
    """Return the status line of a replay: station, pollutant, span, peak."""
    end = local_time(e.end_at, tz) if e.end_at else W(lang, "ongoing")
    return W(lang, "replaying", station=e.name(lang), pollutant=pollutant_name(e.pollutant, lang),
             start=local_time(e.start_at, tz), end=end, hours=W(lang, "hours", n=e.hours),
             aqi=round(e.peak_aqi), peak=local_time(e.peak_at, tz)) + (
        W(lang, "replay_cut") if cut else "")


def category_name(category: str, lang: str) -> str:
    """Return a source category's name, as the register names it ("other" for one it
    does not)."""
    names = SOURCE_CATEGORIES.get(category)
    if names is None:
        return W(lang, "cat_other")
    return names[1] if lang == "en" else names[0]


def permits_text(permits: Mapping[str, float] | None, lang: str) -> str:
    """Return a source's permitted emissions ("PM2.5 12 t/yr · SO₂ 30 t/yr")."""
    found = [W(lang, "permit", pollutant=pollutant_name(p, lang) or _PERMIT_NAMES.get(p, p),
               value=f"{v:g}") for p, v in (permits or {}).items() if v is not None]
    return W(lang, "permits", list=" · ".join(found)) if found else W(lang, "no_permits")


def candidates_panel(e: Episode | None, found: Upwind | None, radius_km: float,
                     lang: str) -> list:
    """Return the candidates panel: the wind at the peak and the ranked sources."""
    if e is None or found is None:
        return [html.Div(W(lang, "pick_episode"), className="og-muted")]
    head = [html.H3(W(lang, "candidates_title", km=f"{radius_km:g}"))]
    if e.wind_dir_deg is not None:
        head.append(html.Div(W(lang, "wind", dir=compass(e.wind_dir_deg, lang),
                               deg=round(e.wind_dir_deg), speed=_speed(e.wind_speed_ms)),
                             className="og-muted"))
    if found.reason:
        head.append(html.Div(W(lang, found.reason), className="og-muted"))
    if found.reason == "no_place":
        return head
    if not found.candidates:
        return [*head, html.Div(W(lang, "no_candidates"), className="og-muted")]
    columns = ("col_rank", "col_source", "col_category", "col_distance", "col_bearing",
               "col_score", "col_permits")
    body = [html.Tr([html.Td(str(n)), html.Td(_name(c.source, lang)),
                     html.Td(category_name(c.source.category, lang)),
                     html.Td(W(lang, "km", km=f"{c.distance_km:.1f}")),
                     html.Td(W(lang, "bearing", dir=compass(c.bearing_deg, lang),
                               deg=round(c.bearing_deg))),
                     html.Td(f"{c.score:.3g}"),
                     html.Td(permits_text(getattr(c.source, "permits", None), lang))])
            for n, c in enumerate(found.candidates, start=1)]
    return [*head, html.Table([html.Thead(html.Tr([html.Th(W(lang, c)) for c in columns])),
                               html.Tbody(body)], className="og-table og-candidates")]


def _name(source: Any, lang: str) -> str:
    return source.name_en if lang == "en" else source.name_zh


def _speed(speed: float | None) -> str:
    return "—" if speed is None else f"{speed:.1f}"
