"""The engine's decisions for one batch: validate, place on the grid, store.

`process(messages, city, now)` is pure: it returns an `Outcome` holding the
batch's valid events with their cells and regions, and its dead letters. The
live loop (`consumer`), back-tests and tests all call it. `store_outcome` is the
write that runs inside `Store.write` with the batch's offsets, so the batch is
stored exactly once. Polling, committing and stopping belong to `consumer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

import duckdb
import msgspec
import numpy as np
import pyarrow as pa

from onegrid.alerts import evaluation, silences
from onegrid.alerts.evaluation import RuleState
from onegrid.alerts.model import Rule, Transition
from onegrid.geo import store as gstore
from onegrid.geo import windows
from onegrid.geo.cells import cells_to_parents, latlng_to_cells
from onegrid.geo.regions import Regions, cell_table_arrow, cells_to_regions
from onegrid.geo.registry import Registry
from onegrid.geo.stored_ids import StoredIds, existing_ids
from onegrid.streams.contract import ALERTS, DLQ, CommandMessage, topic_name
from onegrid.streams.validate import RawMessage, Rejection, drop_duplicates, validate

REGION_COLUMNS = ("grid_id", "community_id", "street_id", "district_id")

DEAD_LETTER_SCHEMA = pa.schema([
    ("topic", pa.string()), ("partition", pa.int32()), ("offset", pa.int64()),
    ("key", pa.binary()), ("error_code", pa.string()), ("reason", pa.string()),
    ("payload", pa.binary()),
])


@dataclass(frozen=True)
class City:
    """What the engine needs to know of the city: its registers and its grid."""

    registry: Registry
    regions: Regions


@dataclass(frozen=True)
class Outcome:
    """What one batch decided: events to store, messages to reject, and the
    well-formed case commands to apply (with the message each came in)."""

    events: pa.Table
    rejections: list[Rejection] = field(default_factory=list)
    commands: list[tuple[RawMessage, CommandMessage]] = field(default_factory=list)


@dataclass(frozen=True)
class Stored:
    """What a batch's write did: rows stored and dead letters written (with repeats),
    and the stored rows themselves (cases take in the incident reports among them)."""

    events: int
    dead_letters: int
    table: pa.Table | None = None


def place_on_grid(events: pa.Table, regions: Regions) -> pa.Table:
    """Return `events` with res-10 cells, parents 9/8/7 and region ids appended."""
    lat = events.column("lat").to_numpy()
    lng = events.column("lng").to_numpy()
    cells = latlng_to_cells(lat, lng)
    parents = cells_to_parents(cells)
    events = events.append_column("cell", pa.array(cells, pa.uint64()))
    for res, arr in parents.items():
        events = events.append_column(f"cell_r{res}", pa.array(arr, pa.uint64()))
    found = cells_to_regions(regions, cells)
    for name in REGION_COLUMNS:
        events = events.append_column(name, pa.array(found[name], pa.string()))
    return events


def process(messages: Sequence[RawMessage], city: City, now: datetime) -> Outcome:
    """Return the batch's events placed on the grid, and its rejections."""
    checked = validate(messages, city.registry, now)
    return Outcome(place_on_grid(checked.events, city.regions), checked.rejections,
                   checked.commands)


def rejections_to_table(rejections: Sequence[Rejection]) -> pa.Table:
    """Return dead-letter rows for `rejections`, payloads byte for byte as received."""
    return pa.table({
        "topic": [r.message.topic for r in rejections],
        "partition": [r.message.partition for r in rejections],
        "offset": [r.message.offset for r in rejections],
        "key": [r.message.key for r in rejections],
        "error_code": [str(r.code) for r in rejections],
        "reason": [r.reason for r in rejections],
        "payload": [r.message.value for r in rejections],
    }, schema=DEAD_LETTER_SCHEMA)


def dead_letters_to_outbox(letters: pa.Table, prefix: str) -> pa.Table:
    """Return outbox rows that re-publish each dead letter, unchanged, on the DLQ topic.

    Where it came from and why it was refused travel in headers, so the value
    stays exactly what the producer sent.
    """
    rows = letters.to_pylist()
    headers = [msgspec.json.encode({
        "onegrid.topic": r["topic"], "onegrid.partition": str(r["partition"]),
        "onegrid.offset": str(r["offset"]), "onegrid.error_code": r["error_code"],
        "onegrid.reason": r["reason"],
    }).decode() for r in rows]
    return pa.table({
        "topic": [topic_name(DLQ, prefix)] * len(rows),
        "key": letters.column("key"), "value": letters.column("payload"), "headers": headers,
    })


def _split_stored_duplicates(cur: duckdb.DuckDBPyConnection, events: pa.Table,
                             messages: Sequence[RawMessage], ids: StoredIds | None
                             ) -> tuple[pa.Table, list[Rejection], np.ndarray | None]:
    """Move events whose id is already stored, or repeats an earlier row, to the rejections;
    with `ids` (the store's index), also return the batch's id hashes for it.

    Rows repeat each other only when several polled batches are written together.
    """
    if events.num_rows == 0:
        return events, [], None
    if ids is None:
        return (*drop_duplicates(events, messages, existing_ids(cur, events.column("id"))),
                None)
    stored, hashes = ids.check(cur, events.column("id"))
    return (*drop_duplicates(events, messages, stored), hashes)


