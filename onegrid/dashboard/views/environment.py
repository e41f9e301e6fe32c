"""Views of the environment page (生态环境): its words, the station markers, the step
label, the AQI legend and the exceedance table.

Pure: layers and rows from `queries` in, Dash components and GeoJSON out.
Numbers read as the standard reports them: indices whole, concentrations
whole (CO to one decimal).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
from dash import html

from onegrid.alerts import aqi
from onegrid.dashboard.i18n import COMMON, Words
from onegrid.dashboard.queries.air_windows import STEPS, Exceedance
from onegrid.dashboard.queries.environment import StationPlace
from onegrid.dashboard.views.format import local_time
from onegrid.geo.interpolation import MAX_KM, MIN_SOURCES

MEASURES: Final = ("aqi", *aqi.POLLUTANTS)
WINDOW_HOURS: Final = {"1h": 1, "8h": 8, "24h": 24}
EXCEED_ROWS: Final = 100  # rows shown; the count says how many there are
_NO_DATA: Final = "#b8c2cc"
_DARK_INK: Final = frozenset({1, 2, 3})  # categories light enough for dark text
# The legend's swatches drawn as the map draws the cells (onegrid_environment.js).
_SWATCH: Final = {"display": "inline-block", "width": "18px", "height": "12px",
                  "marginRight": "4px", "verticalAlign": "middle"}
_SWATCH_MEASURED: Final = {**_SWATCH, "background": "rgba(255, 126, 0, 0.72)",
                           "border": "1px solid #ffffff"}
_SWATCH_ESTIMATED: Final = {**_SWATCH, "background": "rgba(255, 126, 0, 0.3)",
                            "border": "1.5px dashed #3d4b5c"}

W: Final = Words({
    "zh": {
        "layer": "图层", "window": "平均时段", "window_1h": "1小时", "window_8h": "8小时滑动",
        "window_24h": "24小时滑动", "measure_aqi": "AQI", "measure_pm25": "PM2.5",
        "measure_pm10": "PM10", "measure_so2": "SO₂", "measure_no2": "NO₂", "measure_o3": "O₃",
        "measure_co": "CO", "o3_daily": "O₃ 日最大8小时", "play": "▶ 播放", "pause": "❚❚ 暂停",
        "step": "{start} – {end}（{window}）", "region": "辖区：{region}", "city": "全市",
        "station": "监测站", "pick_station": "选择监测站，或点击地图上的站点",
        "series_title": "{station} · {measure} · 近24小时", "hourly_mean": "1小时均值",
        "window_mean": "{window}均值", "hourly_aqi": "1小时 AQI", "window_aqi": "{window} AQI",
        "grade_1": "一级限值 {value}", "grade_2": "二级限值 {value}",
        "grade_both": "一、二级限值 {value}", "limit_span": "{limit}（{span}）",
        "avg_1h": "1小时", "avg_8h": "8小时", "avg_24h": "24小时",
        "aqi_bands": "AQI 分级", "exceed_title": "超标（GB 3095-2012 二级限值）",
        "exceed_count": "近24小时 {n} 个站时超标，最严重在前。",
        "exceed_more": "仅列出前 {shown} 条。", "no_exceed": "所选时段内没有超标。",
        "no_limit": "{measure} 没有{window}浓度限值（GB 3095-2012），请选择其他平均时段。",
        "col_time": "时间（小时结束）", "col_station": "监测站", "col_pollutant": "污染物",
        "col_value": "浓度", "col_limit": "限值", "col_ratio": "超标倍数", "col_iaqi": "分指数",
        "col_category": "AQI 类别", "export_csv": "导出 CSV", "export_geojson": "导出 GeoJSON",
        "dictionary": "导出字段：kind 站点(station)/网格单元(cell)；id 站点编号或H3编号；"
                      "name_zh/name_en 名称；lat/lng WGS-84；cell_r8 所在H3第8级单元；"
                      "hour_end 小时结束时刻（UTC）；window 平均时段；"
                      "estimated 是否估算（true：站点之间的估算单元，反距离加权；false：实测）；"
                      "stations 所用站数；pm25、pm10、so2、no2、o3 µg/m³，co mg/m³"
                      "（所选时段的均值，24小时时段的 o3 为日最大8小时均值；"
                      "数据不足为空）；aqi、aqi_level 1–6、category_zh/category_en（HJ 633-2012）；"
                      "primary 首要污染物（;分隔）。",
        "invalid": "此刻没有有效的{window}均值：8小时均值需至少6个有效小时值，"
                   "24小时均值需至少20个（GB 3095-2012）。",
        "no_stations": "您的辖区内没有监测站。", "primary": "首要污染物",
        "no_data": "无数据", "legend": "颜色：AQI / 分指数类别",
        "station_tip": "{name}<br>{measure} {value}{unit}<br>{category}",
        "estimated": "估算", "measured": "实测（监测站所在单元）",
        "estimate_note": "估算：站点之间的单元，按反距离平方加权（{km} km 内至少 {n} 个站），"
                         "由浓度估算后计算指数；不覆盖实测单元。",
        "show": "显示", "show_estimates": "估算单元", "show_sources": "污染源",
    },
    "en": {
        "layer": "Layer", "window": "Averaging", "window_1h": "1 h", "window_8h": "8 h running",
        "window_24h": "24 h running", "measure_aqi": "AQI", "measure_pm25": "PM2.5",
        "measure_pm10": "PM10", "measure_so2": "SO₂", "measure_no2": "NO₂", "measure_o3": "O₃",
        "measure_co": "CO", "o3_daily": "O₃ daily max 8 h", "play": "▶ Play",
        "pause": "❚❚ Pause", "step": "{start} – {end} ({window})", "region": "Region: {region}",
        "city": "whole city", "station": "Station",
        "pick_station": "Pick a station, or click one on the map",
        "series_title": "{station} · {measure} · last 24 hours",
        "hourly_mean": "1-hour mean", "window_mean": "{window} mean",
        "hourly_aqi": "hourly AQI", "window_aqi": "{window} AQI",
        "grade_1": "grade I limit {value}", "grade_2": "grade II limit {value}",
        "grade_both": "grade I and II limit {value}", "limit_span": "{limit} ({span})",
        "avg_1h": "1 h", "avg_8h": "8 h",
        "avg_24h": "24 h",
        "aqi_bands": "AQI categories", "exceed_title": "Exceedances (GB 3095-2012 grade II)",
        "exceed_count": "{n} station-hours above the limit in the last 24 hours, worst first.",
        "exceed_more": "Showing the first {shown}.", "no_exceed": "No exceedance in this window.",
        "no_limit": "GB 3095-2012 sets no {window} limit for {measure}; choose another "
                    "averaging.",
        "col_time": "Time (hour end)", "col_station": "Station", "col_pollutant": "Pollutant",
        "col_value": "Value", "col_limit": "Limit", "col_ratio": "× limit", "col_iaqi": "IAQI",
        "col_category": "AQI category", "export_csv": "Export CSV",
        "export_geojson": "Export GeoJSON",
        "dictionary": "Export columns: kind station/cell; id station id or H3 id; "
                      "name_zh/name_en; lat/lng WGS-84; cell_r8 the station's H3 res-8 cell; "
                      "hour_end end of the hour (UTC); window averaging; estimated true for "
                      "cells between stations (inverse-distance weighted), false for measured; "
                      "stations how many stations it comes from; pm25, pm10, so2, no2, o3 "
                      "µg/m³, co mg/m³ (means over the window; o3 over 24 h is the daily "
                      "max 8-hour mean; empty when too few hours); aqi, aqi_level 1-6, "
                      "category_zh/category_en (HJ 633-2012); primary pollutants (;-separated).",
        "invalid": "No valid {window} mean at this hour: an 8-hour mean needs 6 valid hours, "
                   "a 24-hour mean 20 (GB 3095-2012).",
        "no_stations": "There is no monitoring station in your region.",
        "primary": "Primary pollutant", "no_data": "no data",
        "legend": "Colour: AQI / IAQI category",
        "station_tip": "{name}<br>{measure} {value}{unit}<br>{category}",
        "estimated": "estimated", "measured": "measured (a station's cell)",
        "estimate_note": "Estimated: cells between stations, inverse-distance-squared weighted "
                         "(at least {n} stations within {km} km), indexed from estimated "
                         "concentrations; never over a measured cell.",
        "show": "Show", "show_estimates": "estimated cells", "show_sources": "pollution sources",
    },
}, base=COMMON)


def choices(lang: str | None, measure: str | None, window: str | None, step: int | None
            ) -> tuple[str, str, str, int]:
    """Return (lang, measure, window, step) as posted, each replaced by its default
    (zh, aqi, 1h, the last step) when it is not one of its values."""
    lang = lang if lang in ("zh", "en") else "zh"
    measure = measure if measure in MEASURES else "aqi"
    window = window if window in WINDOW_HOURS else "1h"
    last = STEPS - 1
    step = step if isinstance(step, int) and 0 <= step <= last else last
    return lang, measure, window, step


def measure_label(measure: str, window: str, lang: str) -> str:
    """Return a layer's name; O3 over 24 h is its daily largest 8-hour mean."""
    return W(lang, "o3_daily") if measure == "o3" and window == "24h" else \
        W(lang, f"measure_{measure}")


