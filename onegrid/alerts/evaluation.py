"""Rule evaluation at the event-time clock: statistics in, alert transitions out.

Called inside the engine's write transaction after a batch is stored, and by
the back-test on a scratch store, with the same arguments: the store cursor,
the rules, the live alerts and the clock (the slowest partition's watermark).
It reads window statistics through `geo.store`, asks each rule kind for its
observations and folds them through `lifecycle`. It decides; the caller writes
and publishes (`alert_rows`, `transition_to_message`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import duckdb
import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from h3.api import basic_int as h3i

from onegrid.alerts import lifecycle
from onegrid.alerts.kinds import KINDS
from onegrid.alerts.kinds import count as count_kind
from onegrid.alerts.model import Alert, AlertState, Observation, Rule, Scope, Transition
from onegrid.alerts.rules import ANY_INCIDENT
from onegrid.geo import store as gstore
from onegrid.geo import windows

POLLUTANT_COLUMNS = ("pm25", "pm10", "no2", "so2", "o3", "co")

log = logging.getLogger(__name__)

BUCKET = timedelta(minutes=1)
EVIDENCE_LIMIT = 20  # event ids kept per alert change: enough to open, small on the wire

# A rule's metric -> the events topic that carries it (for no-data rules).
_NODATA_TOPIC = {"sensor": "sensor", "station": "environment"}
_LEVEL_COLUMN = {Scope.GRID: "grid_id", Scope.COMMUNITY: "community_id",
                 Scope.STREET: "street_id", Scope.DISTRICT: "district_id"}


@dataclass
class RuleState:
    """What evaluation carries between batches: live alerts and the last clock.

    `alerts` maps (rule id, key) to the live (pending or firing) alert.
    """

    alerts: dict[tuple[str, str], Alert] = field(default_factory=dict)
    clock: datetime | None = None
    # Count rule id -> (version, window start) it was last decided with, in this
    # process: the same again lets the next decision count only near new reports.
    counted: dict[str, tuple[str, datetime]] = field(default_factory=dict)


def window_bounds(rule: Rule, at: datetime) -> tuple[datetime, datetime]:
    """Return [start, end) of the minute buckets a rule's window covers at `at`.

    The window ends with the bucket holding `at` (partly filled up to the
    clock) and reaches back window_s, aligned to whole minutes.
    """
    end = at.replace(second=0, microsecond=0) + BUCKET
    return end - timedelta(seconds=max(rule.window_s, 60)), end


def is_due(rule: Rule, previous: datetime | None, at: datetime) -> bool:
    """Return whether a decision at clock `at` evaluates the rule, the one before having
    been at `previous`: every decision, or with `every`, the first one on or past each
    multiple of it in event time (the same ones in a back-test, which replays the clocks).
    """
    if not rule.every_s or previous is None:
        return True
    return at.timestamp() // rule.every_s > previous.timestamp() // rule.every_s


def _level(rule: Rule) -> int | str:
    return rule.res if rule.scope == Scope.CELL else _LEVEL_COLUMN[rule.scope]


def _read_stats(cur: duckdb.DuckDBPyConnection, rule: Rule, at: datetime) -> pa.Table:
    """Return the statistics a rule's kind needs at `at` (one store read)."""
    start, end = window_bounds(rule, at)
    if rule.kind == "nodata":
        topic = _NODATA_TOPIC[rule.extra.get("source", "sensor")]
        return windows.last_seen(cur, topic, rule.metric if topic == "sensor" else None)
    if rule.kind == "forecast":  # a trend fit, not window totals
        if rule.scope == Scope.SENSOR:
            return windows.source_trend(cur, rule.metric, start, end, at)
        return windows.window_trend(cur, rule.metric, start, end, at, _level(rule))
    if rule.scope == Scope.SENSOR:  # per device: from source_stats
        read = windows.source_first_last if rule.kind == "rate" else windows.source_window_stats
        return read(cur, rule.metric, start, end)
    if rule.kind == "rate":
        return windows.window_first_last(cur, rule.metric, start, end, rule.res)
    return windows.window_stats(cur, rule.metric, start, end,
                               10 if rule.kind == "count" else _level(rule))


def _read_key(rule: Rule) -> tuple:
    """Rules with equal keys read the same statistics (shared within one evaluation)."""
    level = 10 if rule.kind == "count" else (None if rule.scope == Scope.SENSOR
                                             else _level(rule))
    source = rule.extra.get("source") if rule.kind == "nodata" else None
    return (rule.kind if rule.kind in ("rate", "nodata", "forecast") else "stats",
            rule.scope == Scope.SENSOR, rule.metric, rule.window_s, level, source)


