"""The case directory: everything case decisions consult, bundled once.

`Directory` holds the city's registers and grid, the staff, the emergency
plans, the fallback owners, what each rule's alerts do to cases (open one,
suggest one, or nothing) and which category they are, and the knobs of
intake, returns and the SLA ladder. `CaseContext` adds the other cases a
command may name. The engine builds a Directory at start (`load_directory`)
and again when the rules reload (`with_rules`); nothing here does I/O after.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

from onegrid.alerts.actors import Staff, load_staff
from onegrid.alerts.cases import Case, SourceLink
from onegrid.alerts.model import Rule
from onegrid.alerts.plans import Plan, load_plans
from onegrid.alerts.routing import load_fallback_owners
from onegrid.alerts.sla import STEP_FRACTION, Calendar
from onegrid.geo.regions import Regions
from onegrid.geo.registry import Registry

# Sensor metric or pollutant -> the category of the case its alerts raise.
# Count rules over `incident:<category>` raise cases of that category.
METRIC_CATEGORIES: Final = {
    "road_water_depth_cm": "road_waterlogging",
    "water_level_m": "river_level_high",
    "manhole_tilt_deg": "manhole_damaged",
    "smoke": "smoke_alarm",
    "gas_ppm": "gas_leak",
    "noise_db": "social_noise",
    "traffic_flow": "traffic_congestion",
    **{p: "air_pollution" for p in ("pm25", "pm10", "no2", "so2", "o3", "co")},
}
INCIDENT_PREFIX: Final = "incident:"
# rules.toml `case` -> intake policy: `auto` opens a case, `suggest` proposes one.
POLICIES: Final = {"auto": "open", "open": "open", "suggest": "suggest"}


@dataclass(frozen=True, eq=False)
class Directory:
    """What case decisions consult. Durations are seconds.

    `policies` maps rule_id -> "open" | "suggest" (rules absent raise no case);
    `rule_categories` rule_id -> category. Reports and alerts of one category
    within `ring_k` H3 rings and `merge_window_s` join one open case. A case
    returned `max_returns` times goes to arbitration. Reports of a category
    whose time-limit class is in `auto_dispatch` are dispatched on intake.
    """

    registry: Registry
    regions: Regions
    staff: Staff
    plans: Mapping[str, Plan] = field(default_factory=dict)
    policies: Mapping[str, str] = field(default_factory=dict)
    rule_categories: Mapping[str, str] = field(default_factory=dict)
    fallback_owners: Mapping[str, str] = field(default_factory=dict)
    ring_k: int = 1
    merge_window_s: int = 1800
    max_returns: int = 2
    auto_dispatch: frozenset[str] = frozenset({"urgent"})
    calendar: Calendar | None = None
    step_fraction: float = STEP_FRACTION


@dataclass(frozen=True, eq=False)
class CaseContext:
    """A command's surroundings: the directory, other cases by id, sources by case id,
    and the `alerts` rows (dicts) of alerts the batch's commands name, by alert id,
    with the case each already belongs to (`alert_cases`)."""

    directory: Directory
    cases: Mapping[str, Case] = field(default_factory=dict)
    sources: Mapping[str, tuple[SourceLink, ...]] = field(default_factory=dict)
    alerts: Mapping[str, Mapping] = field(default_factory=dict)
    alert_cases: Mapping[str, str] = field(default_factory=dict)


def rule_policies(rules: Iterable[Rule]) -> tuple[dict[str, str], dict[str, str]]:
    """Return (rule_id -> policy, rule_id -> category) for rules that raise cases.

    A rule's category is `extra["category"]` when given, else its metric's
    (`METRIC_CATEGORIES`, or the category of an `incident:<category>` count).
    """
    policies, categories = {}, {}
    for rule in rules:
        policy = POLICIES.get(rule.case)
        if policy is None:
            continue
        policies[rule.id] = policy
        category = rule.extra.get("category") or _metric_category(rule.metric or "")
        if category:
            categories[rule.id] = category
    return policies, categories


def with_rules(directory: Directory, rules: Iterable[Rule]) -> Directory:
    """Return the directory with policies and categories of a (reloaded) rule set."""
    policies, categories = rule_policies(rules)
    return replace(directory, policies=policies, rule_categories=categories)


def load_directory(registry: Registry, regions: Regions, rules: Iterable[Rule] = (), *,
                   folder: Path | None = None, plans_path: Path | None = None,
                   **options) -> Directory:
    """Return the directory of a city: staff and fallback owners from its folder
    (default: the registry's), plans from `plans_path` (default: the bundled
    file), policies from `rules`; `options` set the Directory's knobs."""
    folder = Path(folder) if folder else registry.folder
    kinds = {d.kind for d in registry.departments.values()}
    directory = Directory(
        registry=registry, regions=regions,
        staff=load_staff(folder, registry.departments),
        plans=load_plans(plans_path, categories=registry.categories, kinds=kinds),
        fallback_owners=load_fallback_owners(folder, registry.departments), **options)
    return with_rules(directory, rules)


def _metric_category(metric: str) -> str | None:
    if metric.startswith(INCIDENT_PREFIX):
        category = metric[len(INCIDENT_PREFIX):]
        return None if category == "*" else category
    return METRIC_CATEGORIES.get(metric)