def number(value: float | None, measure: str) -> str:
    """Return a value as the standard reports it ("" when missing)."""
    if value is None or not np.isfinite(value):
        return ""
    return f"{value:.1f}" if measure == "co" else f"{value:.0f}"


def unit(measure: str) -> str:
    """Return a measure's unit ("" for the AQI)."""
    return "" if measure == "aqi" else " " + aqi.UNITS[measure]


def step_label(hour_end: datetime, window: str, tz: str, lang: str) -> str:
    """Return the span a step covers, in local time ("06-01 10:00 – 11:00 (1 h)")."""
    start = hour_end - timedelta(hours=WINDOW_HOURS[window])
    end_fmt = "%H:%M" if start.date() == hour_end.date() else "%m-%d %H:%M"
    return W(lang, "step", start=local_time(start, tz), end=local_time(hour_end, tz, end_fmt),
             window=W(lang, f"window_{window}"))


def station_points(stations: Sequence[StationPlace]) -> dict[str, Any]:
    """Return the station markers as GeoJSON points, sent once: each carries what a click
    picks (kind and id) and its index `i` in the values of `station_hideout`."""
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [s.lng, s.lat]},
         "properties": {"kind": "station", "id": s.station_id, "i": i}}
        for i, s in enumerate(stations)]}


