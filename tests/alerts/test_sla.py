"""SLA clocks: due times by class, the pause in arbitration, the escalation ladder."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from onegrid.alerts import sla
from onegrid.alerts.cases import CaseState
from tests.alerts.casekit import minutes, new_case

S = CaseState


def urgent(directory, **kw):
    """A gas leak (urgent class, 2 h) dispatched at minute 0: due at minute 120."""
    case = new_case(directory, category="gas_leak")
    due = sla.due_at(minutes(0), "gas_leak", directory.registry)
    return replace(case, **{"state": S.DISPATCHED, "dispatched_at": minutes(0), "due_at": due,
                            **kw})


@pytest.mark.parametrize(("category", "hours"), [
    ("gas_leak", 2), ("road_damage", 24), ("exposed_garbage", 168), ("group_rental", 360)])
def test_due_time_counts_from_dispatch_by_time_limit_class(directory, category, hours):
    assert sla.due_at(minutes(0), category, directory.registry) == minutes(hours * 60)


def test_overdue_only_after_the_due_time_and_only_while_the_clock_runs(directory):
    case = urgent(directory)
    assert not sla.is_overdue(case, minutes(120))
    assert sla.is_overdue(case, minutes(121))
    assert not sla.is_overdue(replace(case, state=S.RESOLVED), minutes(500))
    assert not sla.is_overdue(replace(case, state=S.NEW, due_at=None), minutes(500))


def test_clock_is_paused_in_arbitration_and_the_due_time_moves_by_the_pause(directory):
    case = sla.pause(replace(urgent(directory), state=S.ARBITRATION), minutes(60))
    assert not sla.is_overdue(case, minutes(600))  # paused with 60 min left
    assert sla.effective_due(case, minutes(600)) == minutes(660)
    resumed = sla.resume(case, minutes(600))
    assert resumed.due_at == minutes(660) and resumed.paused_s == 540 * 60
    assert not sla.is_overdue(resumed, minutes(659)) and sla.is_overdue(resumed, minutes(661))


def test_case_overdue_before_arbitration_stays_overdue_but_is_not_escalated(directory):
    case = sla.pause(replace(urgent(directory), state=S.ARBITRATION), minutes(130))
    assert sla.is_overdue(case, minutes(400))
    assert sla.tick(case, minutes(400), directory.registry) == (case, [])


@pytest.mark.parametrize(("minute", "level"), [
    (100, 0), (120, 0), (121, 1), (180, 1), (181, 2), (240, 2), (241, 3), (10_000, 3)])
def test_escalation_ladder_steps_up_each_half_time_limit_overdue(directory, minute, level):
    assert sla.target_level(urgent(directory), minutes(minute), directory.registry) == level


def test_each_step_up_the_ladder_is_logged_with_a_reminder(directory):
    case, entries = sla.tick(urgent(directory), minutes(200), directory.registry)
    assert case.escalation_level == 2
    assert [(e.action, e.details().get("to") or e.details().get("level")) for e in entries] == \
        [("escalate", "street"), ("press", "street"), ("escalate", "district"),
         ("press", "district")]
    assert all(e.at == minutes(200) and e.actor == "system:sla" for e in entries)
    assert [e.seq for e in entries] == [2, 3, 4, 5]
    assert entries[0].details()["overdue_s"] == 80 * 60


def test_tick_is_idempotent_at_the_same_now(directory):
    case, _ = sla.tick(urgent(directory), minutes(200), directory.registry)
    assert sla.tick(case, minutes(200), directory.registry) == (case, [])


def test_manual_escalation_is_not_lowered_by_the_ladder(directory):
    case = urgent(directory, escalation_level=3)
    assert sla.tick(case, minutes(130), directory.registry) == (case, [])


def test_step_fraction_is_configurable(directory):
    one_step_per_limit = sla.target_level(urgent(directory), minutes(200),
                                          directory.registry, step_fraction=1.0)
    assert one_step_per_limit == 1


def test_tick_all_returns_only_cases_that_moved(directory):
    late, fresh = urgent(directory), urgent(directory, due_at=minutes(1000))
    moved, entries = sla.tick_all([late, fresh], minutes(130), directory.registry)
    assert [c.case_id for c in moved] == [late.case_id] and len(entries) == 2


def test_business_calendar_counts_working_hours_only(directory):
    calendar = sla.Calendar(tz="Asia/Shanghai", start_h=9, end_h=17,
                            holidays=frozenset({date(2026, 6, 8)}))
    friday_4pm = datetime(2026, 6, 5, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
    due = sla.due_at(friday_4pm, "gas_leak", directory.registry, calendar)
    assert due == datetime(2026, 6, 9, 2, 0, tzinfo=UTC)  # Tue 10:00: Mon is a holiday
    assert calendar.add(friday_4pm, 0) == friday_4pm
    saturday = datetime(2026, 6, 6, 2, 0, tzinfo=UTC)
    assert calendar.add(saturday, 3600) == datetime(2026, 6, 9, 2, 0, tzinfo=UTC)


def test_calendar_without_working_days_is_an_error():
    with pytest.raises(ValueError, match="no working time"):
        sla.Calendar(weekdays=frozenset()).add(minutes(0), timedelta(hours=1).total_seconds())
