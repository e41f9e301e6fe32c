"""Commands that name an alert: acknowledge it, or open a case from it (the alert queue's
two buttons), decided against a real store."""

from __future__ import annotations

from dataclasses import replace

import pytest

from onegrid.alerts.acknowledgements import Acknowledgement
from onegrid.alerts.cases import CaseState
from onegrid.alerts.directory import with_rules
from onegrid.alerts.model import Rule
from onegrid.geo.case_store import read_cases
from tests.alerts.casekit import COMMAND, GRID, LEAD_STAFF, T0, cells_of, cmd, minutes, run_batch

ALERT = "A-smoke-1"
ENV_OFFICER, DISTRICT_ENV_OFFICER = "EO-01", "EO-02"  # city-wide; Huangpu only


def put_alert(store, directory, alert_id=ALERT, rule_id="safety.smoke", grid=GRID):
    """Store a firing alert at the first cell of `grid`."""
    cell = cells_of(directory, grid)[0]
    store.write(lambda cur: cur.execute(
        "INSERT INTO alerts (alert_id, rule_id, rule_version, key, state, level, severity, cell, "
        "grid_id, value, threshold, started_at, updated_at) VALUES (?, ?, 'v1', ?, 'firing', "
        "'alert', 4, ?, ?, 1.0, 1.0, ?, ?)", [alert_id, rule_id, f"{cell}", cell, grid, T0, T0]))
    return cell


@pytest.fixture
def rule_directory(directory):
    """The directory with the smoke rule's category (as the demo rules give it) and an
    air rule's."""
    rules = [Rule(id="safety.smoke", version="v1", kind="threshold", title_zh="", title_en="",
                  metric="smoke", stat="max", window_s=60, scope="cell", res=10, op=">=",
                  levels=(), for_s=0, clear_for_s=0, case="none"),
             Rule(id="air.pm25.1h", version="v1", kind="threshold", title_zh="", title_en="",
                  metric="pm25", stat="mean", window_s=3600, scope="cell", res=8, op=">=",
                  levels=(), for_s=0, clear_for_s=0, case="suggest")]
    d = with_rules(directory, rules)
    # Rules without a case policy raise no case on their own, but name a category.
    return replace(d, rule_categories={**d.rule_categories, "safety.smoke": "smoke_alarm"})


def ack(alert_id=ALERT, actor=COMMAND, command_id="ack-1", note=None):
    return Acknowledgement(command_id, alert_id, actor, minutes(1), note)


def test_open_with_an_alert_opens_a_dispatched_case_with_the_alert_as_its_source(
        store, rule_directory):
    cell = put_alert(store, rule_directory)
    d = run_batch(store, rule_directory, minutes(2), commands=[
        cmd(None, "open", COMMAND, minutes(1), alert_id=ALERT, department="CN-xf")])
    assert [r.outcome for r in d.commands] == ["applied"], d.commands
    case = d.cases[-1]
    assert (case.state, case.category, case.department, case.cell, case.origin) == (
        CaseState.DISPATCHED, "smoke_alarm", "CN-xf", cell, "alert")
    assert [(s.kind, s.source_id) for s in d.sources] == [("alert", ALERT)]
    assert [e.action for e in d.entries] == ["open", "dispatch"]
    assert read_cases(store.cursor(), [case.case_id])[0]["state"] == "dispatched"


def test_an_alert_that_already_has_a_case_is_not_opened_twice(store, rule_directory):
    put_alert(store, rule_directory)
    run_batch(store, rule_directory, minutes(2), commands=[
        cmd(None, "open", COMMAND, minutes(1), alert_id=ALERT)])
    again = run_batch(store, rule_directory, minutes(3), commands=[
        cmd(None, "open", COMMAND, minutes(2), alert_id=ALERT)])
    (record,) = again.commands
    assert (record.outcome, record.code) == ("rejected", "bad_state")
    assert "already belongs to case" in record.reason
    assert store.scalar("SELECT count(*) FROM cases") == 1


def test_open_names_an_unknown_alert(store, rule_directory):
    d = run_batch(store, rule_directory, commands=[
        cmd(None, "open", COMMAND, alert_id="A-nope")])
    assert (d.commands[0].outcome, d.commands[0].code) == ("rejected", "unknown_alert")


def test_acknowledge_is_recorded_without_changing_the_alert(store, rule_directory):
    put_alert(store, rule_directory)
    d = run_batch(store, rule_directory, minutes(2), acks=[ack(note="on it")])
    assert [(r.outcome, r.action) for r in d.commands] == [("applied", "acknowledge")]
    rows = store.cursor().execute("SELECT alert_id, actor, note FROM alert_acks").fetchall()
    assert rows == [(ALERT, COMMAND, "on it")]
    assert store.scalar("SELECT state FROM alerts") == "firing"
    assert store.scalar("SELECT count(*) FROM case_log") == 0


def test_a_redelivered_acknowledgement_is_ignored(store, rule_directory):
    put_alert(store, rule_directory)
    run_batch(store, rule_directory, minutes(2), acks=[ack()])
    again = run_batch(store, rule_directory, minutes(3), acks=[ack()])
    assert again.commands == () and again.ignored == ("ack-1",)
    assert store.scalar("SELECT count(*) FROM alert_acks") == 1


@pytest.mark.parametrize(("actor", "rule_id", "grid", "code"), [
    (LEAD_STAFF, "safety.smoke", GRID, "not_allowed"),  # department staff do not
    (ENV_OFFICER, "safety.smoke", GRID, "not_allowed"),  # not an environment alert
    (DISTRICT_ENV_OFFICER, "air.pm25.1h", GRID, "not_allowed"),  # outside Huangpu
    (ENV_OFFICER, "air.pm25.1h", GRID, None),  # city-wide officer, air alert
    ("nobody", "safety.smoke", GRID, "unknown_actor"),
])
def test_who_may_acknowledge_which_alert(store, rule_directory, actor, rule_id, grid, code):
    put_alert(store, rule_directory, rule_id=rule_id, grid=grid)
    d = run_batch(store, rule_directory, minutes(2), acks=[ack(actor=actor)])
    (record,) = d.commands
    assert record.code == code, record.reason
    assert record.outcome == ("applied" if code is None else "rejected")


def test_acknowledging_an_unknown_alert_is_refused(store, rule_directory):
    d = run_batch(store, rule_directory, acks=[ack(alert_id="A-nope")])
    assert (d.commands[0].outcome, d.commands[0].code) == ("rejected", "unknown_alert")
