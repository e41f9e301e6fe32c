"""Casework against a real store: commands in order, idempotence, intake, the SLA tick."""

from __future__ import annotations

from onegrid.alerts.audit import verify_chain
from onegrid.alerts.cases import CaseState, row_to_case
from onegrid.alerts.casework import CaseDecisions, entry_to_message
from onegrid.geo.case_store import case_heads, log_rows, read_cases
from tests.alerts.casekit import (
    COMMAND,
    LEAD,
    LEAD_STAFF,
    T0,
    WORKER,
    cmd,
    minutes,
    report,
    run_batch,
)

S = CaseState


def stored(store, case_id):
    (row,) = read_cases(store.cursor(), [case_id])
    return row_to_case(row)


def count(store, table):
    return store.scalar(f"SELECT count(*) FROM {table}")


def opened(store, directory, category="exposed_garbage"):
    decisions = run_batch(store, directory, incidents=[report(directory, "r1",
                                                              category=category)])
    return decisions.cases[0].case_id


def test_commands_in_one_batch_see_each_others_effect(store, directory):
    case_id = opened(store, directory)
    d = run_batch(store, directory, minutes(10), commands=[
        cmd(case_id, "dispatch", COMMAND, minutes(1)), cmd(case_id, "accept", LEAD_STAFF,
                                                           minutes(2)),
        cmd(case_id, "start", LEAD_STAFF, minutes(3))])
    assert [r.outcome for r in d.commands] == ["applied"] * 3
    assert [e.seq for e in d.entries] == [2, 3, 4]
    case = stored(store, case_id)
    assert case.state == S.IN_PROGRESS and case.seq == 4 and case.department == LEAD


def test_repeated_command_id_is_ignored(store, directory):
    case_id = opened(store, directory)
    dispatch = cmd(case_id, "dispatch", COMMAND, minutes(1))
    first = run_batch(store, directory, minutes(2), commands=[dispatch, dispatch])
    assert len(first.entries) == 1 and first.ignored == (dispatch.command_id,)
    again = run_batch(store, directory, minutes(3), commands=[dispatch])
    assert again.entries == () and again.commands == () and again.ignored == (
        dispatch.command_id,)
    assert count(store, "case_log") == 2 and count(store, "case_commands") == 1


def test_refused_command_is_recorded_and_changes_nothing(store, directory):
    case_id = opened(store, directory)
    before = stored(store, case_id)
    d = run_batch(store, directory, minutes(5), commands=[
        cmd(case_id, "close", COMMAND, minutes(1))])
    (refusal,) = d.rejections
    assert (refusal.code, refusal.seq, refusal.state) == ("bad_state", 1, "new")
    assert stored(store, case_id) == before and count(store, "case_log") == 1
    row = store.cursor().execute("SELECT outcome, code FROM case_commands").fetchall()
    assert row == [("rejected", "bad_state")]
    message = d.messages()[-1]
    assert message["type"] == "rejected" and message["code"] == "bad_state"
    assert message["command_id"] == refusal.command_id and message["case_id"] == case_id


def test_second_of_two_concurrent_commands_is_rejected_as_stale(store, directory):
    case_id = opened(store, directory)
    run_batch(store, directory, minutes(1), commands=[cmd(case_id, "dispatch", COMMAND)])
    seen = stored(store, case_id).seq
    d = run_batch(store, directory, minutes(2), commands=[
        cmd(case_id, "accept", LEAD_STAFF, minutes(2), expected_seq=seen),
        cmd(case_id, "accept", WORKER, minutes(2), expected_seq=seen)])
    assert [(r.outcome, r.code) for r in d.commands] == [("applied", None), ("rejected", "stale")]
    assert stored(store, case_id).handler == LEAD_STAFF