def _family(rule: Rule) -> str | None:
    """Return which shared query a rule's read can join: 'cells' (cell statistics at
    any H3 level), 'sources' (per device) or 'seen' (no-data), else None."""
    if rule.kind == "threshold" and rule.scope == Scope.CELL \
            and not (rule.metric or ":*").endswith(":*"):
        return "cells"
    if rule.kind == "threshold" and rule.scope == Scope.SENSOR:
        return "sources"
    if rule.kind == "nodata":
        return "seen"
    return None


def _family_read(rule: Rule, family: str, at: datetime) -> tuple:
    """Return what a rule asks of its family's query."""
    if family == "seen":
        topic = _NODATA_TOPIC[rule.extra.get("source", "sensor")]
        return topic, rule.metric if topic == "sensor" else None
    start, end = window_bounds(rule, at)
    if family == "cells":
        return rule.metric, start, end, 10 if rule.kind == "count" else rule.res
    return rule.metric, start, end


def _read_family(cur: duckdb.DuckDBPyConnection, family: str, reads: list[tuple],
                 at: datetime) -> tuple[pa.Table, str]:
    """Run one family's shared query; return it and the column numbering its reads."""
    if family == "seen":
        return windows.many_last_seen(cur, reads), "read"
    if family == "sources":
        return windows.many_source_window_stats(cur, reads), "window"
    return windows.many_window_stats(cur, [r[:3] for r in reads], [r[3] for r in reads]), \
        "window"


def prefetch(cur: duckdb.DuckDBPyConnection, rules: Sequence[Rule], at: datetime) -> dict:
    """Return statistics for `observe`'s cache, reading windows of a family in one query.

    A query costs a few milliseconds however little it reads (more on a busy
    machine), and the demo rules alone read fifteen windows per decision, so
    windows of the same kind (cell statistics at any level, per device, last
    seen) are read together and split afterwards.
    """
    families: dict[str, dict[tuple, tuple]] = {}
    for rule in rules:
        family = _family(rule)
        if family is not None:
            families.setdefault(family, {})[_read_key(rule)] = _family_read(rule, family, at)
    cache = {}
    for family, reads in families.items():
        if len(reads) < 2:  # a lone read goes the usual way
            continue
        table, column = _read_family(cur, family, list(reads.values()), at)
        number = table.column(column)
        table = table.drop_columns([column])
        for i, key in enumerate(reads):
            cache[key] = table.filter(pc.equal(number, i))
    return cache


def observe(cur: duckdb.DuckDBPyConnection, rule: Rule, at: datetime,
            cache: dict | None = None, live: Collection[str] = ()) -> list[Observation]:
    """Return the rule's observations at `at`, one per scope key with data.

    `cache` shares statistics between rules that read the same ones (same
    metric, window and level) within one evaluation. `live` are the keys with
    a live alert: the kind must observe those, and may skip quiet others.
    """
    cache = {} if cache is None else cache
    key = _read_key(rule)
    if key not in cache:
        cache[key] = _read_stats(cur, rule, at)
    return KINDS[rule.kind](rule, cache[key], at, live)


def _disks(cells: Iterable[int], k: int) -> set[int]:
    return {c for cell in cells for c in count_kind.disk(int(cell), k)}


