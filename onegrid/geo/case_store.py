"""Case tables in the DuckDB store: schema, reads and the write of case decisions.

`cases` holds each case's latest state, `case_log` its whole-process record
(全过程记录: append-only, hash-chained by `alerts.audit`), `case_sources` the
reports and alerts each case stands for, `case_steps` the emergency-plan
steps copied into a case, `case_commands` every command applied or refused
(so a redelivered command is recognised), `alert_acks` who acknowledged
which alert. `Store` runs `CASE_DDL` at open.
What the rows mean is decided in `onegrid.alerts`; this module only reads
and writes them, as plain dicts and Arrow tables (geo imports nothing of
ours). Timestamps are read as epoch microseconds and turned into UTC
datetimes here: fetching TIMESTAMPTZ directly would need pytz.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

import duckdb
import pyarrow as pa

from onegrid.geo.arrow_sql import from_epoch_us, upsert

_TS: Final = pa.timestamp("us", tz="UTC")

SCHEMAS: Final[dict[str, pa.Schema]] = {
    "cases": pa.schema([
        ("case_id", pa.string()), ("seq", pa.int32()), ("state", pa.string()),
        ("category", pa.string()), ("severity", pa.int8()), ("department", pa.string()),
        ("assisting", pa.list_(pa.string())), ("grid_id", pa.string()),
        ("community_id", pa.string()), ("street_id", pa.string()), ("district_id", pa.string()),
        ("cell", pa.uint64()), ("created_at", _TS), ("dispatched_at", _TS), ("due_at", _TS),
        ("paused_s", pa.float64()), ("paused_since", _TS), ("handler", pa.string()),
        ("returns", pa.int32()), ("reopens", pa.int32()), ("escalation_level", pa.int8()),
        ("origin", pa.string()), ("plan_id", pa.string()), ("satisfaction", pa.string()),
        ("merged_into", pa.string()), ("title", pa.string()),
        ("steps_done", pa.list_(pa.string())), ("resolved_at", _TS), ("closed_at", _TS),
        ("updated_at", _TS)]),
    "case_log": pa.schema([
        ("log_seq", pa.int64()), ("case_id", pa.string()), ("seq", pa.int32()),
        ("action", pa.string()), ("actor", pa.string()), ("at", _TS), ("state", pa.string()),
        ("department", pa.string()), ("reason", pa.string()), ("note", pa.string()),
        ("detail", pa.string()), ("prev_hash", pa.string()), ("hash", pa.string())]),
    "case_sources": pa.schema([
        ("kind", pa.string()), ("source_id", pa.string()), ("case_id", pa.string()),
        ("category", pa.string()), ("cell", pa.uint64()), ("at", _TS),
        ("severity", pa.int8())]),
    "case_steps": pa.schema([
        ("case_id", pa.string()), ("plan_id", pa.string()), ("step_id", pa.string()),
        ("ord", pa.int32()), ("text_zh", pa.string()), ("text_en", pa.string()),
        ("dept_kind", pa.string()), ("done_by", pa.string()), ("done_at", _TS)]),
    "case_commands": pa.schema([
        ("command_id", pa.string()), ("case_id", pa.string()), ("action", pa.string()),
        ("actor", pa.string()), ("at", _TS), ("outcome", pa.string()), ("code", pa.string()),
        ("reason", pa.string())]),
    "alert_acks": pa.schema([
        ("command_id", pa.string()), ("alert_id", pa.string()), ("actor", pa.string()),
        ("at", _TS), ("note", pa.string())]),
}
# table -> its primary key; rows of keyed tables are upserted, `case_log` only appended.
KEYS: Final = {"cases": ("case_id",), "case_sources": ("kind", "source_id"),
               "case_steps": ("case_id", "step_id"), "case_commands": ("command_id",),
               "alert_acks": ("command_id",)}
WRITE_ORDER: Final = ("cases", "case_log", "case_sources", "case_steps", "case_commands",
                      "alert_acks")

CASE_DDL: Final = """
CREATE TABLE IF NOT EXISTS cases (
    case_id VARCHAR PRIMARY KEY, seq INTEGER NOT NULL, state VARCHAR NOT NULL,
    category VARCHAR NOT NULL, severity TINYINT, department VARCHAR, assisting VARCHAR[],
    grid_id VARCHAR, community_id VARCHAR, street_id VARCHAR, district_id VARCHAR,
    cell UBIGINT, created_at TIMESTAMPTZ NOT NULL, dispatched_at TIMESTAMPTZ,
    due_at TIMESTAMPTZ, paused_s DOUBLE, paused_since TIMESTAMPTZ, handler VARCHAR,
    returns INTEGER, reopens INTEGER, escalation_level TINYINT, origin VARCHAR,
    plan_id VARCHAR, satisfaction VARCHAR, merged_into VARCHAR, title VARCHAR,
    steps_done VARCHAR[], resolved_at TIMESTAMPTZ, closed_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS case_log (
    log_seq BIGINT NOT NULL, case_id VARCHAR NOT NULL, seq INTEGER NOT NULL,
    action VARCHAR NOT NULL, actor VARCHAR NOT NULL, "at" TIMESTAMPTZ NOT NULL,
    state VARCHAR NOT NULL, department VARCHAR, reason VARCHAR, note VARCHAR,
    detail VARCHAR NOT NULL, prev_hash VARCHAR NOT NULL, hash VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS case_sources (
    kind VARCHAR NOT NULL, source_id VARCHAR NOT NULL, case_id VARCHAR NOT NULL,
    category VARCHAR NOT NULL, cell UBIGINT, "at" TIMESTAMPTZ NOT NULL, severity TINYINT,
    PRIMARY KEY (kind, source_id)
);
CREATE TABLE IF NOT EXISTS case_steps (
    case_id VARCHAR NOT NULL, plan_id VARCHAR NOT NULL, step_id VARCHAR NOT NULL,
    ord INTEGER, text_zh VARCHAR, text_en VARCHAR, dept_kind VARCHAR, done_by VARCHAR,
    done_at TIMESTAMPTZ, PRIMARY KEY (case_id, step_id)
);
CREATE TABLE IF NOT EXISTS case_commands (
    command_id VARCHAR PRIMARY KEY, case_id VARCHAR, action VARCHAR NOT NULL,
    actor VARCHAR NOT NULL, "at" TIMESTAMPTZ, outcome VARCHAR NOT NULL, code VARCHAR,
    reason VARCHAR
);
CREATE TABLE IF NOT EXISTS alert_acks (
    command_id VARCHAR PRIMARY KEY, alert_id VARCHAR NOT NULL, actor VARCHAR NOT NULL,
    "at" TIMESTAMPTZ NOT NULL, note VARCHAR
);
"""


class CaseTables(Protocol):
    """Anything that can give the rows to write, as Arrow tables by table name
    (`alerts.casework.CaseDecisions` does)."""

    def tables(self) -> Mapping[str, pa.Table]: ...


def rows_to_table(name: str, rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Return rows (dicts by column name) as an Arrow table of the named case table."""
    schema = SCHEMAS[name]
    rows = list(rows)
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema},
                    schema=schema)