def test_reports_merge_in_a_batch_and_later_reports_join_from_the_store(store, directory):
    d = run_batch(store, directory, incidents=[report(directory, "r1"),
                                               report(directory, "r2", cell_index=1)])
    (case,) = d.cases
    later = run_batch(store, directory, minutes(20), incidents=[
        report(directory, "r3", minutes(20), cell_index=2)])
    assert [c.case_id for c in later.cases] == [case.case_id]
    assert count(store, "cases") == 1 and count(store, "case_sources") == 3
    far = run_batch(store, directory, minutes(25), incidents=[
        report(directory, "r4", minutes(25), grid_id="CN-02-01-01")])
    assert far.cases[0].case_id != case.case_id


def test_merge_command_moves_sources_in_the_store(store, directory):
    a = run_batch(store, directory, incidents=[report(directory, "r1")]).cases[0]
    b = run_batch(store, directory, minutes(40), incidents=[
        report(directory, "r2", minutes(40))]).cases[0]
    assert a.case_id != b.case_id  # 40 min apart: outside the window
    run_batch(store, directory, minutes(41), commands=[
        cmd(a.case_id, "merge", COMMAND, minutes(41), other_case_ids=(b.case_id,))])
    rows = store.cursor().execute("SELECT source_id, case_id FROM case_sources ORDER BY 1"
                                  ).fetchall()
    assert rows == [("r1", a.case_id), ("r2", a.case_id)]
    assert stored(store, b.case_id).merged_into == a.case_id


def test_overdue_case_escalates_on_a_later_tick(store, directory):
    case_id = opened(store, directory, category="gas_leak")  # urgent: dispatched, due +2 h
    assert run_batch(store, directory, minutes(119)).entries == ()
    d = run_batch(store, directory, minutes(181))
    assert [e.action for e in d.entries] == ["escalate", "press", "escalate", "press"]
    assert stored(store, case_id).escalation_level == 2
    assert run_batch(store, directory, minutes(182)).entries == ()


def test_log_chain_continues_across_batches(store, directory):
    case_id = opened(store, directory)
    run_batch(store, directory, minutes(1), commands=[cmd(case_id, "dispatch", COMMAND)])
    run_batch(store, directory, minutes(2), commands=[cmd(case_id, "accept", LEAD_STAFF)])
    cur = store.cursor()
    rows = log_rows(cur)
    assert [r["log_seq"] for r in rows] == [1, 2, 3]
    assert verify_chain(rows, case_heads(cur)) is None


def test_plan_steps_are_written_when_a_case_opens_and_when_ticked(store, directory):
    case_id = opened(store, directory, category="gas_leak")
    run_batch(store, directory, minutes(1), commands=[
        cmd(case_id, "step", "ST-CN-yj", minutes(1), step_id="evacuate")])
    rows = store.cursor().execute(
        "SELECT step_id, done_by FROM case_steps WHERE case_id = ? ORDER BY ord", [case_id]
    ).fetchall()
    assert rows == [("evacuate", "ST-CN-yj"), ("shut_off", None), ("ventilate", None),
                    ("repair", None)]


def test_decisions_become_messages_for_onegrid_cases(store, directory):
    case_id = opened(store, directory)
    d = run_batch(store, directory, minutes(5), commands=[
        cmd(case_id, "dispatch", COMMAND, minutes(1), note="go")])
    (message,) = d.messages()
    assert message["case_id"] == case_id and message["seq"] == 2
    assert (message["type"], message["state"], message["actor"], message["department"]) == \
        ("dispatch", "dispatched", COMMAND, LEAD)
    assert message["at"] == "2026-06-01T12:01:00.000Z" and message["note"] == "go"
    assert message["changes"]["state"] == "dispatched" and "due_at" in message["changes"]
    assert message["detail"]["command_id"] == d.commands[0].command_id
    assert message["hash"] == d.entries[0].hash and message["log_seq"] == 2
    assert entry_to_message(d.entries[0]) == message


def test_empty_batch_decides_nothing(store, directory):
    assert run_batch(store, directory, T0) == CaseDecisions()
