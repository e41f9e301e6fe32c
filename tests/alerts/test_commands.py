"""Commands on cases: each action's effect, its refusals, and who may do it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from onegrid.alerts.cases import Action, CaseError, CaseState, Rejection, SourceLink
from onegrid.alerts.sla import due_at
from tests.alerts.casekit import (
    COMMAND,
    COMMAND_2,
    GRID,
    LEAD,
    LEAD_STAFF,
    NEIGHBOUR,
    T0,
    WORKER,
    apply,
    cmd,
    minutes,
    new_case,
    ok,
    walk,
)

S, E = CaseState, CaseError


def refused(result, code: CaseError) -> str:
    assert isinstance(result, Rejection), result
    assert result.code == code, result
    return result.reason


def dispatched(directory, **kw):
    case = new_case(directory, **kw)
    return ok(case, cmd(case, "dispatch", COMMAND, minutes(1)), directory).cases[0]


def test_full_lifecycle_new_to_closed_is_logged_step_by_step(directory):
    case, entries = walk(new_case(directory), directory, ("dispatch", COMMAND),
                         ("accept", LEAD_STAFF), ("start", LEAD_STAFF), ("resolve", LEAD_STAFF),
                         ("verify", COMMAND_2), ("close", COMMAND))
    assert [e.state for e in entries] == ["dispatched", "accepted", "in_progress", "resolved",
                                          "verified", "closed"]
    assert [e.seq for e in entries] == [2, 3, 4, 5, 6, 7] and case.seq == 7
    assert case.state == S.CLOSED and case.handler == LEAD_STAFF
    assert case.dispatched_at == minutes(1) and case.resolved_at == minutes(4)
    assert case.closed_at == minutes(6)


def test_case_closes_only_after_verification_by_someone_else(directory):
    case, _ = walk(new_case(directory), directory, ("dispatch", COMMAND), ("accept", WORKER),
                   ("resolve", WORKER))
    refused(apply(case, cmd(case, "close", COMMAND), directory), E.BAD_STATE)
    refused(apply(case, cmd(case, "verify", WORKER), directory), E.SELF_VERIFY)
    verified = ok(case, cmd(case, "verify", NEIGHBOUR), directory).cases[0]
    assert ok(verified, cmd(verified, "close", COMMAND), directory).cases[0].state == S.CLOSED


def test_verification_by_the_handler_is_refused_even_for_command_staff(directory):
    case, _ = walk(new_case(directory), directory, ("dispatch", COMMAND), ("accept", COMMAND),
                   ("resolve", COMMAND))
    reason = refused(apply(case, cmd(case, "verify", COMMAND), directory), E.SELF_VERIFY)
    assert "someone else" in reason


def test_grid_worker_verifies_only_in_their_community(directory):
    case, _ = walk(new_case(directory), directory, ("dispatch", COMMAND),
                   ("accept", LEAD_STAFF), ("resolve", LEAD_STAFF))
    refused(apply(case, cmd(case, "verify", "GW-00011"), directory), E.NOT_ALLOWED)
    assert ok(case, cmd(case, "verify", "GC-0001"), directory).cases[0].state == S.VERIFIED


def test_repeated_returns_go_to_arbitration_then_to_the_fallback_owner(directory):
    case = dispatched(directory)
    first = ok(case, cmd(case, "return", LEAD_STAFF, minutes(10), reason="not ours",
                         reason_code="wrong_department"), directory)
    case = first.cases[0]
    assert case.state == S.RETURNED and case.returns == 1
    assert first.entries[0].details()["reason_code"] == "wrong_department"
    case = ok(case, cmd(case, "dispatch", COMMAND, minutes(20)), directory).cases[0]
    result = ok(case, cmd(case, "return", LEAD_STAFF, minutes(30), reason="still not ours"),
                directory)
    case = result.cases[0]
    assert case.state == S.ARBITRATION and case.returns == 2
    assert case.paused_since == minutes(30)
    case = ok(case, cmd(case, "arbitrate", COMMAND, minutes(90)), directory).cases[0]
    assert case.state == S.DISPATCHED and case.department == "CN-zhzx"  # 兜底
    assert case.paused_s == 3600 and case.paused_since is None
    assert case.due_at == due_at(minutes(1), case.category, directory.registry) + \
        (minutes(90) - minutes(30))


def test_max_returns_is_configurable(directory):
    strict = replace(directory, max_returns=1)
    case = dispatched(directory)
    result = ok(case, cmd(case, "return", LEAD_STAFF, reason="not ours"), strict)
    assert result.cases[0].state == S.ARBITRATION


def test_arbitration_can_name_another_department_outside_its_remit(directory):
    case = replace(dispatched(directory), state=S.ARBITRATION, paused_since=minutes(2))
    result = ok(case, cmd(case, "arbitrate", COMMAND, minutes(3), department="CN-jt"),
                directory)
    assert result.cases[0].department == "CN-jt"
    assert result.entries[0].details()["fallback"] is False


def test_return_needs_a_reason(directory):
    case = dispatched(directory)
    refused(apply(case, cmd(case, "return", LEAD_STAFF), directory), E.MISSING_REASON)


def test_dispatch_outside_remit_is_refused_unless_overridden_with_reason(directory):
    case = new_case(directory)
    reason = refused(apply(case, cmd(case, "dispatch", COMMAND, department="CN-jt"), directory),
                     E.REMIT_REFUSED)
    assert "CN-jt" in reason and "override" in reason
    refused(apply(case, cmd(case, "dispatch", COMMAND, department="CN-jt", override=True),
                  directory), E.MISSING_REASON)
    result = ok(case, cmd(case, "dispatch", COMMAND, department="CN-jt", override=True,
                          reason="road crew already on site"), directory)
    entry = result.entries[0]
    assert entry.action == "override" and entry.reason == "road crew already on site"
    assert entry.details()["override"] is True and result.cases[0].department == "CN-jt"
    via_action = ok(case, cmd(case, "override", COMMAND, department="CN-jt", reason="same"),
                    directory)
    assert via_action.entries[0].action == "override"


def test_dispatch_within_remit_goes_to_the_routed_lead_by_default(directory):
    case = new_case(directory)
    result = ok(case, cmd(case, "dispatch", COMMAND, minutes(5)), directory)
    after = result.cases[0]
    assert after.department == LEAD and result.entries[0].action == "dispatch"
    assert after.due_at == minutes(5) + (after.due_at - after.dispatched_at)
    assert (after.due_at - after.dispatched_at).total_seconds() == 168 * 3600


def test_unknown_department_is_refused(directory):
    case = new_case(directory)
    refused(apply(case, cmd(case, "dispatch", COMMAND, department="XX-nope"), directory),
            E.UNKNOWN_DEPARTMENT)


def test_second_of_two_concurrent_commands_is_rejected_as_stale(directory):
    case = dispatched(directory)
    first = ok(case, cmd(case, "accept", LEAD_STAFF, expected_seq=case.seq), directory)
    reason = refused(apply(first.cases[0], cmd(case, "accept", WORKER, expected_seq=case.seq),
                           directory), E.STALE)
    assert "reload" in reason


def test_department_staff_act_only_on_their_departments_cases(directory):
    case = dispatched(directory)
    refused(apply(case, cmd(case, "accept", "ST-CN-jt"), directory), E.NOT_ALLOWED)
    refused(apply(case, cmd(case, "close", LEAD_STAFF), directory), E.NOT_ALLOWED)
    assisting = ok(case, cmd(case, "comment", "ST-CN-cg", note="we can help"), directory)
    assert assisting.entries[0].note == "we can help"


def test_grid_worker_acts_only_in_their_grid(directory):
    case = dispatched(directory)
    refused(apply(case, cmd(case, "accept", NEIGHBOUR), directory), E.NOT_ALLOWED)
    refused(apply(case, cmd(case, "dispatch", WORKER), directory), E.NOT_ALLOWED)
    assert ok(case, cmd(case, "accept", WORKER), directory).cases[0].handler == WORKER


def test_unknown_actor_is_refused(directory):
    case = new_case(directory)
    refused(apply(case, cmd(case, "dispatch", "mallory"), directory), E.UNKNOWN_ACTOR)


def test_command_on_unknown_case_is_refused(directory):
    refused(apply(None, cmd("C-NOPE", "accept", COMMAND), directory), E.UNKNOWN_CASE)


def test_reopen_goes_back_to_the_same_department_on_a_fresh_clock(directory):
    case, _ = walk(new_case(directory), directory, ("dispatch", COMMAND),
                   ("accept", LEAD_STAFF), ("resolve", LEAD_STAFF), ("verify", COMMAND_2),
                   ("close", COMMAND))
    refused(apply(case, cmd(case, "reopen", COMMAND), directory), E.MISSING_REASON)
    case = ok(case, cmd(case, "reopen", COMMAND, minutes(60), reason="still there"),
              directory).cases[0]
    assert case.state == S.REOPENED and case.department == LEAD and case.reopens == 1
    assert case.dispatched_at == minutes(60) and case.handler is None
    assert ok(case, cmd(case, "accept", LEAD_STAFF), directory).cases[0].state == S.ACCEPTED


def test_satisfied_feedback_is_recorded_and_dissatisfied_reopens(directory):
    case, _ = walk(new_case(directory), directory, ("dispatch", COMMAND),
                   ("accept", LEAD_STAFF), ("resolve", LEAD_STAFF), ("verify", COMMAND_2),
                   ("close", COMMAND))
    refused(apply(case, cmd(case, "feedback", COMMAND), directory), E.MISSING_FIELD)
    happy = ok(case, cmd(case, "feedback", COMMAND, satisfaction="satisfied"), directory)
    assert happy.cases[0].state == S.CLOSED and happy.cases[0].satisfaction == "satisfied"
    unhappy = ok(case, cmd(case, "feedback", COMMAND, satisfaction="dissatisfied"), directory)
    assert [e.action for e in unhappy.entries] == ["feedback", "reopen"]
    assert unhappy.cases[0].state == S.REOPENED and unhappy.cases[0].department == LEAD
    assert unhappy.cases[0].satisfaction == "dissatisfied"


def test_suggested_case_is_approved_or_dismissed_with_a_reason(directory):
    case = new_case(directory, state=S.SUGGESTED)
    refused(apply(case, cmd(case, "dispatch", COMMAND), directory), E.BAD_STATE)
    assert ok(case, cmd(case, "approve", COMMAND), directory).cases[0].state == S.NEW
    refused(apply(case, cmd(case, "dismiss", COMMAND), directory), E.MISSING_REASON)
    gone = ok(case, cmd(case, "dismiss", COMMAND, reason="sensor glitch"), directory)
    assert gone.cases[0].state == S.DISMISSED
    refused(apply(case, cmd(case, "approve", LEAD_STAFF), directory), E.NOT_ALLOWED)


def test_open_by_hand_routes_and_dispatches_when_a_department_is_named(directory):
    waiting = ok(None, cmd(None, "open", COMMAND, category="exposed_garbage", grid_id=GRID),
                 directory)
    assert waiting.cases[0].state == S.NEW and waiting.cases[0].department == LEAD
    sent = ok(None, cmd(None, "open", COMMAND, category="exposed_garbage", grid_id=GRID,
                        department=LEAD), directory)
    assert [e.action for e in sent.entries] == ["open", "dispatch"]
    assert sent.cases[0].state == S.DISPATCHED and sent.cases[0].origin == "staff"


def test_open_needs_a_known_category_and_a_place_in_the_city(directory):
    refused(apply(None, cmd(None, "open", COMMAND, grid_id=GRID), directory), E.MISSING_FIELD)
    refused(apply(None, cmd(None, "open", COMMAND, category="ufo", grid_id=GRID), directory),
            E.UNKNOWN_CATEGORY)
    refused(apply(None, cmd(None, "open", COMMAND, category="exposed_garbage", lat=39.9,
                            lng=116.4), directory), E.OUT_OF_AREA)


def test_env_officer_opens_only_environment_cases(directory):
    ok(None, cmd(None, "open", "EO-01", category="air_pollution", grid_id=GRID), directory)
    refused(apply(None, cmd(None, "open", "EO-01", category="exposed_garbage", grid_id=GRID),
                  directory), E.NOT_ALLOWED)
    refused(apply(None, cmd(None, "open", "EO-02", category="air_pollution", grid_id=GRID),
                  directory), E.NOT_ALLOWED)  # EO-02 works in Huangpu


def test_merge_command_closes_duplicates_into_one_case_and_moves_their_sources(directory):
    keep, dup = new_case(directory, severity=2), new_case(directory, severity=4)
    link = SourceLink("report", "r-9", dup.case_id, dup.category, dup.cell, T0, 4)
    result = ok(keep, cmd(keep, "merge", COMMAND, other_case_ids=(dup.case_id,),
                          reason="same pile"), directory, others=(dup,), sources=(link,))
    target, closed = result.cases
    assert target.severity == 4 and target.seq == keep.seq + 1
    assert closed.state == S.CLOSED and closed.merged_into == keep.case_id
    assert result.sources == (replace(link, case_id=keep.case_id),)
    assert result.entries[0].details()["merged"] == [dup.case_id]


@pytest.mark.parametrize("what", ["other category", "itself", "closed", "unknown"])
def test_merge_of_what_is_not_a_duplicate_is_refused(directory, what):
    keep = new_case(directory)
    other = {"other category": new_case(directory, category="street_vending"),
             "itself": keep, "closed": new_case(directory, state=S.CLOSED),
             "unknown": None}[what]
    other_id = other.case_id if other else "C-NOPE"
    result = apply(keep, cmd(keep, "merge", COMMAND, other_case_ids=(other_id,)), directory,
                   others=(other,) if other else ())
    refused(result, E.UNKNOWN_CASE if other is None else E.BAD_MERGE)


def test_split_moves_sources_to_a_new_routed_case(directory):
    case = new_case(directory)
    links = tuple(SourceLink("report", f"r-{i}", case.case_id, case.category, case.cell, T0,
                             i) for i in (1, 2, 3))
    refused(apply(case, cmd(case, "split", COMMAND, source_ids=("r-1", "r-2", "r-3")),
                  directory, sources=links), E.BAD_SPLIT)
    refused(apply(case, cmd(case, "split", COMMAND, source_ids=("r-7",)), directory,
                  sources=links), E.BAD_SPLIT)
    result = ok(case, cmd(case, "split", COMMAND, source_ids=("r-3",)), directory,
                sources=links)
    kept, new = result.cases
    assert new.state == S.NEW and new.department == LEAD and new.severity == 3
    assert kept.severity == 2 and [e.action for e in result.entries] == ["split", "open"]
    assert [s.case_id for s in result.sources] == [new.case_id]


def test_plan_steps_are_ticked_once_and_notify_tells_every_plan_department(directory):
    case = new_case(directory, category="gas_leak")
    assert case.plan_id == "gas"
    refused(apply(case, cmd(case, "step", COMMAND, step_id="dance"), directory),
            E.UNKNOWN_STEP)
    result = ok(case, cmd(case, "step", "ST-CN-yj", step_id="evacuate"), directory)
    assert result.cases[0].steps_done == ("evacuate",)
    assert result.steps[0].done_by == "ST-CN-yj"
    refused(apply(result.cases[0], cmd(case, "step", COMMAND, step_id="evacuate"), directory),
            E.BAD_STATE)
    told = ok(case, cmd(case, "notify", COMMAND), directory)
    assert [e.department for e in told.entries] == ["CN-yj", "CN-xf", "CN-zj", "CN-ga"]
    refused(apply(new_case(directory), cmd(case, "notify", COMMAND), directory), E.NO_PLAN)


def test_escalate_moves_up_the_ladder_and_stops_at_the_city(directory):
    case = dispatched(directory)
    result = ok(case, cmd(case, "escalate", WORKER, reason="needs the street"), directory)
    assert result.cases[0].escalation_level == 1
    assert result.entries[0].details()["to"] == "street"
    top = replace(case, escalation_level=3)
    refused(apply(top, cmd(top, "escalate", COMMAND), directory), E.BAD_STATE)


def test_press_is_for_command_staff_and_supervisors(directory):
    case = dispatched(directory)
    assert ok(case, cmd(case, "press", "SV-01", reason="hurry"), directory).entries[0].action \
        == "press"
    refused(apply(case, cmd(case, "press", WORKER), directory), E.NOT_ALLOWED)


def test_comment_needs_a_note_or_a_photo(directory):
    case = new_case(directory)
    refused(apply(case, cmd(case, "comment", COMMAND), directory), E.MISSING_FIELD)
    photo = ok(case, cmd(case, "comment", COMMAND, photo_url="https://x/1.jpg"), directory)
    assert photo.entries[0].details()["photo_url"] == "https://x/1.jpg"


def test_every_action_has_a_handler():
    from onegrid.alerts.commands import HANDLERS

    assert set(HANDLERS) | {Action.OPEN} == set(Action)


@pytest.mark.parametrize("at", ["2026-06-01T20:01:00+08:00", "2026-06-01T12:01:00Z",
                                1_780_315_260_000])
def test_command_from_a_decoded_message(at):
    from onegrid.alerts.commands import command_from_dict

    c = command_from_dict({"command_id": "k", "case_id": "C-1", "action": "merge",
                           "actor": COMMAND, "at": at, "other_case_ids": ["C-2"],
                           "lat": None, "unknown_field": 1})
    assert c.at == minutes(1) and c.action == Action.MERGE
    assert c.other_case_ids == ("C-2",) and c.source_ids == () and c.lat is None


def test_open_with_the_id_of_an_existing_case_is_refused(directory):
    case = new_case(directory)
    refused(apply(case, cmd(case, "open", COMMAND, category="exposed_garbage", grid_id=GRID),
                  directory), E.BAD_STATE)


def test_a_press_for_action_needs_a_reason(directory):
    case = new_case(directory)
    case = ok(case, cmd(case, "dispatch", COMMAND), directory).cases[0]
    refused(apply(case, cmd(case, "press", "SV-01"), directory), E.MISSING_REASON)
