"""The records rules and alerts are made of: Rule, Level, Observation, Alert, Transition.

Shared by the rule loader (`rules`), the rule kinds (`kinds/`), the alert
lifecycle (`lifecycle`) and silences (`silences`). Records only: no I/O, no
clock. States are StrEnums whose values are the contract's words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class AlertState(StrEnum):
    """An alert's state on `onegrid.alerts` (contract words)."""

    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


class Scope(StrEnum):
    """Where a rule aggregates: H3 cells at a resolution, or a region level."""

    CELL = "cell"
    GRID = "grid"
    COMMUNITY = "community"
    STREET = "street"
    DISTRICT = "district"
    SENSOR = "sensor"  # per device (no-data rules)


@dataclass(frozen=True)
class Level:
    """One step of a severity ladder: enter at `threshold`, leave below `clear`."""

    name: str  # e.g. yellow / orange / red
    severity: int  # 1 lowest - 4 highest
    threshold: float
    clear: float


@dataclass(frozen=True)
class Rule:
    """A validated rule. `version` is a hash of its text, stored with every alert.

    Thresholds compare `stat(metric over window)` with `op`; `levels` holds one
    Level for a plain threshold and several for a ladder. Durations are seconds.
    """

    id: str
    version: str
    kind: str  # threshold | nodata | count | rate | forecast (a ladder: threshold with levels)
    title_zh: str
    title_en: str
    metric: str | None  # sensor metric, pollutant, or incident:<category> for counts
    stat: str  # mean | max | min | sum | count
    window_s: int
    scope: Scope
    res: int  # H3 resolution when scope is cell (7-10)
    op: str  # ">=" or "<=": which side of the threshold is bad
    levels: tuple[Level, ...]
    for_s: int  # how long the bad side must hold before pending -> firing
    clear_for_s: int  # how long the clear side must hold before firing -> resolved
    dwell_s: int = 0  # ladders: how long a new level must hold before the step
    ring_k: int = 0  # count rules: the cell and its neighbours within k rings
    silent_s: int = 0  # no-data rules: silent longer than this raises a device fault
    lateness_s: int = 120  # events later than this past the watermark change nothing
    # Evaluated at the first decision on or past each multiple of this in event time
    # (0: at every decision), as a rule group's interval in Prometheus.
    every_s: int = 0
    horizon_s: int = 0  # forecast rules: how far ahead of the clock the trend is read
    min_rate: float = 0.0  # forecast rules: the rise per hour below which nothing warns
    min_points: int = 0  # forecast rules: minute buckets with data a fit needs
    case: str = "none"  # none | suggest | auto (issue: cases)
    source_line: int = 0  # line of the rule's [[rule]] header in its file
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Observation:
    """One evaluation of a rule at one scope key at event time `at`."""

    rule_id: str
    key: str  # scope key: cell id as decimal string, region id, or sensor id
    at: datetime
    value: float | None  # the statistic; None when there was no data in the window
    evidence: tuple[str, ...] = ()  # ids of the events that made the value
    cell: int | None = None
    grid_id: str | None = None


@dataclass(frozen=True)
class Alert:
    """The live state of one rule at one scope key (at most one live per pair)."""

    alert_id: str
    rule_id: str
    rule_version: str
    key: str
    state: AlertState
    level: str  # the ladder level's name, or "alert"
    severity: int
    value: float | None
    threshold: float
    started_at: datetime
    updated_at: datetime
    # When the current condition began holding (bad side, clear side or new
    # level); `for`, clear and dwell durations count from here.
    since: datetime
    cell: int | None = None
    grid_id: str | None = None
    evidence: tuple[str, ...] = ()
    evidence_values: tuple[float, ...] = ()  # each evidence event's reading (or severity)
    silenced: bool = False


@dataclass(frozen=True)
class Transition:
    """A change of an alert worth a record: what `onegrid.alerts` carries."""

    alert: Alert
    previous: AlertState | None
    reason: str  # e.g. "value 118 >= 115 for 300 s"
