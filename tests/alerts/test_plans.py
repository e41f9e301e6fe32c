"""Emergency plans: the bundled file, which plan a case gets, and file:line errors."""

from __future__ import annotations

import pytest

from onegrid.alerts.plans import PlanError, load_plans, plan_for, plan_to_steps
from tests.alerts.casekit import new_case

GOOD = """
[[plan]]
id = "p"
title_zh = "预案"
title_en = "Plan"
categories = ["gas_leak"]
notify = ["yj"]
steps = [
  { id = "a", zh = "甲", en = "A", dept = "yj" },
]
"""


def kinds(directory):
    return {d.kind for d in directory.registry.departments.values()}


def load(tmp_path, text, directory):
    path = tmp_path / "plans.toml"
    path.write_text(text, encoding="utf-8")
    return load_plans(path, categories=directory.registry.categories, kinds=kinds(directory))


def test_bundled_plans_load_against_the_demo_city(directory):
    plans = load_plans(categories=directory.registry.categories, kinds=kinds(directory))
    assert {"flood", "gas", "fire", "air"} <= set(plans)
    assert plans["gas"].notify == ("yj", "xf", "zj", "ga")
    assert plans["flood"].source_line == 8


def test_plan_for_prefers_the_rule_then_the_category(directory):
    plans = directory.plans.values()
    assert plan_for(plans, "road_waterlogging").plan_id == "flood"
    assert plan_for(plans, "street_vending", "water.river_level").plan_id == "river"
    assert plan_for(plans, "street_vending") is None


def test_plan_is_copied_into_the_case_when_it_opens(directory):
    case = new_case(directory, category="smoke_alarm")
    assert case.plan_id == "fire"
    steps = plan_to_steps(case.case_id, directory.plans["fire"])
    assert [(s.ord, s.step_id, s.done_by) for s in steps] == \
        [(1, "confirm", None), (2, "respond", None), (3, "inspect", None)]


def test_good_plan_file_loads(tmp_path, directory):
    (plan,) = load(tmp_path, GOOD, directory).values()
    assert (plan.plan_id, plan.categories, plan.steps[0].dept_kind) == ("p", ("gas_leak",), "yj")


@pytest.mark.parametrize(("change", "line", "what"), [
    (('title_en = "Plan"', 'title_en = "Plan"\ncolour = "red"'), 6, "unknown key 'colour'"),
    (('categories = ["gas_leak"]', 'categories = ["ufo"]'), 6, "unknown category 'ufo'"),
    (('notify = ["yj"]', 'notify = ["police"]'), 7, "unknown department kind 'police'"),
    (('dept = "yj"', 'dept = "nope"'), 9, "unknown department kind 'nope'"),
    (('id = "a", zh', 'zh'), 9, "'id' must be a non-empty string"),
    (('categories = ["gas_leak"]\n', ''), 2, "needs `categories` or `rules`"),
    (('id = "p"', 'id = p'), 3, "TOML syntax"),
])
def test_bad_plan_file_names_file_and_line(tmp_path, directory, change, line, what):
    with pytest.raises(PlanError, match=rf"plans.toml:{line}: .*{what}"):
        load(tmp_path, GOOD.replace(*change), directory)


def test_duplicate_plan_and_step_ids_are_refused(tmp_path, directory):
    with pytest.raises(PlanError, match=r"plans.toml:13: duplicate plan id 'p' \(first on line 2"):
        load(tmp_path, GOOD + GOOD, directory)
    two_steps = GOOD.replace('dept = "yj" },', 'dept = "yj" },\n  { id = "a", zh = "乙", '
                                               'en = "B", dept = "yj" },')
    with pytest.raises(PlanError, match=r"plans.toml:10: duplicate step id 'a'"):
        load(tmp_path, two_steps, directory)


def test_missing_plan_file_is_an_error(tmp_path):
    with pytest.raises(PlanError, match="file not found"):
        load_plans(tmp_path / "none.toml")
