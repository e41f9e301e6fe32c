"""Intake (受理): incident reports and firing alerts -> new cases, or sources of open ones.

Each report, and each alert that fires for a rule whose `case` policy is
`open` (rules.toml `auto`) or `suggest`, is a source. Taken in event-time
order, a source joins an open case of the same category that has a source
within `ring_k` H3 rings of its cell (default 1: the cell and its six
neighbours, about 300 m across) and within `merge_window_s` of it in time
(default 30 min, the window the demo rules count clusters in); otherwise it
opens a case. Sources of one batch join each other the same way.

Choices: a report opens a case in `new`, already routed (the department is
routing's suggestion) and waits for staff to dispatch it, as a hotline
operator checks a report before 派单 — except categories whose time-limit
class is in `auto_dispatch` (default `urgent`: 2 h limits, gas, smoke, burst
mains), which are dispatched at once to the routed lead because minutes
count. An alert with policy `open` does the same; `suggest` makes a
`suggested` case that staff approve or dismiss. An alert that resolves while
its case is `resolved` verifies the case (a sensor back to normal for the
rule's clear time, `actor` system:sensor). Pure: the caller reads the open
cases near the sources (`search_cells`) and writes what comes back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Final

from h3.api import basic_int as h3i

from onegrid.alerts.cases import (
    FINAL,
    JOIN,
    Action,
    Case,
    CaseState,
    LogEntry,
    SourceLink,
    StepMark,
    record,
)
from onegrid.alerts.directory import Directory
from onegrid.alerts.model import AlertState, Transition
from onegrid.alerts.opening import (
    case_id_for,
    dispatch_to,
    open_case,
    place_of,
    should_auto_dispatch,
)
from onegrid.geo.cells import BASE_RES

INTAKE_ACTOR: Final = "system:intake"
SENSOR_ACTOR: Final = "system:sensor"


@dataclass(frozen=True)
class Report:
    """An incident report as stored in `events` (topic incident). Times UTC."""

    report_id: str
    at: datetime
    cell: int | None
    category: str
    severity: int | None = None
    source: str = ""
    grid_id: str | None = None
    description: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class Incoming:
    """A report or firing alert on its way into a case."""

    kind: str  # report | alert
    source_id: str
    at: datetime
    cell: int | None
    category: str
    severity: int
    grid_id: str | None
    policy: str = "open"  # open | suggest
    rule_id: str | None = None
    label: str = ""  # report source (hotline, patrol, ...) or rule id


@dataclass(frozen=True)
class Intake:
    """What intake decided: changed or new cases (latest version each), their entries,
    new source links and the plan steps of new cases."""

    cases: tuple[Case, ...] = ()
    entries: tuple[LogEntry, ...] = ()
    sources: tuple[SourceLink, ...] = ()
    steps: tuple[StepMark, ...] = ()


def reports_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[Report]:
    """Return the reports among `events` rows (dicts with id, topic, ts, cell, ...)."""
    return [Report(r["id"], r["ts"], r.get("cell"), r["category"], r.get("severity"),
                   r.get("source") or "", r.get("grid_id"), r.get("description"),
                   r.get("address"))
            for r in rows if r.get("topic", "incident") == "incident" and r.get("category")]


def incoming(reports: Iterable[Report], alert_changes: Iterable[Transition],
             directory: Directory) -> list[Incoming]:
    """Return the sources to take in, in event-time order: every report, and every
    alert that just fired for a rule that raises cases and has a category."""
    cats = directory.registry.categories
    out = [Incoming("report", r.report_id, r.at, r.cell, r.category,
                    r.severity or (cats[r.category].default_severity if r.category in cats
                                   else 1), r.grid_id, label=r.source)
           for r in reports]
    for t in alert_changes:
        a = t.alert
        policy = directory.policies.get(a.rule_id)
        category = directory.rule_categories.get(a.rule_id) or key_category(a.key)
        if t.alert.state == AlertState.FIRING and t.previous == AlertState.PENDING \
                and policy and category:
            out.append(Incoming("alert", a.alert_id, a.started_at, base_cell(a.cell), category,
                                a.severity, a.grid_id, policy, a.rule_id, a.rule_id))
    return sorted(out, key=lambda s: (s.at, s.source_id))


def search_cells(sources: Sequence[Incoming], ring_k: int) -> list[int]:
    """Return every cell within `ring_k` rings of the sources' cells (what to look up)."""
    cells: set[int] = set()
    for s in sources:
        if s.cell is not None:
            cells.update(h3i.grid_disk(int(s.cell), ring_k))
    return sorted(cells)


