"""The rule file: the demo set loads, bad files fail at their line, reload keeps the good set."""

from __future__ import annotations

import csv
import functools
import os
from pathlib import Path

import pytest

from onegrid.alerts.kinds import KINDS
from onegrid.alerts.model import Scope
from onegrid.alerts.rules import (
    KEYS,
    RuleError,
    RuleWatcher,
    check_rules,
    duration_to_seconds,
    load_rules,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "onegrid" / "data"
POLLUTANTS = {"pm25", "pm10", "no2", "so2", "o3", "co"}
METRICS = {"noise_db", "water_level_m", "road_water_depth_cm", "pm25", "incident:street_vending"}
REGIONS = {"HP", "XH"}

# A rule that loads; cases below change it to break one thing.
GOOD = """\
[[rule]]
id = "pm"
kind = "threshold"
title_zh = "PM2.5"
title_en = "PM2.5"
metric = "pm25"
stat = "mean"
window = "10m"
threshold = 75
clear = 70
"""


def demo_metrics() -> set[str]:
    """Return the demo city's metrics, pollutants and incident:<code> for every category."""
    city = DATA / "city"
    with open(city / "metrics.csv", encoding="utf-8") as f:
        metrics = {row["metric"] for row in csv.DictReader(f)}
    with open(city / "categories.csv", encoding="utf-8") as f:
        metrics |= {f"incident:{row['code']}" for row in csv.DictReader(f)}
    return metrics | POLLUTANTS


def write(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path):
    return load_rules(path, METRICS, REGIONS)


def test_demo_rule_file_loads_with_the_demo_city_metrics():
    rules = load_rules(DATA / "rules.toml", demo_metrics())
    kinds = {r.kind for r in rules.rules}
    assert kinds == set(KINDS)
    pm25 = rules.by_id["air.pm25.1h"]
    assert [(lv.name, lv.threshold, lv.clear) for lv in pm25.levels] == [
        ("yellow", 75, 70), ("orange", 115, 110), ("red", 150, 145)]
    assert (pm25.window_s, pm25.res, pm25.dwell_s, pm25.scope) == (3600, 8, 600, Scope.CELL)
    assert rules.by_id["device.station_silent"].silent_s == 7200
    assert rules.by_id["cluster.street_vending"].ring_k == 1
    assert check_rules(DATA / "rules.toml", demo_metrics()) == []


def test_every_rule_kind_the_engine_runs_has_keys_in_the_loader():
    assert set(KEYS) == set(KINDS)


def test_good_rule_gets_its_defaults_and_header_line(tmp_path):
    rule = load(write(tmp_path, "# rules\n\n" + GOOD)).rules[0]
    assert rule.source_line == 3
    assert (rule.op, rule.scope, rule.res, rule.for_s, rule.lateness_s, rule.case,
            rule.every_s) == (">=", Scope.CELL, 10, 0, 120, "none", 0)
    assert load(write(tmp_path, GOOD + 'every = "30s"\n')).rules[0].every_s == 30
    assert [(lv.name, lv.severity, lv.threshold, lv.clear) for lv in rule.levels] == [
        ("alert", 2, 75.0, 70.0)]


@pytest.mark.parametrize(("value", "seconds"), [
    ("30s", 30), ("10m", 600), ("2h", 7200), ("1d", 86400), (90, 90), (0, 0)])
def test_durations_read_as_seconds(value, seconds):
    assert duration_to_seconds(value) == seconds


# (name, text, line, part of the reason). Lines count from 1 in `text`.
BAD = [
    ("toml syntax error", GOOD + "window = \n", 11, "TOML syntax"),
    ("toml syntax error mid file", GOOD.replace('stat = "mean"', "stat = mean"), 7,
     "TOML syntax"),
    ("unknown metric", GOOD.replace('"pm25"', '"pm2.5"'), 6, "unknown metric 'pm2.5'"),
    ("unknown incident category",
     GOOD.replace('kind = "threshold"', 'kind = "count"').replace('"pm25"', '"incident:x"')
     .replace('stat = "mean"\n', "").replace("threshold = 75\nclear = 70\n", "count = 3\n"),
     6, "unknown incident category 'x'"),
    ("window shorter than the bucket", GOOD.replace('"10m"', '"30s"'), 8,
     "window 30 s is shorter than the 60 s bucket"),
    ("window not a multiple of the bucket", GOOD.replace('"10m"', '"90s"'), 8,
     "window 90 s is not a multiple of the 60 s bucket"),
    ("clear on the wrong side", GOOD.replace("clear = 70", "clear = 80"), 10,
     "clear 80 must be below threshold 75 for op '>='"),
    ("clear on the wrong side for <=", GOOD.replace("clear = 70", 'clear = 70\nop = "<="'), 10,
     "clear 70 must be above threshold 75 for op '<='"),
    ("ladder thresholds not increasing",
     GOOD.replace("threshold = 75\nclear = 70\n",
                  "levels = [\n  {name='a', severity=2, threshold=75, clear=70},\n"
                  "  {name='b', severity=3, threshold=70, clear=65},\n]\n"),
     11, "level 'b': thresholds must be strictly increasing for op '>=' (70 after 75)"),
    ("ladder clear on the wrong side",
     GOOD.replace("threshold = 75\nclear = 70\n",
                  "levels = [\n  {name='a', severity=2, threshold=75, clear=70},\n"
                  "  {name='b', severity=3, threshold=115, clear=120},\n]\n"),
     11, "level 'b': clear 120 must be below threshold 115"),
    ("ladder as array of tables",
     GOOD.replace("threshold = 75\nclear = 70\n",
                  "\n[[rule.levels]]\nname='a'\nseverity=2\nthreshold=75\n"
                  "\n[[rule.levels]]\nname='b'\nseverity=3\nthreshold=60\n"),
     15, "thresholds must be strictly increasing"),
    ("unknown region", GOOD + 'regions = ["HP", "ZZ"]\n', 11, "unknown region id 'ZZ'"),
    ("duplicate id", GOOD + "\n" + GOOD, 13, "duplicate rule id 'pm' (lines 2 and 13)"),
    ("unknown key", GOOD + "thresold = 80\n", 11,
     "unknown key 'thresold' for kind 'threshold'; did you mean 'threshold'?"),
    ("key of another kind", GOOD + "ring = 1\n", 11,
     "unknown key 'ring' for kind 'threshold'; it applies to kind count"),
    ("missing required key", GOOD.replace('stat = "mean"\n', ""), 1,
     "missing required key 'stat' for kind 'threshold'"),
    ("missing kind", GOOD.replace('kind = "threshold"\n', ""), 1,
     "missing required key 'kind'"),
    ("unknown kind", GOOD.replace('"threshold"', '"ladder"'), 3,
     "'kind' must be one of count, forecast, nodata, rate, threshold, not 'ladder'"),
    ("res outside 7 to 10", GOOD + "res = 11\n", 11,
     "'res' must be a whole number from 7 to 10, not 11"),
    ("res with a region scope", GOOD + 'scope = "grid"\nres = 8\n', 12,
     "'res' applies only to scope = \"cell\""),
    ("bad duration", GOOD + 'for = "5 minutes"\n', 11, "'for': bad duration '5 minutes'"),
    ("negative duration", GOOD + "clear_for = -5\n", 11, "'clear_for': bad duration -5"),
    ("rate window of one bucket",
     GOOD.replace('"threshold"', '"rate"', 1).replace('stat = "mean"\n', "")
     .replace('"10m"', '"1m"'),
     7, "window 60 s is shorter than 2 x the 60 s bucket"),
    ("count rule on a sensor metric",
     GOOD.replace('kind = "threshold"', 'kind = "count"').replace('stat = "mean"\n', "")
     .replace("threshold = 75\nclear = 70\n", "count = 3\n"),
     6, "count rules count incident reports"),
    ("dwell without a ladder", GOOD + 'dwell = "5m"\n', 11,
     "'dwell' applies only to ladders"),
    ("every longer than the window", GOOD + 'every = "15m"\n', 11,
     "'every' (900 s) must not be longer than the window (600 s)"),
    ("every not a duration", GOOD + 'every = "often"\n', 11, "'every': bad duration 'often'"),
    ("rules as a single table", GOOD.replace("[[rule]]", "[rule]"), 1,
     "write [[rule]] (an array of tables), not [rule]"),
    ("unknown top-level table", GOOD + "\n[[rules]]\nid = 'x'\n", 12,
     "unknown top-level key 'rules'"),
]


@pytest.mark.parametrize(("text", "line", "reason"), [c[1:] for c in BAD],
                         ids=[c[0] for c in BAD])
def test_bad_rule_file_fails_with_file_line_and_reason(tmp_path, text, line, reason):
    path = write(tmp_path, text)
    with pytest.raises(RuleError) as caught:
        load(path)
    assert caught.value.file == str(path)
    assert caught.value.line == line, str(caught.value)
    assert reason in caught.value.what
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_check_reports_every_problem_at_once_in_line_order(tmp_path):
    text = (GOOD.replace('"pm25"', '"pm2.5"').replace("clear = 70", "clear = 80")
            + 'for = "soon"\n\n' + GOOD)
    problems = check_rules(write(tmp_path, text), METRICS, REGIONS)
    path = tmp_path / "rules.toml"
    assert problems == [
        f"{path}:6: unknown metric 'pm2.5'; did you mean 'pm25'?",
        f"{path}:10: clear 80 must be below threshold 75 for op '>='",
        f"{path}:11: 'for': bad duration 'soon': write e.g. \"30s\", \"10m\", \"2h\", \"1d\" "
        "or whole seconds",
    ]


def test_check_of_a_clean_file_is_empty(tmp_path):
    assert check_rules(write(tmp_path, GOOD), METRICS) == []


def test_region_ids_are_not_checked_when_the_caller_knows_none(tmp_path):
    rule = load_rules(write(tmp_path, GOOD + 'regions = ["ZZ"]\n'), METRICS).rules[0]
    assert rule.extra["regions"] == ("ZZ",)


def test_rule_version_is_stable_and_ignores_layout(tmp_path):
    first = load(write(tmp_path, GOOD, "a.toml")).rules[0].version
    reordered = "\n".join(reversed(GOOD.splitlines()[1:]))
    again = load(write(tmp_path, "[[rule]]\n# same rule\n" + reordered + "\n", "b.toml"))
    assert len(first) == 12 and again.rules[0].version == first


def test_editing_one_rule_changes_only_its_version(tmp_path):
    two = GOOD + "\n" + GOOD.replace('id = "pm"', 'id = "pm2"')
    before = load(write(tmp_path, two, "a.toml"))
    after = load(write(tmp_path, two.replace("threshold = 75", "threshold = 80", 1), "b.toml"))
    assert after.by_id["pm"].version != before.by_id["pm"].version
    assert after.by_id["pm2"].version == before.by_id["pm2"].version
    assert after.version != before.version


def bump(path: Path, text: str, step: int) -> None:
    """Rewrite `path` and move its mtime on, so a change is seen even on coarse clocks."""
    path.write_text(text, encoding="utf-8")
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + step * 1_000_000_000))