def station_hideout(stations: Sequence[StationPlace], values: np.ndarray, indices: np.ndarray,
                    measure: str, window: str, lang: str) -> dict[str, list[str]]:
    """Return the station markers' values for one step, in station order: each badge's
    label (the value), its category colour and text colour, and its tooltip (name, value,
    category)."""
    out: dict[str, list[str]] = {"label": [], "colour": [], "ink": [], "tooltip": []}
    name = measure_label(measure, window, lang)
    for s, v, i in zip(stations, values.tolist(), indices.tolist(), strict=True):
        cat = aqi.category_of(i)
        shown = number(v, measure)
        out["label"].append(shown or "—")
        out["colour"].append(cat.colour if cat else _NO_DATA)
        out["ink"].append("#1c2733" if cat is None or cat.level in _DARK_INK else "#ffffff")
        out["tooltip"].append(W(lang, "station_tip", name=s.name(lang), measure=name,
                                value=shown or "—", unit=unit(measure) if shown else "",
                                category=cat.name(lang) if cat else W(lang, "no_data")))
    return out


def legend(lang: str, extra: Sequence[Any] = ()) -> list:
    """Return the map's legend: the AQI categories (HJ 633 colours), measured and estimated
    cells told apart (the estimated swatch drawn as the map draws them: lighter, dashed),
    and `extra` rows (the sources' categories)."""
    chips = [html.Span(c.name(lang), className="og-badge",
                       style={"background": c.colour,
                              "color": "#1c2733" if c.level in _DARK_INK else "#ffffff"})
             for c in aqi.CATEGORIES]
    kinds = html.Div([
        html.Span([html.Span(style=_SWATCH_MEASURED), W(lang, "measured")]),
        html.Span([html.Span(style=_SWATCH_ESTIMATED), W(lang, "estimated")],
                  className="og-legend-estimated",
                  title=W(lang, "estimate_note", km=f"{MAX_KM:g}", n=MIN_SOURCES)),
    ], className="og-row og-legend-kinds")
    return [html.Div(W(lang, "legend"), className="og-label"),
            html.Div(chips, className="og-row"), kinds, *extra]


