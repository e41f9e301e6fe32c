"""The case state machine as data: states, the transition table, records and rows."""

from __future__ import annotations

from dataclasses import replace

import pytest

from onegrid.alerts.cases import (
    FINAL,
    TRANSITIONS,
    Action,
    CaseState,
    can,
    case_to_row,
    record,
    row_to_case,
)
from tests.alerts.casekit import COMMAND, T0, minutes, new_case

S = CaseState


def test_transition_table_names_every_action():
    assert set(TRANSITIONS) == set(Action)


def test_every_state_leads_somewhere_except_the_final_ones():
    targets = {m.target for m in TRANSITIONS.values()} | {m.alternative
                                                         for m in TRANSITIONS.values()}
    for state in set(S) - FINAL:
        moves = {a for a, m in TRANSITIONS.items() if state in m.sources and m.target
                 not in (None, state)}
        assert moves, f"{state} is a dead end"
    assert set(S) - {S.SUGGESTED} <= targets  # every state but suggested is reachable by a move


@pytest.mark.parametrize(("action", "allowed", "refused"), [
    (Action.ACCEPT, [S.DISPATCHED, S.REOPENED], [S.NEW, S.RESOLVED, S.CLOSED]),
    (Action.CLOSE, [S.VERIFIED], [S.RESOLVED, S.IN_PROGRESS, S.NEW]),
    (Action.VERIFY, [S.RESOLVED], [S.IN_PROGRESS, S.VERIFIED]),
    (Action.RETURN, [S.DISPATCHED, S.ACCEPTED], [S.NEW, S.RESOLVED, S.ARBITRATION]),
    (Action.ARBITRATE, [S.ARBITRATION], [S.RETURNED, S.DISPATCHED]),
    (Action.APPROVE, [S.SUGGESTED], [S.NEW]),
    (Action.FEEDBACK, [S.CLOSED], [S.RESOLVED, S.VERIFIED]),
    (Action.COMMENT, list(S), []),
])
def test_actions_are_allowed_only_from_their_states(action, allowed, refused):
    assert all(can(action, s) for s in allowed)
    assert not any(can(action, s) for s in refused)


def test_case_row_round_trips(directory):
    case = replace(new_case(directory), assisting=("A", "B"), steps_done=("x",),
                   due_at=minutes(120), paused_s=12.5)
    assert row_to_case(case_to_row(case)) == case


def test_record_moves_seq_and_logs_only_what_changed(directory):
    case = new_case(directory)
    after, entry = record(case, replace(case, state=S.DISPATCHED, department="X"),
                          Action.DISPATCH, COMMAND, minutes(5), reason="why")
    assert after.seq == case.seq + 1 == entry.seq
    assert after.updated_at == minutes(5) and entry.at == minutes(5)
    assert entry.details()["changes"] == {"state": "dispatched", "department": "X"}
    assert (entry.state, entry.department, entry.reason) == ("dispatched", "X", "why")


def test_opening_entry_lists_the_new_case(directory):
    case = new_case(directory, at=T0)
    assert case.seq == 1 and case.state == S.NEW and case.created_at == T0


def test_every_action_state_and_error_code_is_documented():
    from pathlib import Path

    from onegrid.alerts.cases import CaseError

    text = (Path(__file__).resolve().parents[2] / "docs" / "cases.md").read_text("utf-8")
    words = [*Action, *CaseState, *CaseError]
    missing = [str(w) for w in words if f"`{w}`" not in text]
    assert not missing, f"document these in docs/cases.md: {missing}"
