"""Assessment (考核): KPIs per department, district or street, from the case log and cases.

One SQL query over a DuckDB cursor the caller passes in; the dashboard's
supervision page and `onegrid kpi` print the result. Counted cases are those
created in the period that were neither merged into another case, still a
suggestion, nor dismissed. Definitions (durations in seconds):

- on-time closure rate (按期办结率): closed cases whose last `resolve` came at
  or before their due time (which arbitration pauses moved on, and a reopen
  reset), over closed cases that had a due time;
- mean time to accept: first dispatch (dispatch, override or arbitrate) to
  first `accept`; to resolve: first dispatch to last `resolve`; to close:
  creation to last `close`;
- return rate: cases returned at least once over cases dispatched;
- reopen rate: cases reopened at least once over cases ever resolved;
- backlog: counted cases not closed;
- satisfaction rate (满意度): `satisfied` over cases with a follow-up answer.

A case counts for the department that leads it now, and for its district and
street. Rates and means are None where nothing was there to count. A caller
may narrow the counted cases further with a condition over `cases` columns
(the dashboard passes the viewer's scope, so a district supervisor's
department KPIs count only their district's cases).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import duckdb

# scope -> the cases column it groups by
SCOPES: Final = {"department": "department", "district": "district_id", "street": "street_id"}

_SQL: Final = """
WITH counted AS (
    SELECT * FROM cases
    WHERE merged_into IS NULL AND state NOT IN ('suggested', 'dismissed')
      AND (?::TIMESTAMPTZ IS NULL OR created_at >= ?::TIMESTAMPTZ)
      AND (?::TIMESTAMPTZ IS NULL OR created_at < ?::TIMESTAMPTZ)
      AND ({where})
), per_case AS (
    SELECT c.case_id, c.{key} AS key, c.state, c.due_at, c.created_at, c.returns, c.reopens,
           c.satisfaction,
           min(l."at") FILTER (WHERE l.action IN ('dispatch', 'override', 'arbitrate'))
               AS first_dispatch,
           min(l."at") FILTER (WHERE l.action = 'accept') AS first_accept,
           max(l."at") FILTER (WHERE l.action = 'resolve') AS last_resolve,
           max(l."at") FILTER (WHERE l.action = 'close') AS last_close
    FROM counted c LEFT JOIN case_log l USING (case_id)
    GROUP BY ALL
)
SELECT coalesce(key, '') AS key, count(*) AS cases,
       count(*) FILTER (WHERE state = 'closed') AS closed,
       avg((last_resolve <= due_at)::INTEGER)
           FILTER (WHERE state = 'closed' AND due_at IS NOT NULL) AS on_time_rate,
       avg((epoch_us(first_accept) - epoch_us(first_dispatch)) / 1e6) AS mean_accept_s,
       avg((epoch_us(last_resolve) - epoch_us(first_dispatch)) / 1e6) AS mean_resolve_s,
       avg((epoch_us(last_close) - epoch_us(created_at)) / 1e6) AS mean_close_s,
       avg((returns > 0)::INTEGER) FILTER (WHERE first_dispatch IS NOT NULL) AS return_rate,
       avg((reopens > 0)::INTEGER)
           FILTER (WHERE last_resolve IS NOT NULL OR reopens > 0) AS reopen_rate,
       count(*) FILTER (WHERE state <> 'closed') AS backlog,
       avg((satisfaction = 'satisfied')::INTEGER) FILTER (WHERE satisfaction IS NOT NULL)
           AS satisfaction_rate
FROM per_case GROUP BY key ORDER BY key
"""


@dataclass(frozen=True)
class Kpi:
    """The KPIs of one department or region over a period; durations in seconds."""

    scope: str  # department | district | street
    key: str  # the dept_id or region id
    cases: int
    closed: int
    on_time_rate: float | None
    mean_accept_s: float | None
    mean_resolve_s: float | None
    mean_close_s: float | None
    return_rate: float | None
    reopen_rate: float | None
    backlog: int
    satisfaction_rate: float | None


def kpis(cur: duckdb.DuckDBPyConnection, scope: str = "department", *,
         since: datetime | None = None, until: datetime | None = None,
         where: str = "true", params: Sequence[Any] = ()) -> list[Kpi]:
    """Return the KPIs per `scope` (department, district or street) of cases created
    in [since, until) (UTC; None: unbounded), ordered by key.

    `where` (a SQL condition over `cases` columns, with `params` for its `?`)
    keeps only the cases it holds for; the default counts every case.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    sql = _SQL.format(key=SCOPES[scope], where=where)
    rows = cur.execute(sql, [since, since, until, until, *params]).fetchall()
    return [Kpi(scope, *row) for row in rows]
