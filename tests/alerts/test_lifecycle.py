"""The alert lifecycle as tables: a rule, a series of (minute, value), the transitions."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onegrid.alerts import lifecycle
from onegrid.alerts.model import AlertState, Level, Observation, Rule, Scope

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
PENDING, FIRING, RESOLVED = AlertState.PENDING, AlertState.FIRING, AlertState.RESOLVED
PLAIN = (Level("alert", 2, 75, 70),)
LADDER = (Level("yellow", 2, 75, 70), Level("orange", 3, 115, 110), Level("red", 4, 150, 145))


def rule(levels=PLAIN, op=">=", for_m=0, clear_for_m=0,
         dwell_m=0, **kw) -> Rule:
    """A PM2.5 rule; durations in minutes."""
    base = dict(id="pm25", version="v1", kind="threshold", title_zh="", title_en="",
                metric="pm25", stat="mean", window_s=600, scope=Scope.CELL, res=10, op=op,
                levels=levels, for_s=for_m * 60, clear_for_s=clear_for_m * 60,
                dwell_s=dwell_m * 60)
    return Rule(**{**base, **kw})


def hold(value, start: int, stop: int) -> list[tuple[int, float | None]]:
    """The same value at each minute of [start, stop)."""
    return [(m, value) for m in range(start, stop)]


def obs(minute: int, value: float | None, key="c1", **kw) -> Observation:
    return Observation("pm25", key, T0 + timedelta(minutes=minute), value, **kw)


def run(r: Rule, series, key="c1"):
    """Fold the series through `step` one observation at a time."""
    alert, transitions = None, []
    for minute, value in series:
        alert, changed = lifecycle.step(r, alert, obs(minute, value, key))
        transitions.extend(changed)
    return alert, transitions


def table(transitions) -> list[tuple[int, str, str]]:
    return [(int((t.alert.updated_at - T0).total_seconds() // 60), str(t.alert.state),
             t.alert.level) for t in transitions]


RAMP = [(0, 50), (1, 60), (2, 70), (3, 80), (4, 90), (5, 100), (6, 110), (7, 100), (8, 90),
        (9, 80), (10, 72), *hold(65, 11, 25)]
OSCILLATION = [(m, 80 if m % 2 == 0 else 72) for m in range(60)]
OSCILLATION_THROUGH_CLEAR = [(m, 80 if m % 4 == 0 else 68) for m in range(60)]
LADDER_WALK = [(0, 80), *hold(120, 1, 12), *hold(155, 12, 23), *hold(112, 23, 34),
               *hold(100, 34, 45), *hold(60, 45, 60)]

CASES = {
    "pm25 ramp: pending at 80, firing after for, resolved after clear_for":
        (rule(for_m=5, clear_for_m=10), RAMP,
         [(3, PENDING, "alert"), (8, FIRING, "alert"), (21, RESOLVED, "alert")]),
    "for 0 records pending and firing at once":
        (rule(), [(0, 50), (1, 80), (2, 60)],
         [(1, PENDING, "alert"), (1, FIRING, "alert"), (2, RESOLVED, "alert")]),
    "pending that leaves the bad side resolves before firing":
        (rule(for_m=5), [(0, 80), (1, 90), (2, 74), (3, 50)],
         [(0, PENDING, "alert"), (2, RESOLVED, "alert")]),
    "oscillation between clear and threshold gives one alert":
        (rule(clear_for_m=5), OSCILLATION, [(0, PENDING, "alert"), (0, FIRING, "alert")]),
    "leaving the clear side resets the clear timer":
        (rule(clear_for_m=5), OSCILLATION_THROUGH_CLEAR,
         [(0, PENDING, "alert"), (0, FIRING, "alert")]),
    "clear side held after oscillation resolves once":
        (rule(clear_for_m=5), [*OSCILLATION[:10], *hold(60, 10, 20)],
         [(0, PENDING, "alert"), (0, FIRING, "alert"), (15, RESOLVED, "alert")]),
    "ladder steps up and down with dwell and resolves below the first clear":
        (rule(LADDER, dwell_m=10, clear_for_m=10), LADDER_WALK,
         [(0, PENDING, "yellow"), (0, FIRING, "yellow"), (11, FIRING, "orange"),
          (22, FIRING, "red"), (33, FIRING, "orange"), (44, FIRING, "yellow"),
          (55, RESOLVED, "yellow")]),
    "ladder dip restarts the dwell":
        (rule(LADDER, dwell_m=10), [(0, 80), *hold(120, 1, 6), (6, 100), *hold(120, 7, 20)],
         [(0, PENDING, "yellow"), (0, FIRING, "yellow"), (17, FIRING, "orange")]),
    "ladder within a level's hysteresis band keeps the level":
        (rule(LADDER, dwell_m=2), [(0, 120), *hold(112, 1, 30)],
         [(0, PENDING, "orange"), (0, FIRING, "orange")]),
    "ladder jump straight to red fires red":
        (rule(LADDER, for_m=2), [(0, 160), (1, 160), (2, 160)],
         [(0, PENDING, "red"), (2, FIRING, "red")]),
    "ladder below the first clear resolves without stepping down":
        (rule(LADDER, dwell_m=1, clear_for_m=3), [*hold(155, 0, 3), *hold(40, 3, 10)],
         [(0, PENDING, "red"), (0, FIRING, "red"), (6, RESOLVED, "red")]),
    "none never starts an alert":
        (rule(), hold(None, 0, 10), []),
    "none keeps a firing alert firing":
        (rule(clear_for_m=1), [(0, 80), *hold(None, 1, 30)],
         [(0, PENDING, "alert"), (0, FIRING, "alert")]),
    "none keeps a pending alert and its clock":
        (rule(for_m=5), [(0, 80), *hold(None, 1, 5), (5, 80)],
         [(0, PENDING, "alert"), (5, FIRING, "alert")]),
    "op <= is bad below the threshold and clears above clear":
        (rule((Level("low", 3, 2.0, 3.0),), op="<=", for_m=1, clear_for_m=2),
         [(0, 4.0), (1, 1.5), (2, 1.8), (3, 2.5), (4, 3.5), (5, 3.6), (6, 3.7)],
         [(1, PENDING, "low"), (2, FIRING, "low"), (6, RESOLVED, "low")]),
}


@pytest.mark.parametrize(("r", "series", "expected"), CASES.values(), ids=CASES.keys())
def test_series_gives_exactly_the_expected_transitions(r, series, expected):
    _, transitions = run(r, series)
    assert table(transitions) == [(m, str(s), lv) for m, s, lv in expected]


def test_pm25_ramp_ends_with_no_live_alert():
    alert, _ = run(rule(for_m=5, clear_for_m=10), RAMP)
    assert alert is None


def test_each_transition_names_its_previous_state_and_why():
    _, transitions = run(rule(LADDER, dwell_m=10, clear_for_m=10), LADDER_WALK)
    assert [t.previous for t in transitions] == [None, PENDING, FIRING, FIRING, FIRING,
                                                 FIRING, FIRING]
    assert transitions[2].reason.startswith("level yellow -> orange")
    assert transitions[4].reason.startswith("level red -> orange")
    assert transitions[2].alert.severity == 3 and transitions[2].alert.threshold == 115


def test_pending_that_never_fired_is_recorded_as_cleared_before_firing():
    _, transitions = run(rule(for_m=5), [(0, 80), (2, 60)])
    assert transitions[-1].previous == PENDING
    assert transitions[-1].reason.startswith("cleared before firing")


def test_alert_id_is_rule_key_and_start_second():
    _, transitions = run(rule(for_m=5), RAMP)
    start = int((T0 + timedelta(minutes=3)).timestamp())
    assert {t.alert.alert_id for t in transitions} == {f"pm25:c1:{start}"}


def test_alert_carries_rule_version_value_evidence_and_place():
    r = rule()
    alert, (started, fired) = lifecycle.step(
        r, None, obs(0, 90.5, evidence=("e1", "e2"), cell=123, grid_id="G-1"))
    assert (alert.rule_version, alert.value, alert.evidence, alert.cell, alert.grid_id) == (
        "v1", 90.5, ("e1", "e2"), 123, "G-1")
    assert started.alert.state == PENDING and fired.alert is alert
    assert alert.started_at == alert.updated_at == T0


def test_updated_at_moves_only_with_a_transition():
    r = rule(clear_for_m=5)
    alert, _ = run(r, [(0, 80), (1, 90), (2, 72)])
    assert alert.updated_at == T0 and alert.value == 72


def test_evaluate_all_matches_step_whatever_the_input_order():
    r = rule(LADDER, for_m=2, dwell_m=10, clear_for_m=10)
    series = {"a": LADDER_WALK, "b": RAMP}
    observations = [obs(m, v, key) for key, s in series.items() for m, v in s]
    random.Random(7).shuffle(observations)
    live, transitions = lifecycle.evaluate_all(r, {}, observations)
    expected = [t for key in sorted(series) for t in run(r, series[key], key)[1]]
    assert transitions == expected
    assert live == {}


def test_evaluate_all_twice_gives_the_same_alert_ids():
    r = rule(for_m=5, clear_for_m=10)
    observations = [obs(m, v) for m, v in RAMP]
    first = lifecycle.evaluate_all(r, {}, observations)[1]
    second = lifecycle.evaluate_all(r, {}, list(reversed(observations)))[1]
    assert [t.alert.alert_id for t in first] == [t.alert.alert_id for t in second]


def test_evaluate_all_keeps_alerts_of_keys_without_observations_and_drops_resolved():
    r = rule(clear_for_m=0)
    live, _ = lifecycle.evaluate_all(r, {}, [obs(0, 80, "a"), obs(0, 80, "b")])
    after, transitions = lifecycle.evaluate_all(r, live, [obs(1, 50, "b")])
    assert after == {"a": live["a"]}
    assert [(t.alert.key, str(t.alert.state)) for t in transitions] == [("b", "resolved")]


def test_one_live_alert_per_key_while_it_fires():
    r = rule(clear_for_m=5)
    _, transitions = run(r, [(m, 80 + m) for m in range(30)])
    assert len({t.alert.alert_id for t in transitions}) == 1


def test_new_alert_after_resolve_gets_a_new_id():
    _, transitions = run(rule(), [(0, 80), (1, 60), (2, 80)])
    ids = [t.alert.alert_id for t in transitions]
    assert ids[0] == ids[1] == ids[2] != ids[3]


def test_a_change_starts_unsilenced_so_silences_decide_it_afresh():
    r = rule(clear_for_m=0)
    alert, _ = lifecycle.step(r, None, obs(0, 80))
    _, (resolved,) = lifecycle.step(r, replace(alert, silenced=True), obs(1, 50))
    assert resolved.alert.silenced is False
