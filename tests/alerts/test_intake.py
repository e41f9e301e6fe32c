"""Intake: reports and firing alerts open cases or join nearby open ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from onegrid.alerts.cases import CaseState, SourceLink
from onegrid.alerts.directory import rule_policies
from onegrid.alerts.intake import incoming, search_cells, take_in
from onegrid.alerts.model import Alert, AlertState, Level, Rule, Scope, Transition
from tests.alerts.casekit import CATEGORY, GRID, LEAD, T0, cells_of, minutes, report

S = CaseState


def take(directory, reports=(), alerts=(), cases=(), links=(), now=T0):
    sources = incoming(reports, alerts, directory)
    return take_in(sources, alerts, {c.case_id: c for c in cases}, links, directory, now)


def alert_change(directory, rule_id, state=AlertState.FIRING, previous=AlertState.PENDING,
                 cell_index=0, key="k", at=T0, severity=3):
    cell = cells_of(directory, GRID)[cell_index]
    alert = Alert(f"{rule_id}:{key}", rule_id, "v1", key, state, "alert", severity, 20.0, 15.0,
                  at, at, at, cell=cell, grid_id=GRID)
    return Transition(alert, previous, "because")


@pytest.fixture
def with_policies(directory):
    return replace(directory, policies={"water.road_depth": "open", "air.pm25.1h": "suggest",
                                        "cluster.any": "open"},
                   rule_categories={"water.road_depth": "road_waterlogging",
                                    "air.pm25.1h": "air_pollution"})


def test_report_opens_a_routed_case_waiting_for_dispatch(directory):
    result = take(directory, [report(directory, "r1")])
    (case,) = result.cases
    assert case.state == S.NEW and case.department == LEAD and case.origin == "report"
    assert case.dispatched_at is None and [e.action for e in result.entries] == ["open"]
    assert [(s.kind, s.source_id, s.case_id) for s in result.sources] == \
        [("report", "r1", case.case_id)]


def test_urgent_report_is_dispatched_on_intake(directory):
    result = take(directory, [report(directory, "r1", category="gas_leak")])
    (case,) = result.cases
    assert case.state == S.DISPATCHED and case.department == "CN-yj"
    assert case.due_at == T0 + timedelta(hours=2)
    assert [e.action for e in result.entries] == ["open", "dispatch"]
    assert case.plan_id == "gas" and [s.step_id for s in result.steps][:1] == ["evacuate"]


def test_nearby_duplicate_reports_join_one_case(directory):
    result = take(directory, [report(directory, "r1", severity=2),
                              report(directory, "r2", minutes(10), cell_index=1, severity=3)])
    (case,) = result.cases
    assert case.severity == 3 and case.seq == 2
    assert [e.action for e in result.entries] == ["open", "join"]
    assert {s.case_id for s in result.sources} == {case.case_id}


@pytest.mark.parametrize(("what", "second"), [
    ("two rings away", dict(cell_index=8)),
    ("31 minutes later", dict(at=minutes(31), cell_index=1)),
    ("another category", dict(category="street_vending")),
])
def test_reports_outside_ring_window_or_category_open_their_own_case(directory, what, second):
    result = take(directory, [report(directory, "r1"), report(directory, "r2", **second)])
    assert len(result.cases) == 2, what


def test_ring_and_window_are_configurable(directory):
    wide = replace(directory, ring_k=2, merge_window_s=3600)
    result = take(wide, [report(directory, "r1"),
                         report(directory, "r2", minutes(50), cell_index=8)])
    assert len(result.cases) == 1


def test_report_joins_an_open_case_read_from_the_store(directory):
    first = take(directory, [report(directory, "r1")])
    (case,) = first.cases
    later = take(directory, [report(directory, "r2", minutes(20), cell_index=1)],
                 cases=[case], links=first.sources, now=minutes(20))
    assert [c.case_id for c in later.cases] == [case.case_id]
    closed = replace(case, state=S.CLOSED)
    apart = take(directory, [report(directory, "r2", minutes(20), cell_index=1)],
                 cases=[closed], links=first.sources, now=minutes(20))
    assert apart.cases[0].case_id != case.case_id


def test_already_linked_source_is_skipped(directory):
    first = take(directory, [report(directory, "r1")])
    again = take(directory, [report(directory, "r1")], cases=first.cases, links=first.sources)
    assert again.cases == () and again.entries == ()


def test_firing_alert_opens_or_suggests_a_case_by_its_rules_policy(with_policies):
    d = with_policies
    result = take(d, alerts=[alert_change(d, "water.road_depth", key="a"),
                             alert_change(d, "air.pm25.1h", key="b"),
                             alert_change(d, "noise.high", key="c")])
    states = {c.category: c.state for c in result.cases}
    assert states == {"road_waterlogging": S.NEW, "air_pollution": S.SUGGESTED}
    flood = next(c for c in result.cases if c.category == "road_waterlogging")
    assert flood.origin == "alert" and flood.plan_id == "flood"


def test_only_a_new_firing_raises_a_case(with_policies):
    d = with_policies
    step = alert_change(d, "water.road_depth", previous=AlertState.FIRING)
    pending = alert_change(d, "water.road_depth", state=AlertState.PENDING, previous=None)
    assert take(d, alerts=[step, pending]).cases == ()


def test_count_alert_takes_its_category_from_its_key(with_policies):
    d = with_policies
    change = alert_change(d, "cluster.any", key=f"{cells_of(d, GRID)[0]}|incident:{CATEGORY}")
    (case,) = take(d, alerts=[change]).cases
    assert case.category == CATEGORY


def test_alert_joins_an_open_case_of_reports_nearby(with_policies):
    d = with_policies
    result = take(d, [report(d, "r1", category="road_waterlogging")],
                  alerts=[alert_change(d, "water.road_depth", cell_index=1, at=minutes(5))])
    (case,) = result.cases
    assert [(s.kind, s.case_id) for s in result.sources] == \
        [("report", case.case_id), ("alert", case.case_id)]


def test_sensor_back_to_normal_verifies_a_resolved_case(with_policies):
    d = with_policies
    fired = alert_change(d, "water.road_depth")
    opened = take(d, alerts=[fired])
    resolved_case = replace(opened.cases[0], state=S.RESOLVED, handler="ST-CN-sw")
    gone = alert_change(d, "water.road_depth", state=AlertState.RESOLVED,
                        previous=AlertState.FIRING)
    result = take(d, alerts=[gone], cases=[resolved_case], links=opened.sources,
                  now=minutes(30))
    (case,) = result.cases
    assert case.state == S.VERIFIED and result.entries[0].actor == "system:sensor"
    still_working = replace(resolved_case, state=S.IN_PROGRESS)
    assert take(d, alerts=[gone], cases=[still_working], links=opened.sources).cases == ()


def test_search_cells_cover_the_ring_of_every_source(directory):
    sources = incoming([report(directory, "r1")], [], directory)
    assert len(search_cells(sources, 1)) == 7 and len(search_cells(sources, 2)) == 19


def test_rule_policies_map_auto_to_open_and_metrics_to_categories():
    def rule(rule_id, metric, case):
        return Rule(id=rule_id, version="v", kind="threshold", title_zh="", title_en="",
                    metric=metric, stat="max", window_s=60, scope=Scope.CELL, res=10, op=">=",
                    levels=(Level("a", 3, 1, 0),), for_s=0, clear_for_s=0, case=case)

    policies, categories = rule_policies([
        rule("w", "road_water_depth_cm", "auto"), rule("p", "pm25", "suggest"),
        rule("n", "noise_db", "none"), rule("v", "incident:street_vending", "suggest"),
        rule("x", "incident:*", "auto")])
    assert policies == {"w": "open", "p": "suggest", "v": "suggest", "x": "open"}
    assert categories == {"w": "road_waterlogging", "p": "air_pollution",
                          "v": "street_vending"}


def test_source_link_records_where_and_when(directory):
    (link,) = take(directory, [report(directory, "r1", minutes(3))]).sources
    assert isinstance(link, SourceLink) and link.at == minutes(3)
    assert link.cell == cells_of(directory, GRID)[0] and link.category == CATEGORY


def test_alert_on_a_coarse_cell_opens_a_case_on_a_res10_cell(with_policies):
    from h3.api import basic_int as h3i

    d = with_policies
    change = alert_change(d, "air.pm25.1h")
    coarse = h3i.cell_to_parent(change.alert.cell, 8)
    change = replace(change, alert=replace(change.alert, cell=coarse))
    (case,) = take(d, alerts=[change]).cases
    assert h3i.get_resolution(case.cell) == 10 and h3i.cell_to_parent(case.cell, 8) == coarse
    assert case.grid_id == GRID
