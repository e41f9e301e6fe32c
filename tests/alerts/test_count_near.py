"""Count rules decided near new reports only give exactly what a full count gives."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import h3
import numpy as np
import pyarrow as pa

from onegrid.alerts import evaluation
from onegrid.alerts.evaluation import RuleState
from onegrid.alerts.model import Level, Rule, Scope
from onegrid.geo import store as gstore
from onegrid.streams.engine import Rules, decide_alerts
from tests.event_tables import event_table

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# A patch of res-10 cells (ring 5 around one) where clusters form, move and fade.
PATCH = [h3.str_to_int(c) for c in h3.grid_disk(h3.latlng_to_cell(31.23, 121.47, 10), 5)]
CATEGORIES = ["street_vending", "noise_complaint"]


def count_rule(rule_id: str, metric: str, for_s: int = 0) -> Rule:
    return Rule(id=rule_id, version="v1", kind="count", title_zh="", title_en="", metric=metric,
                stat="count", window_s=300, scope=Scope.CELL, res=10, op=">=",
                levels=(Level("alert", 2, 3, 3),), for_s=for_s, clear_for_s=60, ring_k=1)


RULES = Rules((count_rule("any", "incident:*"), count_rule("vending", "incident:street_vending",
                                                            for_s=40)))


def reports(rng: np.random.Generator, step: int) -> pa.Table:
    """A few reports 0-200 s before the step's time (some late, some of an old minute)."""
    n = int(rng.integers(0, 7))
    cells = rng.choice(PATCH, n)
    ts = [T0 + timedelta(seconds=step * 20 - float(rng.uniform(0, 200))) for _ in range(n)]
    return event_table(**{
        "id": [f"r{step}-{i}" for i in range(n)], "topic": ["incident"] * n,
        "ts": pa.array(ts, pa.timestamp("ms", tz="UTC")), "cell": pa.array(cells, pa.uint64()),
        "category": list(rng.choice(CATEGORIES, n)), "severity": pa.array([2] * n, pa.int8()),
        "source_id": pa.nulls(n, pa.string()), "metric": pa.nulls(n, pa.string()),
        "value": pa.nulls(n, pa.float64()),
    })


def test_near_reports_equals_a_full_count_through_window_starts_and_moving_centres(
        store_factory, monkeypatch):
    near_calls = []
    real = evaluation.observe_counts_near
    monkeypatch.setattr(evaluation, "observe_counts_near",
                        lambda *a: near_calls.append(sorted(r.id for r in a[1])) or real(*a))
    rng = np.random.default_rng(11)
    near, full = store_factory("near.duckdb"), store_factory("full.duckdb")
    near_state, full_state, changes = RuleState(), RuleState(), 0
    for step in range(1, 60):
        batch = reports(rng, step)
        at = T0 + timedelta(seconds=step * 20)

        def decide(cur, state, batch=batch, at=at):
            gstore.insert_events(cur, batch)
            return decide_alerts(cur, RULES, state, "t.", at=at)

        near_state, near_changes = near.write(lambda cur, s=near_state: decide(cur, s))
        # The full count forgets what it counted, so it reads every reporting cell.
        forgot = replace(full_state, counted={})
        full_state, full_changes = full.write(lambda cur, s=forgot: decide(cur, s))

        def seen(changes):
            return [(t.alert.rule_id, t.alert.key, str(t.alert.state), t.alert.value,
                     t.alert.updated_at) for t in changes]

        assert seen(near_changes) == seen(full_changes), f"step {step}"
        changes += len(near_changes)
    # Both rules (two metrics, one window) were counted near new reports, in one read.
    assert changes > 10 and near_calls.count(["any", "vending"]) > 30, (changes, near_calls)
