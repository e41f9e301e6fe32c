"""Dispatch-board reads: the cases a scope sees under the board's filters, counted by
state and by department, and the engine's answers to a batch of commands.

One `BoardFilter` becomes one SQL condition (`filter_sql`), used by the rows,
the strip of counts per state and the table per department, so the three
always agree. Every read is scoped by `Scope.case_sql`. Overdue is decided
in SQL exactly as `alerts.sla.is_overdue` decides it: past the due time in a
clocked state, or in arbitration having been overdue already when it got
there (the pause moves the due time on). Which category and department
codes a free-text search names is worked out from the registers here, so a
search for 垃圾 or "bin" finds cases by their category's name in either
language, not only by id and title.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from onegrid.alerts.cases import CLOCKED
from onegrid.dashboard.access import Scope
from onegrid.dashboard.queries.cases import CASE_COLUMNS, MAX_ROWS
from onegrid.geo.registry import Registry
from onegrid.geo.store import Store

_CLOCKED: Final = sorted(str(s) for s in CLOCKED)
_SEARCH_CODES_MAX: Final = 200  # a one-letter search must not list every code


@dataclass(frozen=True)
class BoardFilter:
    """What the board's filters ask for; an empty field does not filter."""

    states: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    overdue: bool = False
    search: str = ""

    def without_states(self) -> BoardFilter:
        """Return this filter without its states (the strip counts every state)."""
        return BoardFilter((), self.departments, self.districts, self.categories,
                           self.overdue, self.search)


def overdue_sql(now: datetime, table: str = "cases") -> tuple[str, list[Any]]:
    """Return (condition, params) true for cases overdue at `now` (see `sla.is_overdue`)."""
    t = f"{table}."
    return (f"(({t}state IN (SELECT unnest(?::VARCHAR[])) AND {t}due_at < ?) OR "
            f"({t}state = 'arbitration' AND {t}due_at < {t}paused_since))", [_CLOCKED, now])


def filter_sql(scope: Scope, f: BoardFilter, now: datetime,
               registry: Registry) -> tuple[str, list[Any]]:
    """Return (condition, params) over `cases`: the scope's cases that pass the filter."""
    where, params = scope.case_sql("cases")
    clauses = [where]
    for column, values in (("state", f.states), ("department", f.departments),
                           ("district_id", f.districts), ("category", f.categories)):
        if values:
            clauses.append(f"cases.{column} IN (SELECT unnest(?::VARCHAR[]))")
            params.append(list(values))
    if f.overdue:
        cond, more = overdue_sql(now)
        clauses.append(cond)
        params += more
    text = f.search.strip()
    if text:
        like = f"%{text}%"
        cats, depts = _named(registry.categories, text), _named(registry.departments, text)
        clauses.append("(cases.case_id ILIKE ? OR cases.title ILIKE ? OR cases.grid_id ILIKE ? "
                       "OR cases.category IN (SELECT unnest(?::VARCHAR[])) "
                       "OR cases.department IN (SELECT unnest(?::VARCHAR[])))")
        params += [like, like, like, cats, depts]
    return " AND ".join(clauses), params


def _named(register: Mapping[str, Any], text: str) -> list[str]:
    """Return the codes of a register whose code or name (zh or en) contains `text`."""
    low = text.lower()
    found = [code for code, item in register.items()
             if low in code.lower() or low in (item.name_zh or "").lower()
             or low in (item.name_en or "").lower()]
    return found[:_SEARCH_CODES_MAX]


