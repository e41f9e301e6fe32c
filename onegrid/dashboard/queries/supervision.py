"""Supervision reads (督办/考核): KPIs, the overdue list, the latest case log, the chain status.

Every read is scoped by the viewer's `Scope`: KPIs count only the cases the
viewer sees (`alerts.kpi.kpis` takes the scope's condition), the overdue
list keeps only visible cases, and the log rows are those of visible cases.
The hash chain is one chain over the whole log, so it is verified whole
(`alerts.audit.verify_chain`); what the viewer is told about a break names
a case only when they may see it. The `alerts` functions take a DuckDB
cursor: this thread's cursor of the store, read only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from onegrid.alerts import sla
from onegrid.alerts.audit import Broken, verify_chain
from onegrid.alerts.cases import Case, CaseState, case_to_row
from onegrid.alerts.kpi import Kpi, kpis
from onegrid.alerts.supervision import Overdue, overdue_list
from onegrid.dashboard.access import Scope
from onegrid.dashboard.queries.cases import CASE_COLUMNS
from onegrid.geo import case_store
from onegrid.geo.store import Store

PERIODS: Final = ("today", "7d", "30d")
GROUPS: Final = ("department", "district", "street")
AUDIT_LIMIT: Final = 50


@dataclass(frozen=True)
class ChainStatus:
    """What a verification of the case log's hash chain found.

    `rows` is the number of log rows, `head_seq`/`head_hash` the last row's;
    `broken` the first broken row (None: the chain holds); `checked_at` when
    the check ran (UTC).
    """

    rows: int
    head_seq: int
    head_hash: str | None
    broken: Broken | None
    checked_at: datetime


def period_bounds(period: str | None, now: datetime, tz: str) -> tuple[datetime, datetime]:
    """Return [since, until) of a period ending at `now`: `today` from local midnight
    in the city's time zone, `7d` / `30d` the days before `now` (UTC datetimes)."""
    if period == "7d":
        return now - timedelta(days=7), now
    if period == "30d":
        return now - timedelta(days=30), now
    local = now.astimezone(ZoneInfo(tz))
    midnight = datetime.combine(local.date(), time(0), local.tzinfo)
    return midnight.astimezone(now.tzinfo), now


def kpi_rows(store: Store, scope: Scope, group: str, since: datetime,
             until: datetime) -> list[Kpi]:
    """Return the KPIs per `group` (department, district, street) of the cases the scope
    sees, created in [since, until)."""
    where, params = scope.case_sql("cases")
    # `until` is the clock's now: a case created at that very instant still counts.
    return kpis(store.cursor(), group if group in GROUPS else "department", since=since,
                until=until + timedelta(microseconds=1), where=where, params=params)


def overdue_rows(store: Store, scope: Scope, now: datetime) -> list[Overdue]:
    """Return the visible cases past their time limit at `now`, most overdue first."""
    return [o for o in overdue_list(store.cursor(), now) if scope.sees_case(case_to_row(o.case))]


def next_step(case: Case, now: datetime, directory) -> tuple[int, datetime] | None:
    """Return (level, when) of the ladder's next step for an overdue case, or None at the
    top of the ladder or while arbitration pauses the clock.

    The same steps as `sla.target_level`: the street as soon as the case is
    overdue, then one level each further `step_fraction` of its time limit.
    """
    due = sla.effective_due(case, now)
    level = case.escalation_level
    if due is None or case.state == CaseState.ARBITRATION or level >= len(sla.LADDER) - 1:
        return None
    offset = sla.time_limit_s(case.category, directory.registry) * directory.step_fraction * level
    calendar = directory.calendar
    at = calendar.add(due, offset) if calendar else due + timedelta(seconds=offset)
    return level + 1, at


def audit_rows(store: Store, scope: Scope, limit: int = AUDIT_LIMIT) -> list[dict[str, Any]]:
    """Return the latest case-log rows of visible cases, newest first."""
    where, params = scope.case_sql("c")
    return store.query(
        'SELECT l.log_seq, l.case_id, l.seq, l.action, l.actor, l."at", l.state, l.reason '
        f"FROM case_log l JOIN cases c USING (case_id) WHERE {where} "
        "ORDER BY l.log_seq DESC LIMIT ?", [*params, limit]).to_pylist()


def chain_status(store: Store, now: datetime) -> ChainStatus:
    """Return the result of verifying the whole case log's hash chain now.

    This reads and hashes every row, so it runs when asked, never on a tick.
    """
    rows, heads = case_store.chain_snapshot(store.cursor())
    broken = verify_chain(rows, heads)
    last = rows[-1] if rows else None
    return ChainStatus(len(rows), last["log_seq"] if last else 0,
                       last["hash"] if last else None, broken, now)



def cases_by_id(store: Store, scope: Scope, case_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Return case_id -> `cases` row of those of `case_ids` the scope sees (others absent)."""
    if not case_ids:
        return {}
    where, params = scope.case_sql("cases")
    rows = store.query(f"SELECT {', '.join(CASE_COLUMNS)} FROM cases "
                       f"WHERE case_id IN (SELECT unnest(?::VARCHAR[])) AND {where}",
                       [list(case_ids), *params]).to_pylist()
    return {r["case_id"]: r for r in rows}
