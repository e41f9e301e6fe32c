"""Emergency plans (应急预案): which cases they apply to, their steps, whom to notify.

Plans live in a TOML file (`onegrid/data/plans.toml`), one `[[plan]]` table
each. A plan applies to a case by the rule of the alert that raised it or by
the case's category (`plan_for`); it is copied into the case when the case
opens (`plan_id` and one `case_steps` row per step), `step` commands tick its
steps and `notify` tells all its departments at once (联动处置). The loader
checks every plan and names the file and line of the first problem. Which
department of a kind is told is `routing.kind_department`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from onegrid.alerts.cases import StepMark
from onegrid.alerts.toml_lines import Block, index, syntax_error_at

DEFAULT_PLANS: Final = Path(__file__).resolve().parent.parent / "data" / "plans.toml"
PLAN_KEYS: Final = frozenset({"id", "title_zh", "title_en", "categories", "rules", "notify",
                              "steps"})
STEP_KEYS: Final = frozenset({"id", "zh", "en", "dept"})


class PlanError(ValueError):
    """A problem in a plan file, worded "{file}:{line}: {what is wrong}"."""


@dataclass(frozen=True)
class Step:
    """One step of a plan, done by a department of `dept_kind`."""

    step_id: str
    text_zh: str
    text_en: str
    dept_kind: str


@dataclass(frozen=True)
class Plan:
    """An emergency plan: what it applies to, its steps, the department kinds to notify."""

    plan_id: str
    title_zh: str
    title_en: str
    categories: tuple[str, ...]
    rules: tuple[str, ...]
    notify: tuple[str, ...]
    steps: tuple[Step, ...]
    source_line: int = 0

    def step(self, step_id: str) -> Step | None:
        """Return the step with this id, or None."""
        return next((s for s in self.steps if s.step_id == step_id), None)


def plan_for(plans: Iterable[Plan], category: str, rule_id: str | None = None) -> Plan | None:
    """Return the plan for a case: by its alert's rule first, then by category; else None."""
    plans = list(plans)
    if rule_id:
        found = next((p for p in plans if rule_id in p.rules), None)
        if found:
            return found
    return next((p for p in plans if category in p.categories), None)


def plan_to_steps(case_id: str, plan: Plan) -> tuple[StepMark, ...]:
    """Return the plan's steps copied into a case, none of them done yet."""
    return tuple(StepMark(case_id, plan.plan_id, s.step_id, i, s.text_zh, s.text_en,
                          s.dept_kind) for i, s in enumerate(plan.steps, start=1))


def load_plans(path: Path | str | None = None, *, categories: Iterable[str] | None = None,
               kinds: Iterable[str] | None = None) -> dict[str, Plan]:
    """Return the plans of `path` (default: the bundled file) by id, in file order.

    With `categories` and `kinds`, every category code and department kind a
    plan names must be one of them. Raises `PlanError` naming file and line.
    """
    path = Path(path) if path else DEFAULT_PLANS
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PlanError(f"{path}:1: file not found") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        line, what = syntax_error_at(text, e)
        raise PlanError(f"{path}:{line}: {what}") from None
    lines = index(text, "plan", "steps")
    extra = sorted(set(doc) - {"plan"})
    if extra:
        raise PlanError(f"{path}:{lines.top.get(extra[0], 1)}: unknown table or key "
                        f"{extra[0]!r}; plans are [[plan]] tables")
    check = _Checker(path, set(categories) if categories is not None else None,
                     set(kinds) if kinds is not None else None)
    plans: dict[str, Plan] = {}
    for table, block in zip(doc.get("plan", []), lines.blocks, strict=False):
        plan = check.plan(table, block)
        if plan.plan_id in plans:
            raise PlanError(f"{path}:{block.keys.get('id', block.header)}: duplicate plan id "
                            f"{plan.plan_id!r} (first on line {plans[plan.plan_id].source_line})")
        plans[plan.plan_id] = plan
    return plans


@dataclass(frozen=True)
class _Checker:
    """Checks plan tables of one file against the known categories and kinds."""

    path: Path
    categories: set[str] | None
    kinds: set[str] | None

    def fail(self, line: int, what: str) -> PlanError:
        return PlanError(f"{self.path}:{line}: {what}")

    def plan(self, t: dict[str, Any], block: Block) -> Plan:
        def at(key: str) -> int:
            return block.keys.get(key, block.header)

        unknown = sorted(set(t) - PLAN_KEYS)
        if unknown:
            raise self.fail(at(unknown[0]), f"unknown key {unknown[0]!r} in a plan")
        ids = {k: self.text(t, k, at(k)) for k in ("id", "title_zh", "title_en")}
        cats = self.words(t, "categories", at("categories"), self.categories, "category")
        rules = self.words(t, "rules", at("rules"), None, "rule")
        if not cats and not rules:
            raise self.fail(block.header, "a plan needs `categories` or `rules` to apply to")
        notify = self.words(t, "notify", at("notify"), self.kinds, "department kind")
        steps = self.steps(t.get("steps"), at("steps"), block.subtables)
        return Plan(ids["id"], ids["title_zh"], ids["title_en"], cats, rules, notify, steps,
                    block.header)

    def text(self, t: Mapping[str, Any], key: str, line: int) -> str:
        value = t.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(line, f"{key!r} must be a non-empty string")
        return value

    def words(self, t: Mapping[str, Any], key: str, line: int, known: set[str] | None,
              what: str) -> tuple[str, ...]:
        value = t.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(line, f"{key!r} must be a list of strings")
        bad = [v for v in value if known is not None and v not in known]
        if bad:
            raise self.fail(line, f"unknown {what} {bad[0]!r} in {key!r}")
        return tuple(value)

    def steps(self, value: Any, line: int, lines: list[int]) -> tuple[Step, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(line, "'steps' must be a non-empty list of tables")
        out: list[Step] = []
        for i, s in enumerate(value):
            where = lines[i] if i < len(lines) else line
            if not isinstance(s, dict) or set(s) - STEP_KEYS:
                raise self.fail(where, f"a step has the keys {', '.join(sorted(STEP_KEYS))}")
            step = Step(*(self.text(s, k, where) for k in ("id", "zh", "en", "dept")))
            if self.kinds is not None and step.dept_kind not in self.kinds:
                raise self.fail(where, f"unknown department kind {step.dept_kind!r}")
            if any(o.step_id == step.step_id for o in out):
                raise self.fail(where, f"duplicate step id {step.step_id!r}")
            out.append(step)
        return tuple(out)