def write_case_decisions(cur: duckdb.DuckDBPyConnection,
                         decisions: CaseTables | Mapping[str, pa.Table]) -> int:
    """Write case decisions inside the caller's transaction; return the log rows added.

    Keyed tables are upserted (one row per key in each table), `case_log` appended.
    """
    tables = decisions.tables() if hasattr(decisions, "tables") else decisions
    for name in WRITE_ORDER:
        table = tables.get(name)
        if table is not None:
            upsert(cur, name, table, keys=KEYS.get(name) or ())
    log = tables.get("case_log")
    return 0 if log is None else log.num_rows


def read_cases(cur: duckdb.DuckDBPyConnection, case_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Return the `cases` rows of these ids (missing ids are left out)."""
    ids = sorted(set(case_ids))
    return _select(cur, "cases", "case_id IN (SELECT unnest(?::VARCHAR[]))", [ids]) if ids else []


def read_sources(cur: duckdb.DuckDBPyConnection,
                 case_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Return the `case_sources` rows of these cases."""
    ids = sorted(set(case_ids))
    if not ids:
        return []
    return _select(cur, "case_sources", "case_id IN (SELECT unnest(?::VARCHAR[]))", [ids])


def sources_by_id(cur: duckdb.DuckDBPyConnection, kind: str,
                  source_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Return the `case_sources` rows of these report or alert ids."""
    ids = sorted(set(source_ids))
    if not ids:
        return []
    return _select(cur, "case_sources", "kind = ? AND list_contains(?::VARCHAR[], source_id)",
                   [kind, ids])


def open_sources_near(cur: duckdb.DuckDBPyConnection, cells: Iterable[int],
                      categories: Iterable[str], since: datetime,
                      final_states: Iterable[str]) -> list[dict[str, Any]]:
    """Return the latest source row of each open case per cell and category, at `cells`,
    of `categories`, at or after `since` (the candidates a new report may join: it
    joins the case of the latest one near it).

    Only the latest per (case, cell, category): at a hot spot one case gathers
    thousands of reports, and reading them all made intake slower with every one.
    """
    cells, cats = sorted(set(cells)), sorted(set(categories))
    if not cells or not cats:
        return []
    where = ("cell IN (SELECT unnest(?::UBIGINT[])) AND category IN (SELECT "
             "unnest(?::VARCHAR[])) AND \"at\" >= ? AND case_id IN (SELECT case_id FROM cases "
             "WHERE NOT list_contains(?::VARCHAR[], state)) QUALIFY row_number() OVER "
             "(PARTITION BY case_id, cell, category ORDER BY \"at\" DESC, source_id DESC) = 1")
    return _select(cur, "case_sources", where, [cells, cats, since, sorted(final_states)])


def cases_due(cur: duckdb.DuckDBPyConnection, before: datetime, states: Iterable[str],
              below_level: int) -> list[dict[str, Any]]:
    """Return cases in `states` due before `before` whose escalation level is below
    `below_level` (what the SLA tick looks at)."""
    where = ("list_contains(?::VARCHAR[], state) AND due_at < ? "
             "AND coalesce(escalation_level, 0) < ?")
    return _select(cur, "cases", where, [sorted(states), before, below_level])


def read_alerts(cur: duckdb.DuckDBPyConnection,
                alert_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Return the `alerts` rows of these ids (alert_id, rule_id, key, state, severity,
    cell, grid_id, started_at as a UTC datetime)."""
    ids = sorted(set(alert_ids))
    if not ids:
        return []
    rows = cur.execute(
        "SELECT alert_id, rule_id, key, state, severity, cell, grid_id, epoch_us(started_at) "
        "FROM alerts WHERE list_contains(?::VARCHAR[], alert_id)", [ids]).fetchall()
    names = ("alert_id", "rule_id", "key", "state", "severity", "cell", "grid_id", "started_at")
    return [{**dict(zip(names, r, strict=True)), "started_at": from_epoch_us(r[-1])} for r in rows]


def processed_commands(cur: duckdb.DuckDBPyConnection, command_ids: Iterable[str]) -> set[str]:
    """Return the ids among `command_ids` already applied or refused."""
    ids = sorted(set(command_ids))
    if not ids:
        return set()
    rows = cur.execute("SELECT command_id FROM case_commands "
                       "WHERE list_contains(?::VARCHAR[], command_id)", [ids]).fetchall()
    return {r[0] for r in rows}


def chain_head(cur: duckdb.DuckDBPyConnection) -> tuple[int, str | None]:
    """Return the last (log_seq, hash) of the case log; (0, None) when it is empty."""
    rows = cur.execute("SELECT log_seq, hash FROM case_log ORDER BY log_seq DESC LIMIT 1"
                       ).fetchall()
    return (rows[0][0], rows[0][1]) if rows else (0, None)


def log_rows(cur: duckdb.DuckDBPyConnection, case_id: str | None = None) -> list[dict[str, Any]]:
    """Return case_log rows in log_seq order (all, or one case's), `at` as a UTC datetime."""
    if case_id is None:
        return _select(cur, "case_log", "true", [], order="log_seq")
    return _select(cur, "case_log", "case_id = ?", [case_id], order="log_seq")


def chain_snapshot(cur: duckdb.DuckDBPyConnection
                   ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return (every case_log row, case heads) read in one transaction.

    Read apart, an engine committing between the two reads makes a case's head run
    ahead of its log, and an intact chain looks cut off at the tail.
    """
    cur.execute("BEGIN TRANSACTION")
    try:
        return log_rows(cur), case_heads(cur)
    finally:
        cur.execute("COMMIT")


def case_heads(cur: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Return case_id -> seq of every case (where each case's log must end)."""
    return dict(cur.execute("SELECT case_id, seq FROM cases").fetchall())


def _select(cur: duckdb.DuckDBPyConnection, table: str, where: str, params: list,
            order: str | None = None) -> list[dict[str, Any]]:
    """Return rows of a case table as dicts, timestamps converted to UTC datetimes."""
    schema = SCHEMAS[table]
    stamps = {f.name for f in schema if f.type == _TS}
    cols = ", ".join(f'epoch_us("{f.name}")' if f.name in stamps else f'"{f.name}"'
                     for f in schema)
    sql = f"SELECT {cols} FROM {table} WHERE {where}"
    if order:
        sql += f" ORDER BY {order}"
    rows = cur.execute(sql, params).fetchall()
    names = schema.names
    return [{n: (from_epoch_us(v) if n in stamps else v) for n, v in zip(names, row, strict=True)}
            for row in rows]