def observe_counts_near(cur: duckdb.DuckDBPyConnection, rules: Sequence[Rule], at: datetime,
                        reported: np.ndarray, live: Mapping[str, Mapping[str, Alert]]
                        ) -> dict[str, list[Observation]]:
    """Return, per count rule, its observations at `at` when only `reported` cells have
    new reports since its last decision in the same window: those `observe` would give.

    Within one window start, counts only grow, and only within k rings of a new
    report; a cell's centre status depends on counts within 2k of it. So only
    keys within 2k of a new report (and the live ones) can differ from the last
    decision, and those need counts within 4k. Every other key was already
    below the threshold (a key that could start an alert is live), so
    `evaluate` would drop it anyway. A busy hour has hundreds of thousands of
    reporting cells in a 30-minute window and a few dozen new ones a decision.
    Rules with the same window share one read (every count metric is an
    incident one): the read is a scan of the window, ~20 ms with an hour of history.
    """
    planned: dict[tuple, list[tuple[Rule, set[int], set[int]]]] = {}
    for rule in rules:
        k = rule.ring_k
        live_cells = {int(a.cell) for a in live[rule.id].values() if a.cell is not None}
        keys = _disks(reported.tolist(), 2 * k) | live_cells
        if keys:
            near = _disks(reported.tolist(), 4 * k) | _disks(live_cells, 2 * k)
            planned.setdefault(window_bounds(rule, at), []).append((rule, keys, near))
    found: dict[str, list[Observation]] = {rule.id: [] for rule in rules}
    for (start, end), group in planned.items():
        metrics = {rule.metric for rule, _, _ in group}
        metric = metrics.pop() if len(metrics) == 1 else ANY_INCIDENT
        # More cells than a rule asked for only add true counts of other cells.
        cells = set().union(*(near for _, _, near in group))
        stats = windows.window_stats(cur, metric, start, end, 10, cells=np.fromiter(
            cells, dtype=np.uint64, count=len(cells)))
        for rule, keys, _ in group:
            mine = stats if rule.metric == metric else \
                stats.filter(pc.equal(stats.column("metric"), rule.metric))
            found[rule.id] = [o for o in KINDS["count"](rule, mine, at, live[rule.id].keys())
                              if o.cell in keys]
    return found


def _counts_near(cur: duckdb.DuckDBPyConnection, rules: Sequence[Rule], state: RuleState,
                 at: datetime) -> dict[str, list[Observation]]:
    """Return `observe_counts_near` for the count rules whose window start holds since
    their last decision; {} if it fails (they are then counted in full)."""
    holding = [r for r in rules if r.kind == "count"
               and state.counted.get(r.id) == (r.version, window_bounds(r, at)[0])]
    if not holding:
        return {}
    live = {r.id: {key: a for (rid, key), a in state.alerts.items() if rid == r.id}
            for r in holding}
    try:
        # New reports are the only places a count can have grown.
        reported = gstore.incident_cells_since_last_decision(cur).to_numpy()
        return observe_counts_near(cur, holding, at, reported, live)
    except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
        log.error("counting near new reports failed, counting in full: %r", exc)
        return {}


def _with_silent_keys(rule: Rule, observations: list[Observation],
                      live: Mapping[str, Alert], at: datetime) -> list[Observation]:
    """Add a no-data observation for live alerts whose key had no data this time,
    so their clocks still run (a None value never fires nor resolves)."""
    seen = {o.key for o in observations}
    return observations + [Observation(rule.id, key, at, None, cell=a.cell, grid_id=a.grid_id)
                           for key, a in live.items() if key not in seen]


def evaluate(cur: duckdb.DuckDBPyConnection, rules: Sequence[Rule], state: RuleState,
             at: datetime) -> tuple[RuleState, list[Transition]]:
    """Evaluate every rule due at clock `at` (`is_due`); return the new state and the
    transitions.

    A rule that fails to evaluate is logged and skipped for this batch: one
    broken rule must not stop ingest or the other rules.
    """
    alerts = dict(state.alerts)
    transitions: list[Transition] = []
    # A rule not due keeps its alerts as they are; a count rule then also loses its
    # `counted` entry, so its next decision counts in full (new reports in between
    # were not seen).
    rules = [rule for rule in rules if is_due(rule, state.clock, at)]
    shared = prefetch(cur, rules, at)
    near, counted = _counts_near(cur, rules, state, at), {}
    for rule in rules:
        live = {key: a for (rid, key), a in alerts.items() if rid == rule.id}
        try:
            if rule.id in near:
                found = near[rule.id]
            else:
                found = observe(cur, rule, at, shared, live.keys())
            if rule.kind == "count":
                counted[rule.id] = (rule.version, window_bounds(rule, at)[0])
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            log.error("rule %s (line %d) skipped: %r", rule.id, rule.source_line, exc)
            continue
        # A quiet key without a live alert changes nothing: skip it before the
        # fold (most cells are quiet, and a busy city has tens of thousands).
        observations = [o for o in _with_silent_keys(rule, found, live, at)
                        if o.key in live or lifecycle.can_start(rule, o.value)]
        after, changed = lifecycle.evaluate_all(rule, live, observations)
        for key in live:
            alerts.pop((rule.id, key), None)
        alerts.update({(rule.id, key): a for key, a in after.items()})
        transitions.extend(changed)
    return RuleState(alerts, at, counted), transitions


