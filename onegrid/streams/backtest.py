"""Back-test: run stored history through a rule file with the live code path.

The engine decides alerts once per write transaction, at the event clock it
records with the batch (`rule_clock`). A back-test replays every stored event
in those same batches (one `ingested_at` per transaction) into a scratch
in-memory store and calls the same `decide_alerts` after each, at the clock
live recorded: with the same rules it makes exactly the decisions live made,
and with new rules it shows what they would have done at the same moments.
The whole history is replayed (watermarks and windows depend on it); only the
report is limited to [from, to).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa

from onegrid.alerts.evaluation import RuleState
from onegrid.geo import store as gstore
from onegrid.geo.store import Store
from onegrid.streams.engine import City, Rules, decide_alerts

# What identifies one alert change when comparing live with a back-test.
CHANGE_COLUMNS = ("rule_id", "key", "state", "level", "at")


@dataclass(frozen=True)
class BacktestResult:
    """Alert changes the rules would have made, and how they differ from live."""

    changes: list[dict]
    only_backtest: list[tuple]
    only_live: list[tuple]


def _event_columns(store: Store) -> list[str]:
    cols = store.query("SELECT column_name FROM information_schema.columns "
                       "WHERE table_name = 'events' ORDER BY ordinal_position")
    return [c for c in cols.column("column_name").to_pylist()
            if c not in ("ingested_at", "late")]


def stored_batches(store: Store) -> Iterator[tuple[int, pa.Table]]:
    """Yield (ingested_at in epoch µs, events) per write transaction, in order."""
    cols = ", ".join(f'"{c}"' for c in _event_columns(store))
    times = store.query("SELECT DISTINCT epoch_us(ingested_at) AS us FROM events "
                        "ORDER BY us").column("us").to_pylist()
    for us in times:
        yield us, store.query(f"SELECT {cols} FROM events WHERE epoch_us(ingested_at) = ? "
                              "ORDER BY kafka_partition, kafka_offset", [us])


def _changes(store: Store, start: datetime, end: datetime) -> list[dict]:
    return store.query(
        'SELECT rule_id, key, state, level, "at", value, severity, alert_id '
        'FROM alert_transitions WHERE "at" >= ? AND "at" < ? '
        'ORDER BY "at", rule_id, key, state', [start, end]).to_pylist()


def backtest(history: Store, rules: Rules, city: City, start: datetime,
             end: datetime) -> BacktestResult:
    """Replay `history`'s events in [start, end) through `rules`; compare with live."""
    clocks = gstore.recorded_clocks(history.cursor())
    scratch = Store(":memory:")
    try:
        state = RuleState()
        for us, batch in stored_batches(history):
            at = clocks.get(us)
            at = datetime.fromtimestamp(at / 1000, UTC) if at is not None else None

            def step(cur, batch=batch, state=state, at=at):
                gstore.insert_events(cur, batch)
                if at is None:  # live decided nothing after this batch
                    return state
                return decide_alerts(cur, rules, state, "backtest.", city.regions, at=at)[0]

            state = scratch.write(step)
        would = _changes(scratch, start, end)
    finally:
        scratch.close()
    live = _changes(history, start, end)
    keys_would = {tuple(c[k] for k in CHANGE_COLUMNS) for c in would}
    keys_live = {tuple(c[k] for k in CHANGE_COLUMNS) for c in live}
    return BacktestResult(would, sorted(keys_would - keys_live), sorted(keys_live - keys_would))


def open_history(db: Path) -> Store:
    """Open a node's store for reading (no engine may hold it open)."""
    return Store(db, read_only=True)
