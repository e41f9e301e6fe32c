"""Reads of the grid worker's phone page: my tasks, cases to verify, what a report became.

All scoped by `Scope.case_sql` (a grid worker: their grid, a grid chief:
their community, plus the resolved cases of their community), so a case of
another grid never comes back, whatever id a request names. Tasks are the
open cases there (every working state), overdue first, then the most severe,
then the newest; each carries the address of its first report, read only
for the cases on the list. Cases to verify are the resolved cases of the
worker's community that someone else handled (nobody verifies their own).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from onegrid.alerts.cases import CLOCKED, WORKING
from onegrid.alerts.opening import case_id_for
from onegrid.dashboard.access import Scope
from onegrid.dashboard.queries.cases import CASE_COLUMNS
from onegrid.geo.store import Store

TASK_LIMIT: Final = 100
TASK_STATES: Final = tuple(sorted(str(s) for s in WORKING))
_CLOCKED: Final = tuple(sorted(str(s) for s in CLOCKED))
_COLS: Final = ", ".join(f"c.{c}" for c in CASE_COLUMNS)
# The lists' orders (unqualified: the same words order the cases and the joined rows).
_TASK_ORDER: Final = "overdue DESC, severity DESC NULLS LAST, created_at DESC, case_id"
_VERIFY_ORDER: Final = "resolved_at NULLS LAST, case_id"


def tasks(store: Store, scope: Scope, now: datetime, limit: int = TASK_LIMIT
          ) -> list[dict[str, Any]]:
    """Return the open cases of the actor's grid, overdue first, then most severe, newest,
    each with `address` (of its first report, or None) and `overdue`."""
    where, params = scope.case_sql("c")
    return _with_address(store, f"""
        SELECT {_COLS}, (c.state IN (SELECT unnest(?::VARCHAR[])) AND c.due_at < ?) AS overdue
        FROM cases c WHERE c.state IN (SELECT unnest(?::VARCHAR[])) AND {where}
        ORDER BY {_TASK_ORDER} LIMIT ?""",
                         [list(_CLOCKED), now, list(TASK_STATES), *params, limit],
                         _TASK_ORDER)


def to_verify(store: Store, scope: Scope, limit: int = TASK_LIMIT) -> list[dict[str, Any]]:
    """Return the resolved cases of the actor's community that someone else handled,
    longest waiting first, each with `address`."""
    where, params = scope.case_sql("c")
    actor = scope.actor
    return _with_address(store, f"""
        SELECT {_COLS}, false AS overdue FROM cases c
        WHERE c.state = 'resolved' AND c.community_id = ?
          AND c.handler IS DISTINCT FROM ? AND {where}
        ORDER BY {_VERIFY_ORDER} LIMIT ?""",
                         [actor.community_id or None, actor.actor_id, *params, limit],
                         _VERIFY_ORDER)


def _with_address(store: Store, cases_sql: str, params: list[Any], order: str
                  ) -> list[dict[str, Any]]:
    """Return the rows of `cases_sql` with the address of each case's first report, in
    `order` (over the alias `listed`).

    The join names the report's event time too, so DuckDB's join filter skips
    the stored events outside the listed cases' time span.
    """
    return store.query(f"""
        WITH listed AS ({cases_sql}),
        firsts AS (
            SELECT s.case_id, arg_min(e.address, s."at") AS address
            FROM case_sources s JOIN events e ON e.id = s.source_id AND e.ts = s."at"
            WHERE s.kind = 'report' AND e.topic = 'incident' AND e.address IS NOT NULL
              AND s.case_id IN (SELECT case_id FROM listed)
            GROUP BY s.case_id)
        SELECT listed.*, firsts.address FROM listed LEFT JOIN firsts USING (case_id)
        ORDER BY {order}""", params).to_pylist()


def report_case(store: Store, scope: Scope, report_id: str) -> dict[str, Any] | None:
    """Return the visible case a report was taken into (`case_id`, `title`, `category`,
    `state`, `opened`: True when the report opened it, False when it joined), or None
    while the engine has not taken the report in, or the case is outside the scope."""
    where, params = scope.case_sql("c")
    rows = store.query(f"""
        SELECT c.case_id, c.title, c.category, c.state, c.grid_id FROM case_sources s
        JOIN cases c USING (case_id)
        WHERE s.kind = 'report' AND s.source_id = ? AND {where}""",
                       [report_id, *params]).to_pylist()
    if not rows:
        return None
    row = rows[0]
    row["opened"] = row["case_id"] == case_id_for("report", report_id)
    return row
