"""Case reads: the lists the boards show, one case with its log, sources and plan steps.

Every read is scoped (`Scope.case_sql`): a case the actor may not see is
never returned, so a request naming it by id gets nothing back. Reports
among a case's sources come with reporter names and phones masked unless
the scope may see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from onegrid.dashboard.access import Scope, masked_rows
from onegrid.geo.store import Store

MAX_ROWS: Final = 500
# The columns of `cases` the boards show (all of them are safe to show any role that sees the case).
CASE_COLUMNS: Final = (
    "case_id", "seq", "state", "category", "severity", "department", "assisting", "grid_id",
    "community_id", "street_id", "district_id", "cell", "created_at", "dispatched_at",
    "due_at", "paused_s", "handler", "returns", "reopens", "escalation_level", "origin",
    "plan_id", "satisfaction", "merged_into", "title", "steps_done", "resolved_at",
    "closed_at", "updated_at")


def case_rows(store: Store, scope: Scope, *, states: Sequence[str] = (),
              departments: Sequence[str] = (), districts: Sequence[str] = (),
              categories: Sequence[str] = (), grid_id: str | None = None,
              overdue_at: datetime | None = None, search: str | None = None,
              limit: int = MAX_ROWS) -> list[dict[str, Any]]:
    """Return the cases the scope sees, newest change first, filtered as asked.

    `overdue_at` keeps cases past their due time at that moment while the
    clock runs (see `alerts.sla.is_overdue`); `search` matches the case id
    or title.
    """
    where, params = scope.case_sql("cases")
    clauses = [where]
    for column, values in (("state", states), ("department", departments),
                           ("district_id", districts), ("category", categories)):
        if values:
            clauses.append(f"{column} IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(values))
    if grid_id:
        clauses.append("grid_id = ?")
        params.append(grid_id)
    if overdue_at is not None:
        clauses.append("state IN ('dispatched', 'accepted', 'in_progress', 'returned', "
                       "'reopened') AND due_at < ?")
        params.append(overdue_at)
    if search:
        clauses.append("(case_id ILIKE ? OR title ILIKE ?)")
        params += [f"%{search}%", f"%{search}%"]
    cols = ", ".join(CASE_COLUMNS)
    sql = (f"SELECT {cols} FROM cases WHERE {' AND '.join(clauses)} "
           "ORDER BY updated_at DESC, case_id LIMIT ?")
    return store.query(sql, [*params, limit]).to_pylist()


def case_row(store: Store, scope: Scope, case_id: str) -> dict[str, Any] | None:
    """Return one case if the scope sees it, else None (never says whether it exists)."""
    where, params = scope.case_sql("cases")
    cols = ", ".join(CASE_COLUMNS)
    rows = store.query(f"SELECT {cols} FROM cases WHERE case_id = ? AND {where}",
                       [case_id, *params]).to_pylist()
    return rows[0] if rows else None


def case_counts(store: Store, scope: Scope) -> dict[str, int]:
    """Return state -> number of cases the scope sees."""
    where, params = scope.case_sql("cases")
    rows = store.query(f"SELECT state, count(*) AS n FROM cases WHERE {where} GROUP BY state",
                       params).to_pylist()
    return {r["state"]: r["n"] for r in rows}


def case_log(store: Store, scope: Scope, case_id: str) -> list[dict[str, Any]]:
    """Return a visible case's log (全过程记录) in order, hashes included."""
    if case_row(store, scope, case_id) is None:
        return []
    return store.query(
        'SELECT log_seq, seq, action, actor, "at", state, department, reason, note, detail, '
        "prev_hash, hash FROM case_log WHERE case_id = ? ORDER BY log_seq",
        [case_id]).to_pylist()


def case_sources(store: Store, scope: Scope, case_id: str) -> list[dict[str, Any]]:
    """Return a visible case's sources: reports (with their event, masked) and alerts
    (with rule, value, threshold and evidence)."""
    if case_row(store, scope, case_id) is None:
        return []
    rows = store.query("""
        SELECT s.kind, s.source_id, s.category, s.cell, s."at", s.severity,
               e.source AS report_source, e.description, e.address, e.lat, e.lng,
               e.reporter_name, e.reporter_phone, e.photo_url,
               a.rule_id, a.state AS alert_state, a.value, a.threshold, a.evidence,
               a.evidence_values
        FROM case_sources s
        LEFT JOIN events e ON s.kind = 'report' AND e.id = s.source_id
        LEFT JOIN alerts a ON s.kind = 'alert' AND a.alert_id = s.source_id
        WHERE s.case_id = ? ORDER BY s."at", s.source_id
    """, [case_id]).to_pylist()
    return masked_rows(scope, rows)


def case_steps(store: Store, scope: Scope, case_id: str) -> list[dict[str, Any]]:
    """Return a visible case's emergency-plan steps in order, with who ticked them."""
    if case_row(store, scope, case_id) is None:
        return []
    return store.query(
        'SELECT step_id, ord, text_zh, text_en, dept_kind, done_by, done_at FROM case_steps '
        "WHERE case_id = ? ORDER BY ord", [case_id]).to_pylist()