def _metric_filter(rule: Rule) -> tuple[str, list]:
    """Return the SQL condition (and params) picking the events a rule's value came from
    (incident:* clusters are matched per alert instead)."""
    metric = rule.metric or ""
    if metric in POLLUTANT_COLUMNS:
        return f"{metric} IS NOT NULL", []
    if metric.startswith("incident:"):
        return "category = ?", [metric.removeprefix("incident:")]
    return "metric = ?", [metric]


def _evidence_cells(rule: Rule, alert: Alert) -> tuple[str, list[int]]:
    """Return the events column and cells an alert's value was computed over."""
    if rule.kind == "count":
        return "cell", [int(c) for c in h3i.grid_disk(int(alert.cell), rule.ring_k)]
    if rule.scope != Scope.CELL:
        return "cell", [int(alert.cell)]
    return ("cell" if rule.res == 10 else f"cell_r{rule.res}"), [int(alert.key)]


def _evidence_places(rule: Rule, alert: Alert) -> tuple[str, list]:
    """Return the events column and the values an alert's value was computed over."""
    if rule.scope == Scope.SENSOR:
        return "source_id", [alert.key]
    return _evidence_cells(rule, alert)


def attach_evidence(cur: duckdb.DuckDBPyConnection, rule: Rule,
                    changes: Sequence[Transition]) -> list[Transition]:
    """Return the rule's transitions with the ids of the latest events that made each value.

    One query per rule for all its changed alerts: they share the clock and so
    the window.
    """
    wanted = [t for t in changes if rule.kind != "nodata"
              and (t.alert.cell is not None or rule.scope == Scope.SENSOR)]
    if not wanted:
        return list(changes)
    pairs = {"alert_id": [], "place": [], "category": []}
    column = "cell"
    # One alert can change twice in a decision (pending then firing): look it up once.
    for t in {t.alert.alert_id: t for t in wanted}.values():
        column, places = _evidence_places(rule, t.alert)
        pairs["alert_id"] += [t.alert.alert_id] * len(places)
        pairs["place"] += places
        # incident:* clusters: each alert's category is in its key (cell|incident:code)
        pairs["category"] += [t.alert.key.partition("|incident:")[2] or None] * len(places)
    start, end = window_bounds(rule, wanted[0].alert.updated_at)
    if rule.metric == ANY_INCIDENT:
        where, params = "e.category = p.category", []
    else:
        where, params = _metric_filter(rule)
        where = f"e.{where}"
    # Places typed as the events column (cells as UBIGINT): a cast on the events side
    # would run on every event of the window.
    places = pa.table({**pairs, "place": pa.array(
        pairs["place"], pa.string() if column == "source_id" else pa.uint64())})
    reading = _reading_column(rule)
    with gstore.registered(cur, "evidence_places", places):
        since = _evidence_since(cur, rule, column, start, end)
    # An alert the minute statistics know no readings of is looked up over its window.
    since_of = [since.get(a, start) for a in pairs["alert_id"]]
    places = places.append_column("since", pa.array(since_of, pa.timestamp("us", tz="UTC")))
    earliest = min(since_of)
    with gstore.registered(cur, "evidence_places", places):
        rows = cur.execute(
            f"SELECT p.alert_id, list(e.id ORDER BY e.ts DESC, e.id)[1:{EVIDENCE_LIMIT}], "
            f"list({reading}::DOUBLE ORDER BY e.ts DESC, e.id)[1:{EVIDENCE_LIMIT}] "
            f"FROM evidence_places p JOIN events e ON e.{column} = p.place "
            f"WHERE e.ts >= ? AND e.ts < ? AND e.ts >= p.since AND {where} "
            "GROUP BY p.alert_id", [earliest, end, *params]).fetchall()
    found = {alert_id: (tuple(ids), tuple(values)) for alert_id, ids, values in rows}
    return [replace(t, alert=replace(t.alert, evidence=found[t.alert.alert_id][0],
                                     evidence_values=found[t.alert.alert_id][1]))
            if t.alert.alert_id in found else t for t in changes]


def _evidence_since(cur: duckdb.DuckDBPyConnection, rule: Rule, column: str, start,
                    end) -> dict[str, datetime]:
    """Return `windows.evidence_since` for the rule's alerts."""
    metric = None if rule.metric == ANY_INCIDENT else rule.metric
    return windows.evidence_since(cur, column, metric, start, end, EVIDENCE_LIMIT)


def _reading_column(rule: Rule) -> str:
    """Return the events column holding each evidence event's reading."""
    metric = rule.metric or ""
    if metric in POLLUTANT_COLUMNS:
        return f"e.{metric}"
    return "e.severity" if metric.startswith("incident:") else "e.value"