def category_levels(indices: np.ndarray) -> np.ndarray:
    """Return each index's AQI category level (1-6), 0 where missing."""
    values = np.asarray(indices, dtype=float)
    uppers = [c.upper for c in aqi.CATEGORIES[:-1]]
    levels = np.searchsorted(uppers, values, side="left") + 1
    return np.where(np.isfinite(values) & (values >= 0), levels, 0)


def estimate_hideout(indices: np.ndarray, measure: str, window: str, lang: str,
                     show: bool) -> dict[str, Any]:
    """Return the estimated cells' `hideout` for one step: per cell (in feature order) its
    category level (0: no estimate, drawn empty) and index, with the palette, the
    categories' names and the tooltip's label ("估算 AQI"); `show` False hides them."""
    levels = category_levels(indices)
    values = np.round(np.nan_to_num(np.asarray(indices, dtype=float), nan=0.0)).astype(int)
    label = measure_label(measure, window, lang)
    return {"show": bool(show), "level": levels.tolist(), "v": values.tolist(),
            "palette": [_NO_DATA, *[c.colour for c in aqi.CATEGORIES]],
            "names": ["", *[c.name(lang) for c in aqi.CATEGORIES]],
            "label": f"{W(lang, 'estimated')} {label}" + ("" if measure == "aqi" else " IAQI")}


def exceedance_table(rows: Sequence[Exceedance], window: str, measure: str, tz: str,
                     lang: str, has_limit: bool) -> list:
    """Return the exceedance list: a count and a table, worst first."""
    head = [html.H3(W(lang, "exceed_title"))]
    if not has_limit:
        return [*head, html.Div(W(lang, "no_limit", measure=measure_label(measure, "1h", lang),
                                  window=W(lang, f"window_{window}")), className="og-muted")]
    if not rows:
        return [*head, html.Div(W(lang, "no_exceed"), className="og-muted")]
    shown = rows[:EXCEED_ROWS]
    note = W(lang, "exceed_count", n=len(rows))
    if len(rows) > len(shown):
        note += " " + W(lang, "exceed_more", shown=len(shown))
    columns = ("col_time", "col_station", "col_pollutant", "col_value", "col_limit",
               "col_ratio", "col_iaqi", "col_category")
    body = [html.Tr([
        html.Td(local_time(e.hour_end, tz)), html.Td(e.station.name(lang)),
        html.Td(measure_label(e.pollutant, window, lang)),
        html.Td(number(e.value, e.pollutant) + unit(e.pollutant), className="og-overdue"),
        html.Td(number(e.limit, e.pollutant)), html.Td(f"{e.ratio:.2f}"),
        html.Td(number(e.iaqi, "aqi")), html.Td(aqi.category_name(e.aqi, lang))])
        for e in shown]
    return [*head, html.Div(note, className="og-muted"), html.Table(
        [html.Thead(html.Tr([html.Th(W(lang, c)) for c in columns])), html.Tbody(body)],
        className="og-table")]
