"""Open data's suppression rule, as tables: which report counts may be published."""

from __future__ import annotations

import pandas as pd
import pytest

from onegrid.alerts.opendata import suppress


def cells(*rows: tuple[int, int, int]) -> pd.DataFrame:
    """(cell, sensor readings, reports) rows; no station readings."""
    return pd.DataFrame({"cell_id": [r[0] for r in rows], "sensor_readings": [r[1] for r in rows],
                         "station_readings": [0] * len(rows), "reports": [r[2] for r in rows]})


def cats(*rows: tuple[int, str, int]) -> pd.DataFrame:
    return pd.DataFrame({"cell_id": [r[0] for r in rows], "category": [r[1] for r in rows],
                         "reports": [r[2] for r in rows]})


def published(cell_rows, cat_rows, k=3):
    out, shown = suppress(cells(*cell_rows), cats(*cat_rows), k)
    totals = {int(c): (None if pd.isna(r) else int(r))
              for c, r in zip(out["cell_id"], out["reports"], strict=True)}
    return totals, sorted((int(c), g, int(n)) for c, g, n in shown.itertuples(index=False))


@pytest.mark.parametrize(("cell_rows", "cat_rows", "totals", "shown"), [
    pytest.param([(1, 5, 0)], [], {1: None}, [], id="no reports: empty, as a withheld count"),
    pytest.param([(1, 5, 2)], [(1, "a", 2)], {1: None}, [],
                 id="fewer than k reports: the count and its category withheld"),
    pytest.param([(1, 0, 2)], [(1, "a", 1), (1, "b", 1)], {}, [],
                 id="a cell of only a few reports is left out"),
    pytest.param([(1, 0, 3)], [(1, "a", 3)], {1: 3}, [(1, "a", 3)], id="k reports are shown"),
    pytest.param([(1, 0, 7)], [(1, "a", 5), (1, "b", 2)], {1: 7}, [],
                 id="one small category would show as the difference: the other goes too"),
    pytest.param([(1, 0, 12)], [(1, "a", 5), (1, "b", 4), (1, "c", 3)], {1: 12},
                 [(1, "a", 5), (1, "b", 4), (1, "c", 3)], id="all categories at k or more"),
    pytest.param([(1, 0, 10)], [(1, "a", 6), (1, "b", 1), (1, "c", 3)], {1: 10},
                 [(1, "a", 6)], id="the smallest published category joins the withheld ones"),
    pytest.param([(1, 0, 9)], [(1, "a", 5), (1, "b", 2), (1, "c", 2)], {1: 9}, [(1, "a", 5)],
                 id="withheld ones adding to k need no more"),
])
def test_report_counts_under_k_cannot_be_seen_or_worked_out(cell_rows, cat_rows, totals, shown):
    assert published(cell_rows, cat_rows) == (totals, shown)


def test_k_is_the_threshold_given():
    assert published([(1, 0, 4)], [(1, "a", 4)], k=5) == ({}, [])
    assert published([(1, 0, 1)], [(1, "a", 1)], k=1) == ({1: 1}, [(1, "a", 1)])
