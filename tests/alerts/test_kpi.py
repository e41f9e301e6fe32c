"""KPIs on a small known log, with exact expected numbers.

Four cases led by CN-lhsr, opened by hand at minute 0 (times in minutes):

- A exposed garbage (168 h): dispatch 10, accept 40, resolve 130, verify 150,
  close 180, satisfied 240 -> closed on time;
- B fallen tree (urgent, 2 h): dispatch 10, return 20, dispatch 30, accept 70,
  resolve 190 (due 130: late), verify 200, close 210;
- C exposed garbage: dispatch 10, accept 20, resolve 70, reopen 90;
- D fallen tree: never dispatched.

and E, street vending led by CN-cg, never dispatched.
"""

from __future__ import annotations

import pytest

from onegrid.alerts.kpi import Kpi, kpis
from tests.alerts.casekit import COMMAND, COMMAND_2, LEAD_STAFF, T0, cmd, minutes, run_batch

CASES = {"A": ("exposed_garbage", "CN-01-01-01"), "B": ("tree_fallen", "CN-02-01-01"),
         "C": ("exposed_garbage", "CN-03-01-01"), "D": ("tree_fallen", "CN-04-01-01"),
         "E": ("street_vending", "CN-01-01-02")}
STEPS = {
    "A": [(10, "dispatch", COMMAND), (40, "accept", LEAD_STAFF), (130, "resolve", LEAD_STAFF),
          (150, "verify", COMMAND_2), (180, "close", COMMAND), (240, "feedback", COMMAND)],
    "B": [(10, "dispatch", COMMAND), (20, "return", LEAD_STAFF), (30, "dispatch", COMMAND),
          (70, "accept", LEAD_STAFF), (190, "resolve", LEAD_STAFF), (200, "verify", COMMAND_2),
          (210, "close", COMMAND)],
    "C": [(10, "dispatch", COMMAND), (20, "accept", LEAD_STAFF), (70, "resolve", LEAD_STAFF),
          (90, "reopen", COMMAND)],
}
EXTRA = {"return": {"reason": "not ours"}, "reopen": {"reason": "still there"},
         "feedback": {"satisfaction": "satisfied"}}


@pytest.fixture
def known_log(store, directory):
    opens = [cmd(None, "open", COMMAND, T0, category=cat, grid_id=grid)
             for cat, grid in CASES.values()]
    d = run_batch(store, directory, T0, commands=opens)
    ids = dict(zip(CASES, (c.case_id for c in d.cases), strict=True))
    steps = sorted((m, name, action, actor) for name, s in STEPS.items()
                   for m, action, actor in s)
    commands = [cmd(ids[name], action, actor, minutes(m), **EXTRA.get(action, {}))
                for m, name, action, actor in steps]
    d = run_batch(store, directory, minutes(300), commands=commands)
    assert not d.rejections, d.rejections
    return store


def test_department_kpis_on_a_known_log(known_log):
    rows = kpis(known_log.cursor(), "department")
    assert [r.key for r in rows] == ["CN-cg", "CN-lhsr"]
    assert rows[1] == Kpi(
        scope="department", key="CN-lhsr", cases=4, closed=2, on_time_rate=0.5,
        mean_accept_s=2000.0, mean_resolve_s=7200.0, mean_close_s=11700.0,
        return_rate=pytest.approx(1 / 3), reopen_rate=pytest.approx(1 / 3), backlog=2,
        satisfaction_rate=1.0)
    assert rows[0] == Kpi("department", "CN-cg", 1, 0, None, None, None, None, None, None, 1,
                          None)


def test_region_kpis_group_by_district_and_street(known_log):
    (district,) = kpis(known_log.cursor(), "district")
    assert (district.key, district.cases, district.backlog, district.closed) == ("CN", 5, 3, 2)
    streets = {r.key: (r.cases, r.backlog) for r in kpis(known_log.cursor(), "street")}
    assert streets == {"CN-01": (2, 1), "CN-02": (1, 0), "CN-03": (1, 1), "CN-04": (1, 1)}


def test_kpis_count_only_cases_created_in_the_period(known_log):
    assert kpis(known_log.cursor(), since=minutes(1)) == []
    assert len(kpis(known_log.cursor(), until=minutes(1))) == 2


def test_merged_and_dismissed_cases_are_not_counted(known_log, directory):
    cur = known_log.cursor()
    cur.execute("UPDATE cases SET merged_into = 'X' WHERE state = 'new' AND department = "
                "'CN-lhsr'")
    assert kpis(cur)[1].cases == 3


def test_unknown_scope_is_an_error(store):
    with pytest.raises(ValueError, match="scope must be one of"):
        kpis(store.cursor(), "planet")