class AlertMessage(msgspec.Struct, kw_only=True):
    """One alert change on `onegrid.alerts` (contract fields, plus level and key)."""

    alert_id: str
    rule_id: str
    rule_version: str
    cell: str | None
    grid_id: str | None
    state: str
    severity: int
    level: str
    key: str
    value: float | None
    threshold: float
    window: int
    started_at: str
    updated_at: str
    evidence: list[str]
    evidence_values: list[float | None]
    silenced: bool
    reason: str


def transition_to_message(rule: Rule, t: Transition) -> AlertMessage:
    """Return the `onegrid.alerts` message of a transition."""
    a = t.alert
    return AlertMessage(
        alert_id=a.alert_id, rule_id=a.rule_id, rule_version=a.rule_version,
        cell=None if a.cell is None else str(a.cell), grid_id=a.grid_id, state=str(a.state),
        severity=a.severity, level=a.level, key=a.key, value=a.value, threshold=a.threshold,
        window=rule.window_s, started_at=a.started_at.isoformat(),
        updated_at=a.updated_at.isoformat(), evidence=list(a.evidence),
        evidence_values=list(a.evidence_values), silenced=a.silenced, reason=t.reason)


_UTC_MS = pa.timestamp("ms", tz="UTC")


def _alert_columns(alerts: Sequence[Alert]) -> dict[str, pa.Array]:
    """Return the columns `alerts` and `alert_transitions` share, one row per alert."""
    return {
        "alert_id": pa.array([a.alert_id for a in alerts], pa.string()),
        "rule_id": pa.array([a.rule_id for a in alerts], pa.string()),
        "rule_version": pa.array([a.rule_version for a in alerts], pa.string()),
        "key": pa.array([a.key for a in alerts], pa.string()),
        "state": pa.array([str(a.state) for a in alerts], pa.string()),
        "level": pa.array([a.level for a in alerts], pa.string()),
        "severity": pa.array([a.severity for a in alerts], pa.int8()),
        "cell": pa.array([a.cell for a in alerts], pa.uint64()),
        "grid_id": pa.array([a.grid_id for a in alerts], pa.string()),
        "value": pa.array([a.value for a in alerts], pa.float64()),
        "threshold": pa.array([a.threshold for a in alerts], pa.float64()),
        "evidence": pa.array([list(a.evidence) for a in alerts], pa.list_(pa.string())),
        "evidence_values": pa.array([list(a.evidence_values) for a in alerts],
                                    pa.list_(pa.float64())),
        "silenced": pa.array([a.silenced for a in alerts], pa.bool_()),
    }


def alert_rows(transitions: Iterable[Transition]) -> pa.Table:
    """Return the `alerts` table rows (latest per alert) of a batch's transitions."""
    latest: dict[str, Alert] = {}
    for t in transitions:
        latest[t.alert.alert_id] = t.alert
    rows = list(latest.values())
    return pa.table({
        **_alert_columns(rows),
        "started_at": pa.array([a.started_at for a in rows], _UTC_MS),
        "updated_at": pa.array([a.updated_at for a in rows], _UTC_MS),
        "since": pa.array([a.since for a in rows], _UTC_MS),
    })


def live_alerts(rows: list[dict]) -> dict[tuple[str, str], Alert]:
    """Rebuild the live alerts from `alerts` table rows (state pending or firing)."""
    return {(r["rule_id"], r["key"]): Alert(
        alert_id=r["alert_id"], rule_id=r["rule_id"], rule_version=r["rule_version"],
        key=r["key"], state=AlertState(r["state"]), level=r["level"], severity=r["severity"],
        value=r["value"], threshold=r["threshold"], started_at=r["started_at"],
        updated_at=r["updated_at"], since=r["since"], cell=r["cell"], grid_id=r["grid_id"],
        evidence=tuple(r["evidence"] or ()),
        evidence_values=tuple(r.get("evidence_values") or ()), silenced=r["silenced"])
        for r in rows if r["state"] != AlertState.RESOLVED}


def transition_rows(transitions: Sequence[Transition]) -> pa.Table:
    """Return `alert_transitions` history rows, one per change, in order."""
    alerts = [t.alert for t in transitions]
    return pa.table({
        **_alert_columns(alerts),
        "previous": pa.array([None if t.previous is None else str(t.previous)
                              for t in transitions], pa.string()),
        "at": pa.array([a.updated_at for a in alerts], _UTC_MS),
        "reason": pa.array([t.reason for t in transitions], pa.string()),
    })
