"""The station time series of the environment page: one pollutant (or the AQI) over the
last 24 hours, with the standard's lines.

Traces: the 1-hour means (for the AQI: the hourly AQI), and, for an 8 h or
24 h window, the window's running value. Lines: the GB 3095-2012 grade I and
II limits of each averaging shown (for the AQI, its category bounds in HJ 633
colours). The first shape is the slider's hour, so a step moves one shape
(`step_patch`) instead of redrawing the chart. Times are local and naive:
plotly.js does not read UTC offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np
import plotly.graph_objects as go
from dash import Patch

from onegrid.alerts import aqi

_HOURLY: Final = "#1f3a5f"
_WINDOW: Final = "#d68910"
_GRADES: Final = {1: ("#2e86c1", "dot"), 2: ("#c0392b", "dash")}


def local_hours(hours: Sequence[datetime], tz: str) -> list[datetime]:
    """Return UTC hour ends as naive local times (what plotly draws)."""
    zone = ZoneInfo(tz)
    return [h.astimezone(zone).replace(tzinfo=None) for h in hours]


def series_figure(x: Sequence[datetime], hourly: np.ndarray, window_values: np.ndarray | None,
                  *, title: str, names: tuple[str, str], y_title: str,
                  limits: Sequence[tuple[int, float, str]], bands: bool,
                  step: int) -> go.Figure:
    """Return the chart. `names` are the traces' (1-hour, window) names; `limits` are
    (grade, value, label) lines; `bands` draws the AQI categories instead; `step` is
    the index in `x` of the slider's hour."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(x), y=_plain(hourly), name=names[0], mode="lines+markers",
                             line={"color": _HOURLY, "width": 2}, marker={"size": 5},
                             connectgaps=False))
    if window_values is not None:
        fig.add_trace(go.Scatter(x=list(x), y=_plain(window_values), name=names[1],
                                 mode="lines", line={"color": _WINDOW, "width": 3}))
    shapes = [_step_shape(x[step] if len(x) else None)]
    top = np.nanmax(np.concatenate([hourly, window_values if window_values is not None
                                    else hourly, [0]]).astype(float))
    if bands:
        for low, cat in zip((0, *[c.upper for c in aqi.CATEGORIES[:-1]]), aqi.CATEGORIES,
                            strict=True):
            if low > max(top, 100):
                break
            shapes.append({"type": "rect", "xref": "paper", "x0": 0, "x1": 1, "y0": low,
                           "y1": min(cat.upper, 500), "fillcolor": cat.colour,
                           "opacity": 0.12, "line": {"width": 0}, "layer": "below"})
    for grade, value, label in limits:
        colour, dash = _GRADES[grade]
        shapes.append({"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": value,
                       "y1": value, "line": {"color": colour, "dash": dash, "width": 1.5}})
        fig.add_annotation(xref="paper", x=1, y=value, text=label, showarrow=False,
                           xanchor="right", yanchor="bottom", font={"size": 11, "color": colour})
    peak = max([top, *[v for _, v, _ in limits]])
    fig.update_layout(
        title={"text": title, "font": {"size": 14}}, shapes=shapes,
        margin={"l": 48, "r": 12, "t": 40, "b": 36}, height=300,
        paper_bgcolor="#ffffff", plot_bgcolor="#ffffff", hovermode="x unified",
        legend={"orientation": "h", "y": -0.18}, uirevision="station-series",
        yaxis={"title": {"text": y_title}, "rangemode": "tozero", "gridcolor": "#eef1f4",
               "range": [0, peak * 1.15 if np.isfinite(peak) and peak > 0 else 1]},
        xaxis={"gridcolor": "#eef1f4", "tickformat": "%H:%M\n%m-%d"})
    return fig


def step_patch(x: datetime | None) -> Patch:
    """Return the patch moving the slider's hour line to `x`."""
    patch = Patch()
    patch["layout"]["shapes"][0] = _step_shape(x)
    return patch


def _step_shape(x: datetime | None) -> dict:
    return {"type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1,
            "line": {"color": "#5b6b7d", "width": 1, "dash": "dot"}, "visible": x is not None}


def _plain(values: np.ndarray) -> list[float | None]:
    """Return values for JSON: None (a gap in the line) where NaN."""
    return [None if not np.isfinite(v) else round(float(v), 2) for v in values]