def board_rows(store: Store, scope: Scope, f: BoardFilter, now: datetime, registry: Registry,
               limit: int = MAX_ROWS) -> tuple[list[dict[str, Any]], int]:
    """Return (rows, how many pass the filter): newest case first, each `cases` row with
    `overdue` (bool, at `now`)."""
    where, params = filter_sql(scope, f, now, registry)
    late, late_params = overdue_sql(now)
    cols = ", ".join(f"cases.{c}" for c in CASE_COLUMNS)
    table = store.query(
        f"SELECT {cols}, {late} AS overdue, count(*) OVER () AS matched FROM cases "
        f"WHERE {where} ORDER BY cases.created_at DESC, cases.case_id LIMIT ?",
        [*late_params, *params, limit]).to_pylist()
    total = table[0]["matched"] if table else 0
    for row in table:
        del row["matched"]
    return table, total


def state_counts(store: Store, scope: Scope, f: BoardFilter, now: datetime,
                 registry: Registry) -> tuple[dict[str, int], int]:
    """Return (state -> cases, overdue cases) under the filter, its states left out."""
    where, params = filter_sql(scope, f.without_states(), now, registry)
    late, late_params = overdue_sql(now)
    rows = store.query(
        f"SELECT state, count(*) AS n, count(*) FILTER (WHERE {late}) AS late FROM cases "
        f"WHERE {where} GROUP BY state", [*late_params, *params]).to_pylist()
    return {r["state"]: r["n"] for r in rows}, sum(r["late"] for r in rows)


def department_counts(store: Store, scope: Scope, f: BoardFilter, now: datetime,
                      registry: Registry) -> list[dict[str, Any]]:
    """Return per lead department: `department`, `total`, `overdue` and `states`
    (state -> cases), most cases first, under the whole filter."""
    where, params = filter_sql(scope, f, now, registry)
    late, late_params = overdue_sql(now)
    rows = store.query(
        f"SELECT department, state, count(*) AS n, count(*) FILTER (WHERE {late}) AS late "
        f"FROM cases WHERE {where} GROUP BY ALL", [*late_params, *params]).to_pylist()
    out: dict[str | None, dict[str, Any]] = {}
    for r in rows:  # one row per (department, state): a few hundred at most
        d = out.setdefault(r["department"], {"department": r["department"], "total": 0,
                                             "overdue": 0, "states": {}})
        d["total"] += r["n"]
        d["overdue"] += r["late"]
        d["states"][r["state"]] = r["n"]
    return sorted(out.values(), key=lambda d: (-d["total"], d["department"] or ""))


def rows_by_id(store: Store, scope: Scope, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return case id -> `cases` row for the ids the scope sees (others are left out)."""
    ids = sorted({str(i) for i in case_ids})
    if not ids:
        return {}
    where, params = scope.case_sql("cases")
    cols = ", ".join(CASE_COLUMNS)
    rows = store.query(f"SELECT {cols} FROM cases WHERE case_id IN (SELECT unnest(?::VARCHAR[])) "
                       f"AND {where}", [ids, *params]).to_pylist()
    return {r["case_id"]: r for r in rows}


def outcomes(store: Store, actor_id: str, command_ids: Sequence[str]
             ) -> dict[str, dict[str, Any]]:
    """Return command id -> the engine's decision (`outcome`, `code`, `reason`) for the
    commands of `actor_id` it has decided so far (nobody reads another's answers)."""
    ids = sorted({str(i) for i in command_ids if i})
    if not ids:
        return {}
    rows = store.query("SELECT command_id, outcome, code, reason FROM case_commands "
                       "WHERE command_id IN (SELECT unnest(?::VARCHAR[])) AND actor = ?",
                       [ids, actor_id]).to_pylist()
    return {r["command_id"]: r for r in rows}


def filter_choices(store: Store, scope: Scope) -> dict[str, list[str]]:
    """Return the lead departments, districts and categories of the scope's cases (what
    the board's filters offer), each sorted."""
    where, params = scope.case_sql("cases")
    row = store.query(
        "SELECT list(DISTINCT department) AS departments, list(DISTINCT district_id) AS "
        f"districts, list(DISTINCT category) AS categories FROM cases WHERE {where}",
        params).to_pylist()[0]
    return {k: sorted(v for v in (row[k] or []) if v) for k in row}
