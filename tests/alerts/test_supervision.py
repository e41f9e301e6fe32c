"""The supervision list: exactly the cases past their time limit, most overdue first."""

from __future__ import annotations

from datetime import timedelta

from onegrid.alerts.cases import CaseState, case_to_row
from onegrid.alerts.supervision import overdue_list
from onegrid.geo import case_store
from tests.alerts.casekit import T0, new_case


def _store(store, cases):
    table = case_store.rows_to_table("cases", [case_to_row(c) for c in cases])
    store.write(lambda cur: case_store.write_case_decisions(cur, {"cases": table}))


def test_supervision_lists_only_overdue_cases_most_overdue_first(store, directory):
    late = new_case(directory, state=CaseState.ACCEPTED, due_at=T0 + timedelta(hours=1))
    later = new_case(directory, state=CaseState.IN_PROGRESS, due_at=T0)
    on_time = new_case(directory, state=CaseState.DISPATCHED, due_at=T0 + timedelta(hours=9))
    closed = new_case(directory, state=CaseState.CLOSED, due_at=T0)
    _store(store, [late, later, on_time, closed])
    listed = overdue_list(store.cursor(), T0 + timedelta(hours=3))
    assert [(o.case.case_id, o.overdue_s) for o in listed] == [
        (later.case_id, 3 * 3600.0), (late.case_id, 2 * 3600.0)]