def take_in(sources: Sequence[Incoming], alert_changes: Iterable[Transition],
            cases: Mapping[str, Case], links: Iterable[SourceLink], directory: Directory,
            now: datetime) -> Intake:
    """Return the cases opened or joined by `sources`, and sensor verifications.

    `cases` and `links` are the open cases near the sources with their source
    links (and the cases of alerts that may have resolved); sources already
    linked are skipped, so a replayed batch changes nothing.
    """
    work = _Work(dict(cases), links, now, directory)
    for source in sources:
        if (source.kind, source.source_id) not in work.by_key:
            work.take(source)
    for t in alert_changes:
        if t.alert.state == AlertState.RESOLVED:
            work.sensor_verify(t.alert.alert_id)
    return Intake(tuple(work.cases[i] for i in work.changed), tuple(work.entries),
                  tuple(work.new_links), tuple(work.steps))


class _Work:
    """Intake's working set: cases and links grow as sources are taken in."""

    def __init__(self, cases: dict[str, Case], links: Iterable[SourceLink], now: datetime,
                 directory: Directory) -> None:
        self.cases, self.now, self.d = cases, now, directory
        self.by_key: dict[tuple[str, str], SourceLink] = {}  # (kind, source_id) -> its link
        self.by_cell: dict[int, list[SourceLink]] = {}  # cell -> the links there
        for link in links:
            self.index(link)
        self.changed: dict[str, None] = {}  # ids of changed cases, in order of change
        self.entries: list[LogEntry] = []
        self.new_links: list[SourceLink] = []
        self.steps: list[StepMark] = []

    def index(self, link: SourceLink) -> None:
        self.by_key[(link.kind, link.source_id)] = link
        if link.cell is not None:
            self.by_cell.setdefault(int(link.cell), []).append(link)

    def take(self, source: Incoming) -> None:
        target = self.joinable(source)
        if target is None:
            self.open(source)
        else:
            self.join(target, source)

    def joinable(self, source: Incoming) -> Case | None:
        """Return the open case of the source's category it joins, or None."""
        if source.cell is None:
            return None
        window = timedelta(seconds=self.d.merge_window_s)
        near = [s for cell in h3i.grid_disk(int(source.cell), self.d.ring_k)
                for s in self.by_cell.get(cell, ())
                if s.category == source.category and abs(s.at - source.at) <= window
                and self.by_key.get((s.kind, s.source_id)) is s  # not moved since
                and s.case_id in self.cases and self.cases[s.case_id].state not in FINAL]
        if not near:
            return None
        best = max(near, key=lambda s: (s.at, s.case_id))
        return self.cases[best.case_id]

    def join(self, case: Case, source: Incoming) -> None:
        new = replace(case, severity=max(case.severity, source.severity))
        self.save(*record(case, new, JOIN, INTAKE_ACTOR, self.now,
                          reason=f"{source.kind} {source.source_id} within "
                                 f"{self.d.ring_k} ring(s) and {self.d.merge_window_s} s",
                          source_id=source.source_id, kind=source.kind))
        self.link(new.case_id, source)

    def open(self, source: Incoming) -> None:
        state = CaseState.SUGGESTED if source.policy == "suggest" else CaseState.NEW
        place = place_of(self.d, cell=source.cell, grid_id=source.grid_id)
        case, entry, steps = open_case(
            case_id_for(source.kind, source.source_id), source.category, place,
            severity=source.severity, origin=source.kind, actor=INTAKE_ACTOR, now=self.now,
            directory=self.d, state=state, rule_id=source.rule_id,
            reason=f"{source.kind} {source.source_id} ({source.label})",
            source_id=source.source_id)
        self.save(case, entry)
        self.steps += steps
        if state == CaseState.NEW and should_auto_dispatch(source.category, self.d) \
                and case.department:
            self.save(*dispatch_to(case, case.department, INTAKE_ACTOR, self.now, self.d,
                                   reason="urgent category: dispatched on intake"))
        self.link(case.case_id, source)

    def sensor_verify(self, alert_id: str) -> None:
        """Verify a resolved case whose alert has resolved (a sensor back to normal)."""
        link = self.by_key.get(("alert", alert_id))
        case = self.cases.get(link.case_id) if link else None
        if case is None or case.state != CaseState.RESOLVED:
            return
        self.save(*record(case, replace(case, state=CaseState.VERIFIED), Action.VERIFY,
                          SENSOR_ACTOR, self.now,
                          reason=f"alert {alert_id} resolved: the sensor is back to normal"))

    def save(self, case: Case, entry: LogEntry) -> None:
        self.cases[case.case_id] = case
        self.changed[case.case_id] = None
        self.entries.append(entry)

    def link(self, case_id: str, source: Incoming) -> None:
        link = SourceLink(source.kind, source.source_id, case_id, source.category, source.cell,
                          source.at, source.severity)
        self.index(link)
        self.new_links.append(link)


def base_cell(cell: int | None) -> int | None:
    """Return a res-10 cell for an alert's cell (a coarser rule cell: its centre child)."""
    if cell is None or h3i.get_resolution(int(cell)) == BASE_RES:
        return cell
    return h3i.cell_to_center_child(int(cell), BASE_RES)


def key_category(key: str) -> str | None:
    """Return the category of a count alert's key (`<cell>|incident:<category>`), or None."""
    _, _, metric = key.partition("|incident:")
    return metric or None
