"""Forecast rules in the rule file: a good one loads, each bad key fails at its line."""

from __future__ import annotations

import pytest

from onegrid.alerts.model import Scope
from onegrid.alerts.rules import RuleError, load_rules
from tests.alerts.test_rules import DATA, METRICS, demo_metrics, write

GOOD = """\
[[rule]]
id = "pm-forecast"
kind = "forecast"
title_zh = "PM2.5 预计超标"
title_en = "PM2.5 forecast to exceed"
metric = "pm25"
window = "1h"
horizon = "2h"
threshold = 75
clear = 70
min_rate = 5
"""


def test_a_forecast_rule_loads_with_its_horizon_rate_and_defaults(tmp_path):
    rule = load_rules(write(tmp_path, GOOD), METRICS).rules[0]
    assert (rule.kind, rule.window_s, rule.horizon_s, rule.min_rate) == ("forecast", 3600,
                                                                         7200, 5.0)
    assert (rule.min_points, rule.op, rule.scope, rule.res) == (5, ">=", Scope.CELL, 10)
    assert [(lv.threshold, lv.clear, lv.severity) for lv in rule.levels] == [(75, 70, 2)]


def test_the_demo_rules_warn_of_pm25_two_hours_ahead():
    rule = load_rules(DATA / "rules.toml", demo_metrics()).by_id["air.pm25.forecast"]
    assert (rule.metric, rule.horizon_s, rule.levels[0].threshold) == ("pm25", 7200, 75)
    hourly = load_rules(DATA / "rules.toml", demo_metrics()).by_id["air.pm25.1h"]
    assert (rule.scope, rule.res) == (hourly.scope, hourly.res)  # warns for the same cells


# (name, text, line, part of the reason). Lines count from 1 in `text`.
BAD = [
    ("window too short for a fit", GOOD.replace('"1h"', '"2m"', 1), 7,
     "window 120 s is shorter than 3 x the 60 s bucket"),
    ("window with fewer buckets than min_points", GOOD.replace('"1h"', '"4m"', 1), 7,
     "window 240 s holds 4 buckets, fewer than min_points = 5: too short for a fit"),
    ("min_points below three", GOOD + "min_points = 2\n", 12,
     "'min_points' must be a whole number from 3 to 100000, not 2"),
    ("horizon of zero", GOOD.replace('horizon = "2h"', "horizon = 0"), 8,
     "'horizon' must be longer than 0 s"),
    ("negative horizon", GOOD.replace('horizon = "2h"', "horizon = -60"), 8,
     "'horizon': bad duration -60"),
    ("horizon far past the window", GOOD.replace('"2h"', '"5h"'), 8,
     "horizon 18000 s is more than 4 x the 3600 s window"),
    ("missing horizon", GOOD.replace('horizon = "2h"\n', ""), 1,
     "missing required key 'horizon' for kind 'forecast'"),
    ("min_rate of zero", GOOD.replace("min_rate = 5", "min_rate = 0"), 11,
     "'min_rate' must be above 0 (a rise per hour), not 0"),
    ("negative min_rate", GOOD.replace("min_rate = 5", "min_rate = -2"), 11,
     "'min_rate' must be above 0"),
    ("min_rate not a number", GOOD.replace("min_rate = 5", 'min_rate = "fast"'), 11,
     "'min_rate' must be a number, not 'fast'"),
    ("missing min_rate", GOOD.replace("min_rate = 5\n", ""), 1,
     "missing required key 'min_rate' for kind 'forecast'"),
    ("clear above the threshold", GOOD.replace("clear = 70", "clear = 80"), 10,
     "clear 80 must be below threshold 75 for op '>='"),
    ("an op: forecasts warn of rises", GOOD + 'op = "<="\n', 12,
     "unknown key 'op' for kind 'forecast'; it applies to kind rate, threshold"),
    ("a stat: the fit uses bucket means", GOOD + 'stat = "max"\n', 12,
     "unknown key 'stat' for kind 'forecast'; it applies to kind threshold"),
    ("unknown metric", GOOD.replace('"pm25"', '"pm2.5"'), 6, "unknown metric 'pm2.5'"),
]


@pytest.mark.parametrize(("text", "line", "reason"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_a_bad_forecast_rule_fails_with_file_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as caught:
        load_rules(path, METRICS)
    assert str(caught.value).startswith(f"{path}:{line}: ")
    assert reason in caught.value.what, str(caught.value)
