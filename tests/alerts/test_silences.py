"""Silences: which alerts they cover, that the record is kept, and the silence file."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onegrid.alerts import lifecycle
from onegrid.alerts.model import AlertState, Level, Observation, Rule, Scope
from onegrid.alerts.silences import (
    Silence,
    SilenceError,
    apply_silences,
    is_silenced,
    load_silences,
    silenced_by,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
# grid id -> its grid, community, street and district ids
REGIONS = {"G-1": ("G-1", "C-1", "S-1", "D-1"), "G-2": ("G-2", "C-2", "S-1", "D-1")}


def rule(rule_id="pm25") -> Rule:
    return Rule(id=rule_id, version="v1", kind="threshold", title_zh="", title_en="",
                metric="pm25", stat="mean", window_s=600, scope=Scope.CELL, res=10, op=">=",
                levels=(Level("alert", 2, 75, 70),), for_s=0, clear_for_s=0)


def transitions(rule_id="pm25", key="c1", grid_id="G-1"):
    """pending, firing at minute 0 and resolved at minute 30."""
    r = rule(rule_id)
    live, first = lifecycle.evaluate_all(r, {}, [Observation(rule_id, key, T0, 90.0,
                                                             grid_id=grid_id)])
    at = T0 + timedelta(minutes=30)
    _, last = lifecycle.evaluate_all(r, live, [Observation(rule_id, key, at, 50.0)])
    return first + last


def silence(rule_id=None, regions=(), sensors=(), start=-10, end=10, **kw) -> Silence:
    """A silence from `start` to `end` minutes around T0."""
    base = dict(silence_id="s1", rule_id=rule_id, region_ids=tuple(regions),
                sensor_ids=tuple(sensors), starts_at=T0 + timedelta(minutes=start),
                ends_at=T0 + timedelta(minutes=end), reason="works", created_by="li")
    return Silence(**{**base, **kw})


ALERT = transitions()[1].alert  # firing at T0 in grid G-1, key c1, rule pm25

MATCHES = {
    "by rule": (silence(rule_id="pm25"), True),
    "by another rule": (silence(rule_id="noise"), False),
    "by the grid": (silence(regions=["G-1"]), True),
    "by the district above the grid": (silence(regions=["D-1"]), True),
    "by another grid": (silence(regions=["G-2"]), False),
    "by sensor": (silence(sensors=["c1"]), True),
    "by another sensor": (silence(sensors=["c9"]), False),
    "by rule and region, both matching": (silence(rule_id="pm25", regions=["C-1"]), True),
    "by rule and region, region not matching": (silence(rule_id="pm25", regions=["C-2"]),
                                                False),
    "before its time range": (silence(rule_id="pm25", start=1, end=10), False),
    "at its end (exclusive)": (silence(rule_id="pm25", start=-10, end=0), False),
    "at its start (inclusive)": (silence(rule_id="pm25", start=0, end=1), True),
}


@pytest.mark.parametrize(("s", "expected"), MATCHES.values(), ids=MATCHES.keys())
def test_silence_covers_an_alert_only_when_every_criterion_matches(s, expected):
    assert is_silenced(s, ALERT, REGIONS, T0) is expected


def test_region_lookup_may_be_a_function_of_the_grid_id():
    assert is_silenced(silence(regions=["S-1"]), ALERT, lambda g: REGIONS.get(g, ()), T0)


def test_region_scoped_alert_is_covered_by_a_silence_of_its_region():
    alert = replace(ALERT, key="C-7", grid_id=None)
    assert is_silenced(silence(regions=["C-7"]), alert, REGIONS, T0)


def test_silenced_by_returns_the_first_matching_silence():
    a, b = silence(rule_id="noise", silence_id="a"), silence(regions=["D-1"], silence_id="b")
    assert silenced_by([a, b], ALERT, REGIONS, T0) is b
    assert silenced_by([a], ALERT, REGIONS, T0) is None


def test_silenced_alert_is_still_recorded_and_marked_silenced():
    changes = transitions()
    out = apply_silences(changes, [silence(rule_id="pm25")], REGIONS)
    assert len(out) == len(changes) == 3
    assert [t.alert.silenced for t in out] == [True, True, False]  # resolved after the silence
    assert [replace(t, alert=replace(t.alert, silenced=False)) for t in out] == changes


def test_silenced_flag_does_not_outlive_its_silence():
    stale = [replace(t, alert=replace(t.alert, silenced=True)) for t in transitions()]
    assert [t.alert.silenced for t in apply_silences(stale, [], REGIONS)] == [False] * 3


GOOD = """\
[[silence]]
id = "roadworks"
rule = "pm25"
regions = ["G-1", "C-1"]
starts_at = 2026-06-01T08:00:00+08:00
ends_at = "2026-06-01T18:00:00+08:00"
reason = "road works"
created_by = "li"

