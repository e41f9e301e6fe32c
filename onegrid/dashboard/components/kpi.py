"""KPI components (考核): a table sorted on the server by any column, and bar charts.

The table is plain HTML whose column headers are buttons with
pattern-matching ids ({"type": <sort type>, "col": <column>}); the page keeps
the chosen order in a `dcc.Store` and re-renders sorted rows. Sorting on the
server keeps numbers sorting as numbers while cells show words (percentages,
"1小时 5分"), and needs no deprecated DataTable. Charts are plotly horizontal
bars with the worst at the top; they draw offline (no map, no external font).
Pure: rows in, components and figures out; the words come from the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import plotly.graph_objects as go
from dash import html

from onegrid.dashboard.views.format import duration_text

KINDS: Final = ("text", "int", "rate", "duration")
LABEL_CHARS: Final = 26  # longer names are cut on a chart's axis (the hover shows them whole)
_NONE: Final = "—"
# Inline styles: a header button reads as a header, numbers line up on the right.
_SORT_STYLE: Final = {"background": "none", "border": "none", "color": "inherit", "padding": 0,
                      "fontWeight": 500, "textAlign": "left"}
_NUM_STYLE: Final = {"textAlign": "right", "fontVariantNumeric": "tabular-nums"}
_HEAD_STYLE: Final = {"position": "sticky", "top": 0, "background": "#ffffff"}
# The table scrolls inside its panel, so the overdue list below stays in reach.
_TABLE_STYLE: Final = {"overflow": "auto", "maxHeight": "340px"}


@dataclass(frozen=True)
class Column:
    """One column of a KPI table: the row key it shows, its header, how to show it."""

    key: str
    label: str
    kind: str = "int"  # text | int | rate (0..1) | duration (seconds)


def cell_text(value: Any, kind: str, lang: str) -> str:
    """Return a KPI value as the table shows it ("—" where nothing was counted)."""
    if value is None:
        return _NONE
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "duration":
        return duration_text(value, lang)
    return str(value)


def sort_rows(rows: Sequence[Mapping[str, Any]], key: str | None,
              descending: bool) -> list[Mapping[str, Any]]:
    """Return the rows ordered by `key`; rows without a value always go last."""
    if not key:
        return list(rows)
    present = [r for r in rows if r.get(key) is not None]
    missing = [r for r in rows if r.get(key) is None]
    return sorted(present, key=lambda r: r[key], reverse=descending) + missing


def kpi_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], lang: str, *,
              sort_type: str, sort: Mapping[str, Any] | None = None,
              flag: Callable[[str, Any], bool] | None = None, empty: str = "") -> html.Div:
    """Return the table of `rows` sorted as `sort` says ({"col", "desc"}).

    `flag(column, value)` True marks a cell in red (e.g. a low on-time rate).
    """
    sort = sort or {}
    if not rows:
        return html.Div(empty, className="og-muted")
    ordered = sort_rows(rows, sort.get("col"), bool(sort.get("desc")))
    head = [html.Th(html.Button(_header(c, sort), id={"type": sort_type, "col": c.key},
                                n_clicks=0, className="og-sort", style=_SORT_STYLE),
                    style=_HEAD_STYLE) for c in columns]
    body = [html.Tr([_cell(r, c, lang, flag) for c in columns]) for r in ordered]
    return html.Div(html.Table([html.Thead(html.Tr(head)), html.Tbody(body)],
                               className="og-table og-kpi-table"), style=_TABLE_STYLE)


def next_sort(sort: Mapping[str, Any] | None, col: str, numeric: bool = True) -> dict[str, Any]:
    """Return the order after a click on `col`'s header: the same column flips, a new one
    starts worst-first for numbers (descending) and A–Z for text."""
    sort = sort or {}
    if sort.get("col") == col:
        return {"col": col, "desc": not sort.get("desc")}
    return {"col": col, "desc": numeric}


def bar_chart(names: Sequence[str], values: Sequence[float], *, title: str, kind: str,
              color: str = "#2471a3", empty: str = "") -> go.Figure:
    """Return a horizontal bar chart, the first name at the top (rates shown in %)."""
    shown = [v * 100 for v in values] if kind == "rate" else list(values)
    labels = [_short(n) for n in names]
    fig = go.Figure(go.Bar(
        x=shown, y=labels, orientation="h", marker_color=color, customdata=list(names),
        text=[f"{v:.1f}%" if kind == "rate" else f"{v:g}" for v in shown],
        # Rates fill to 100 %: their words go inside; counts go after the bar, upright.
        textposition="inside" if kind == "rate" else "outside", textangle=0, cliponaxis=False,
        hovertemplate="%{customdata}: %{text}<extra></extra>"))
    fig.update_layout(
        title={"text": title, "x": 0.01, "font": {"size": 14}},
        margin={"l": 10, "r": 10, "t": 36, "b": 24}, height=max(180, 60 + 22 * len(names)),
        paper_bgcolor="#ffffff", plot_bgcolor="#ffffff", showlegend=False,
        yaxis={"autorange": "reversed", "automargin": True},
        xaxis={"range": [0, 100] if kind == "rate" else [0, max(shown, default=1) * 1.12],
               "gridcolor": "#eef1f4",
               "ticksuffix": "%" if kind == "rate" else ""})
    if not names:
        fig.add_annotation(text=empty, showarrow=False, x=0.5, y=0.5, xref="paper",
                           yref="paper", font={"color": "#5b6b7d"})
        fig.update_xaxes(visible=False)
        fig.update_yaxes(visible=False)
    return fig


def _header(column: Column, sort: Mapping[str, Any]) -> str:
    if sort.get("col") != column.key:
        return column.label
    return f"{column.label} {'▼' if sort.get('desc') else '▲'}"


def _cell(row: Mapping[str, Any], column: Column, lang: str,
          flag: Callable[[str, Any], bool] | None) -> html.Td:
    value = row.get(column.key)
    if column.kind == "text":
        return html.Td(value if value is not None else _NONE)
    flagged = flag is not None and value is not None and flag(column.key, value)
    return html.Td(cell_text(value, column.kind, lang), style=_NUM_STYLE,
                   className="og-overdue" if flagged else None)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"
