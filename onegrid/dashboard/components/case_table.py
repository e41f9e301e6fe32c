"""The case table of the dispatch board: a DataTable with multi-row selection and native
sort and paging; the server does the filtering.

Rows are the records of `views.cases.table_records`. Each carries its case id
as the DataTable row `id`, so a selection is kept by case, not by position:
when a live refresh brings new rows, `selection_for` turns the ids the user
had ticked into the new row positions. `overdue` (1/0) is in each record but
not a column: the conditional styles read it to paint overdue rows red.
The case link, the state badge and nothing else are markdown with HTML
(escaped in `views.cases`); every other cell is plain text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from dash import dash_table

from onegrid.dashboard.views.cases import W

PAGE_SIZE: Final = 25
# column id -> word key of its heading, in display order
COLUMNS: Final = (("case", "col_case"), ("title", "col_title"), ("category", "category"),
                  ("state", "state"), ("department", "lead"), ("grid", "grid"),
                  ("severity", "severity"), ("created", "created"), ("due", "due"),
                  ("countdown", "col_countdown"), ("escalation", "col_escalation"),
                  ("returns", "col_returns"))
_MARKDOWN: Final = frozenset({"case", "state"})
_NUMERIC: Final = frozenset({"severity", "returns"})
_NOWRAP: Final = ("case", "state", "created", "due", "countdown")
# The stylesheet's font stack: the table sets its own font on every cell, so it is repeated.
FONT: Final = ('"Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", '
               '"Helvetica Neue", Arial, sans-serif')


def columns(lang: str) -> list[dict[str, Any]]:
    """Return the table's columns with headings in `lang`."""
    out = []
    for col, key in COLUMNS:
        spec: dict[str, Any] = {"id": col, "name": W(lang, key)}
        if col in _MARKDOWN:
            spec["presentation"] = "markdown"
        if col in _NUMERIC:
            spec["type"] = "numeric"
        out.append(spec)
    return out


def case_table(table_id: str, lang: str) -> dash_table.DataTable:
    """Return the empty case table (the board's refresh fills it)."""
    return dash_table.DataTable(
        id=table_id, columns=columns(lang), data=[], row_selectable="multi",
        selected_rows=[], sort_action="native", page_action="native", page_size=PAGE_SIZE,
        markdown_options={"html": True, "link_target": "_self"}, cell_selectable=False,
        style_as_list_view=True, style_table={"overflowX": "auto"},
        style_cell={"fontFamily": FONT, "fontSize": "13px", "padding": "4px 6px",
                    "textAlign": "left", "whiteSpace": "normal", "height": "auto",
                    "maxWidth": "240px"},
        style_cell_conditional=[{"if": {"column_id": c}, "whiteSpace": "nowrap"}
                                for c in _NOWRAP],
        style_header={"fontWeight": "500", "color": "#5b6b7d", "backgroundColor": "#fff"},
        style_data_conditional=[
            {"if": {"filter_query": "{overdue} = 1"}, "backgroundColor": "#fdecea"},
            {"if": {"filter_query": "{overdue} = 1", "column_id": ["due", "countdown"]},
             "color": "#c0392b", "fontWeight": "600"},
            {"if": {"filter_query": "{severity} >= 3", "column_id": "severity"},
             "color": "#922b21", "fontWeight": "700"},
        ],
        css=[{"selector": ".dash-spreadsheet td div p", "rule": "margin: 0;"}],
    )


def selection_for(records: Sequence[Mapping[str, Any]], selected_ids: Sequence[str] | None
                  ) -> list[int]:
    """Return the positions in `records` of the case ids the user had selected."""
    wanted = set(selected_ids or ())
    return [i for i, r in enumerate(records) if r["id"] in wanted]