def store_outcome(cur: duckdb.DuckDBPyConnection, outcome: Outcome,
                  messages: Sequence[RawMessage], prefix: str,
                  ids: StoredIds | None = None) -> Stored:
    """Write a batch's outcome inside the caller's transaction; return the counts.

    Ids already stored become dead letters with `duplicate_id`, so a re-sent
    event is kept once and the repeat is on record. The live engine passes the
    store's `ids` index, which answers that without joining every stored id.
    """
    events, dups, hashes = _split_stored_duplicates(cur, outcome.events, messages, ids)
    letters = rejections_to_table([*outcome.rejections, *dups])
    gstore.insert_events(cur, events)
    if ids is not None and hashes is not None:
        ids.added(hashes, events.num_rows)
    gstore.insert_dead_letters(cur, letters)
    gstore.enqueue(cur, dead_letters_to_outbox(letters, prefix))
    return Stored(events.num_rows, letters.num_rows, events)


@dataclass(frozen=True)
class Rules:
    """What the engine decides alerts with: the rules in force and the silences."""

    rules: tuple[Rule, ...]
    silences: tuple = ()


def decide_alerts(cur: duckdb.DuckDBPyConnection, rules: Rules, state: RuleState,
                  prefix: str, regions: Regions | None = None,
                  expected: set[tuple[str, int]] | None = None,
                  at: datetime | None = None) -> tuple[RuleState, list[Transition]]:
    """Evaluate the rules at the event clock, inside the batch's transaction.

    Writes each change to `alerts` and `alert_transitions` and queues it for
    `onegrid.alerts`, so alerts are exactly-once with the batch that caused
    them, and records the clock it decided at. Returns the new state (the
    caller keeps it only if the transaction commits) and the changes, as recorded.
    Does nothing until the clock moves. `expected` are the input partitions
    the clock must wait for; `at` forces the clock (the back-test replays the
    recorded one).
    """
    at = at or gstore.event_clock(cur, expected)
    if at is None or (state.clock is not None and at <= state.clock) or not rules.rules:
        return state, []
    gstore.record_clock(cur, at)
    gstore.fold_last_seen(cur, at)
    if regions is not None:  # region-scoped rules join cells to their regions
        windows.register_region_cells(cur, cell_table_arrow(regions))
    new_state, changes = evaluation.evaluate(cur, rules.rules, state, at)
    by_id = {r.id: r for r in rules.rules}
    changes = _with_evidence(cur, changes, by_id)
    if regions is not None:
        changes = _with_grids(changes, regions)
    if rules.silences:
        lookup = _region_lookup(regions) if regions is not None else (lambda _grid: ())
        changes = silences.apply_silences(changes, rules.silences, lookup)
    if changes:
        gstore.upsert_alerts(cur, evaluation.alert_rows(changes))
        gstore.insert_alert_transitions(cur, evaluation.transition_rows(changes))
        gstore.enqueue(cur, _alert_messages(changes, by_id, prefix))
        new_state = _with_final_alerts(new_state, changes)
    return new_state, changes


def _with_evidence(cur: duckdb.DuckDBPyConnection, changes: list[Transition],
                   by_id: dict[str, Rule]) -> list[Transition]:
    """Attach evidence rule by rule (one query each), keeping the changes' order."""
    by_rule: dict[str, list[Transition]] = {}
    for t in changes:
        by_rule.setdefault(t.alert.rule_id, []).append(t)
    done = {id(old): new for rule_id, ts in by_rule.items()
            for old, new in zip(ts, evaluation.attach_evidence(cur, by_id[rule_id], ts),
                                strict=True)}
    return [done[id(t)] for t in changes]


def _with_grids(changes: list[Transition], regions: Regions) -> list[Transition]:
    """Give each changed alert the grid of its cell (for silences by region and the map).

    An alert on a coarser cell takes the grid of the res-10 cell that spoke for it.
    """
    cells = np.array([t.alert.cell or 0 for t in changes], dtype=np.uint64)
    grids = cells_to_regions(regions, cells)["grid_id"]
    return [t if t.alert.grid_id or t.alert.cell is None or grid is None
            else replace(t, alert=replace(t.alert, grid_id=grid))
            for t, grid in zip(changes, grids, strict=True)]


def _with_final_alerts(state: RuleState, changes: list[Transition]) -> RuleState:
    """Carry evidence and silencing of the recorded changes into the live state."""
    alerts = dict(state.alerts)
    for t in changes:
        key = (t.alert.rule_id, t.alert.key)
        if key in alerts and alerts[key].alert_id == t.alert.alert_id:
            alerts[key] = t.alert
    return RuleState(alerts, state.clock, state.counted)


def _alert_messages(changes: list[Transition], by_id: dict[str, Rule], prefix: str) -> pa.Table:
    values = [msgspec.json.encode(evaluation.transition_to_message(by_id[t.alert.rule_id], t))
              for t in changes]
    return pa.table({
        "topic": [topic_name(ALERTS, prefix)] * len(changes),
        "key": [t.alert.key.encode() for t in changes], "value": values,
        "headers": ["{}"] * len(changes),
    })


def _region_lookup(regions: Regions):
    """Return grid id -> its grid, community, street and district ids, for silences."""
    grids = regions.levels["grid"]
    communities = regions.levels["community"]
    streets = regions.levels["street"]

    def lookup(grid_id: str | None) -> tuple[str, ...]:
        if not grid_id or grid_id not in grids.index:
            return ()
        community = grids.at[grid_id, "parent_id"]
        street = communities.at[community, "parent_id"]
        return (grid_id, community, street, streets.at[street, "parent_id"])

    return lookup