[[silence]]
id = "sensor-17"
sensors = ["noise-17"]
starts_at = 2026-06-01T00:00:00Z
ends_at = 2026-06-02T00:00:00Z
reason = "calibration"
created_by = "wang"
"""


def test_silence_file_loads_in_file_order(tmp_path):
    path = tmp_path / "silences.toml"
    path.write_text(GOOD)
    first, second = load_silences(path)
    assert first == Silence("roadworks", "pm25", ("G-1", "C-1"), (),
                            datetime(2026, 6, 1, 0, 0, tzinfo=UTC),
                            datetime(2026, 6, 1, 10, 0, tzinfo=UTC), "road works", "li")
    assert (second.silence_id, second.rule_id, second.sensor_ids) == ("sensor-17", None,
                                                                      ("noise-17",))


BAD = {
    "toml syntax": ('[[silence]]\nid = "a\n', 2, "TOML syntax"),
    "unknown key with a hint": (GOOD.replace('rule = "pm25"', 'rules = "pm25"'), 3,
                                "unknown key 'rules' (did you mean 'rule'?)"),
    "missing required key": (GOOD.replace('created_by = "wang"\n', ""), 10,
                             "missing required key 'created_by'"),
    "time without offset": (GOOD.replace("2026-06-02T00:00:00Z", "2026-06-02T00:00:00"), 14,
                            "'ends_at' must be a time with a UTC offset"),
    "not a time": (GOOD.replace('"2026-06-01T18:00:00+08:00"', '"tomorrow"'), 6,
                   "'ends_at' 'tomorrow' is not an ISO-8601 time"),
    "end before start": (GOOD.replace("2026-06-02T00:00:00Z", "2026-05-31T00:00:00Z"), 14,
                         "ends_at 2026-05-31T00:00:00+00:00 must be after starts_at"),
    "no criteria": (GOOD.replace('sensors = ["noise-17"]\n', ""), 10,
                    "a silence must name a 'rule', 'regions' or 'sensors'"),
    "regions not a list": (GOOD.replace('["G-1", "C-1"]', '"G-1"'), 4,
                           "'regions' must be a list of ids"),
    "duplicate id": (GOOD.replace('"sensor-17"', '"roadworks"'), 11,
                     "duplicate silence id 'roadworks' (first at line 2)"),
    "unknown top-level key": ("version = 2\n" + GOOD, 1, "unknown top-level key 'version'"),
}


@pytest.mark.parametrize(("text", "line", "what"), BAD.values(), ids=BAD.keys())
def test_bad_silence_file_names_file_line_and_problem(tmp_path, text, line, what):
    path = tmp_path / "silences.toml"
    path.write_text(text)
    with pytest.raises(SilenceError) as err:
        load_silences(path)
    assert str(err.value).startswith(f"{path}:{line}: {what}")


def test_missing_silence_file_is_an_error_at_line_one(tmp_path):
    with pytest.raises(SilenceError, match=r"missing\.toml:1: cannot read the file"):
        load_silences(tmp_path / "missing.toml")


def test_transitions_of_a_silenced_alert_keep_their_states():
    out = apply_silences(transitions(), [silence(start=-10, end=60, regions=["D-1"])], REGIONS)
    assert [t.alert.state for t in out] == [AlertState.PENDING, AlertState.FIRING,
                                            AlertState.RESOLVED]
    assert all(t.alert.silenced for t in out)
