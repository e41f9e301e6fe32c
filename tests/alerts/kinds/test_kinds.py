"""Rule kinds over statistics from a real store: the values they report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import h3
import pyarrow as pa
import pytest

from onegrid.alerts.kinds import KINDS
from onegrid.alerts.model import Level, Rule, Scope
from onegrid.geo import store as gstore
from onegrid.geo import windows

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CELL = h3.str_to_int(h3.latlng_to_cell(31.23, 121.47, 10))


def rule(kind="threshold", stat="mean", metric="pm25", **kw) -> Rule:
    base = dict(id="r", version="v", kind=kind, title_zh="", title_en="", metric=metric,
                stat=stat, window_s=600, scope=Scope.CELL, res=10, op=">=",
                levels=(Level("alert", 2, 75, 70),), for_s=0, clear_for_s=0)
    return Rule(**{**base, **kw})


def events(rows: list[tuple[str, int, float, int]], topic="environment") -> pa.Table:
    """rows: (id, minute, value, cell) -> an events batch with stats columns."""
    n = len(rows)
    value = [v for _, _, v, _ in rows]
    return pa.table({
        "id": [r[0] for r in rows], "topic": [topic] * n,
        "ts": pa.array([T0 + timedelta(minutes=m) for _, m, _, _ in rows],
                       pa.timestamp("ms", tz="UTC")),
        "cell": pa.array([c for *_, c in rows], pa.uint64()),
        "source_id": [f"s-{r[0][0]}" for r in rows],
        "metric": ["water_level_m"] * n, "value": value, "pm25": value,
        "category": ["street_vending"] * n, "severity": pa.array([2] * n, pa.int8()),
        **{p: pa.nulls(n, pa.float64()) for p in ("pm10", "no2", "so2", "o3", "co")},
    })


@pytest.fixture
def filled(store):
    store.write(lambda cur: gstore.insert_events(cur, events(
        [("a1", 0, 60.0, CELL), ("a2", 1, 90.0, CELL), ("a3", 2, 120.0, CELL)])))
    return store


def test_threshold_mean_is_the_exact_mean_of_the_window(filled):
    stats = filled.write(lambda cur: windows.window_stats(cur, "pm25", T0, T0 + timedelta(
        minutes=10)))
    [obs] = KINDS["threshold"](rule(), stats, T0)
    assert obs.value == pytest.approx(90.0) and obs.key == str(CELL)


def test_window_stats_for_chosen_cells_reads_only_theirs(filled):
    other = h3.str_to_int(h3.grid_ring(h3.int_to_str(CELL), 1)[0])
    end = T0 + timedelta(minutes=10)
    mine = filled.write(lambda cur: windows.window_stats(cur, "pm25", T0, end, cells=[CELL]))
    theirs = filled.write(lambda cur: windows.window_stats(cur, "pm25", T0, end, cells=[other]))
    assert mine.to_pylist() == filled.write(
        lambda cur: windows.window_stats(cur, "pm25", T0, end)).to_pylist()
    assert mine.num_rows == 1 and theirs.num_rows == 0


@pytest.mark.parametrize("stat, expected", [("max", 120.0), ("min", 60.0), ("sum", 270.0),
                                            ("count", 3.0)])
def test_threshold_statistics(filled, stat, expected):
    stats = filled.write(lambda cur: windows.window_stats(cur, "pm25", T0, T0 + timedelta(
        minutes=10)))
    assert KINDS["threshold"](rule(stat=stat), stats, T0)[0].value == expected


def test_parent_resolution_rolls_up_the_children_exactly(filled):
    stats = filled.write(lambda cur: windows.window_stats(cur, "pm25", T0, T0 + timedelta(
        minutes=10), level=8))
    assert stats.column("key").to_pylist() == [
        str(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(CELL), 8)))]
    assert stats.column("n").to_pylist() == [3]


def test_window_excludes_buckets_outside_it(filled):
    stats = filled.write(lambda cur: windows.window_stats(cur, "pm25", T0 + timedelta(minutes=1),
                                                         T0 + timedelta(minutes=2)))
    assert stats.column("n").to_pylist() == [1]


def test_three_reports_in_neighbouring_cells_count_as_one_cluster(store):
    ring = sorted(h3.str_to_int(c) for c in h3.grid_ring(h3.int_to_str(CELL), 1))
    store.write(lambda cur: gstore.insert_events(cur, events(
        [("i1", 0, 2, CELL), ("i2", 1, 2, ring[0]), ("i3", 2, 2, ring[1])], topic="incident")))
    stats = store.write(lambda cur: windows.window_stats(cur, "incident:*", T0, T0 + timedelta(
        minutes=30)))
    count_rule = rule(kind="count", stat="count", metric="incident:*", ring_k=1,
                      levels=(Level("alert", 2, 3, 3),))
    [obs] = KINDS["count"](count_rule, stats, T0)
    assert obs.value == 3.0, "one cluster of three, not one per reporting cell"
    assert obs.key.endswith("|incident:street_vending")
    # A cell with a live alert that is no longer the centre reports 0, so its alert resolves.
    other = f"{ring[1] if obs.cell != ring[1] else ring[0]}|incident:street_vending"
    found = {o.key: o.value for o in KINDS["count"](count_rule, stats, T0, {other})}
    assert found == {obs.key: 3.0, other: 0.0}


def test_rate_is_last_minus_first_bucket_mean(store):
    store.write(lambda cur: gstore.insert_events(cur, events(
        [("w1", 0, 1.0, CELL), ("w2", 10, 1.4, CELL), ("w3", 20, 1.9, CELL)], topic="sensor")))
    stats = store.write(lambda cur: windows.window_first_last(
        cur, "water_level_m", T0, T0 + timedelta(minutes=30)))
    [obs] = KINDS["rate"](rule(kind="rate", metric="water_level_m"), stats, T0)
    assert obs.value == pytest.approx(0.9)


def test_nodata_reports_seconds_of_silence_per_source(store):
    store.write(lambda cur: gstore.insert_events(cur, events(
        [("x1", 0, 1.0, CELL), ("y1", 5, 1.0, CELL)], topic="sensor")))

    def seen_at(cur, at=T0 + timedelta(minutes=20)):
        gstore.fold_last_seen(cur, at)
        return windows.last_seen(cur, "sensor")

    seen = store.write(seen_at)
    obs = KINDS["nodata"](rule(kind="nodata"), seen, T0 + timedelta(minutes=20))
    assert {o.key: o.value for o in obs} == {"s-x": 1200.0, "s-y": 900.0}