def test_watcher_keeps_the_last_good_set_on_a_bad_edit_and_takes_a_good_one(tmp_path):
    path = write(tmp_path, GOOD)
    watcher = RuleWatcher(path, functools.partial(load_rules, known_metrics=METRICS))
    first = watcher.poll()
    assert first is not None and watcher.current is first
    assert watcher.poll() is None  # unchanged

    bump(path, GOOD.replace("clear = 70", "clear = 90"), 1)
    assert watcher.poll() is None
    assert watcher.current is first
    assert watcher.last_error == f"{path}:10: clear 90 must be below threshold 75 for op '>='"

    bump(path, GOOD.replace("threshold = 75", "threshold = 80"), 2)
    second = watcher.poll()
    assert second is not None and watcher.current is second and watcher.last_error is None
    assert second.rules[0].levels[0].threshold == 80


def test_watcher_ignores_a_touch_that_does_not_change_the_content(tmp_path):
    path = write(tmp_path, GOOD)
    watcher = RuleWatcher(path, functools.partial(load_rules, known_metrics=METRICS))
    assert watcher.poll() is not None
    bump(path, GOOD, 1)
    assert watcher.poll() is None


def test_watcher_keeps_the_last_good_set_when_the_file_disappears(tmp_path):
    path = write(tmp_path, GOOD)
    watcher = RuleWatcher(path, functools.partial(load_rules, known_metrics=METRICS))
    first = watcher.poll()
    path.unlink()
    assert watcher.poll() is None
    assert watcher.current is first and "cannot read the file" in watcher.last_error


def test_every_kind_and_key_is_documented():
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    keys = set().union(*KEYS.values())
    missing = [k for k in sorted(keys | set(KEYS)) if f"`{k}`" not in text]
    assert not missing, f"document these in docs/rules.md: {missing}"


def test_every_example_in_the_docs_loads(tmp_path):
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```toml\n")[1:]]
    assert len(blocks) >= 5
    rules = load_rules(write(tmp_path, "\n".join(blocks)), demo_metrics())
    assert {r.kind for r in rules.rules} == set(KINDS)
