"""The supervision list (督办): cases past their time limit, most overdue first.

Computed from the `cases` table at `now` (overdue is never stored: it is what
the due time and the clock say). `onegrid kpi --overdue` prints it; the
supervision page will read the same list. The ladder that escalates and
presses these cases is `sla`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from onegrid.alerts import sla
from onegrid.alerts.cases import CLOCKED, Case, CaseState, row_to_case
from onegrid.geo import case_store


@dataclass(frozen=True)
class Overdue:
    """A case on the supervision list and how long past its time limit it is (seconds)."""

    case: Case
    overdue_s: float


def overdue_list(cur: duckdb.DuckDBPyConnection, now: datetime) -> list[Overdue]:
    """Return the cases whose clock has run past their due time at `now` (UTC),
    most overdue first."""
    states = {str(s) for s in CLOCKED} | {str(CaseState.ARBITRATION)}
    rows = case_store.cases_due(cur, now, states, below_level=1 << 30)
    out = []
    for row in rows:
        case = row_to_case(row)
        if sla.is_overdue(case, now):
            out.append(Overdue(case, (now - sla.effective_due(case, now)).total_seconds()))
    return sorted(out, key=lambda o: (-o.overdue_s, o.case.case_id))
