"""Opening and dispatching a case: ids, place, routing, plan copy, the first entries.

Shared by `intake` (cases from reports and alerts), `commands` (a case opened
by hand, a split) and `merging`. A case id is derived from what opened it, so
a replay of the same inputs opens the same ids. Dispatch starts the SLA clock
the first time only: a case re-dispatched after a return keeps its clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np

from onegrid.alerts import sla
from onegrid.alerts.cases import Action, Case, CaseState, LogEntry, StepMark, record
from onegrid.alerts.directory import Directory
from onegrid.alerts.plans import plan_for, plan_to_steps
from onegrid.alerts.routing import covers, region_chain, route
from onegrid.geo.cells import latlng_to_cells
from onegrid.geo.regions import cells_to_regions


@dataclass(frozen=True)
class Place:
    """Where a case is: its res-10 cell and its grid, community, street and district."""

    cell: int | None
    grid_id: str | None
    community_id: str | None = None
    street_id: str | None = None
    district_id: str | None = None

    @property
    def in_city(self) -> bool:
        """Return True when the place lies in one of the city's grids."""
        return self.grid_id is not None


def case_id_for(origin: str, key: str) -> str:
    """Return the id of the case opened by `key` (a report id, alert id or command id)."""
    return "C-" + hashlib.sha256(f"{origin}:{key}".encode()).hexdigest()[:12].upper()


def place_of(directory: Directory, *, cell: int | None = None, grid_id: str | None = None,
             lat: float | None = None, lng: float | None = None) -> Place:
    """Return the place of a point, a cell or a grid (the first one given, in that order)."""
    if lat is not None and lng is not None:
        cell = int(latlng_to_cells(np.array([lat]), np.array([lng]))[0])
    if cell is not None and not grid_id:
        grid_id = cells_to_regions(directory.regions, np.array([cell], np.uint64))["grid_id"][0]
    chain = region_chain(directory.regions, grid_id)
    if not chain:
        return Place(cell, None)
    return Place(cell, *chain)


def open_case(case_id: str, category: str, place: Place, *, severity: int, origin: str,
              actor: str, now: datetime, directory: Directory, title: str | None = None,
              state: CaseState = CaseState.NEW, rule_id: str | None = None,
              reason: str | None = None, note: str | None = None,
              **detail: Any) -> tuple[Case, LogEntry, tuple[StepMark, ...]]:
    """Return a new routed case, its `open` entry and its plan's steps (copied, not done).

    The lead department is routing's suggestion; the case waits in `state`.
    """
    routing = route(category, place.grid_id, directory.registry, directory.regions,
                    directory.staff, directory.fallback_owners)
    plan = plan_for(directory.plans.values(), category, rule_id)
    case = Case(case_id=case_id, seq=0, state=state, category=category, severity=severity,
                department=routing.lead, assisting=routing.assisting, grid_id=place.grid_id,
                community_id=place.community_id, street_id=place.street_id,
                district_id=place.district_id, cell=place.cell, created_at=now, origin=origin,
                plan_id=plan.plan_id if plan else None,
                title=title or _title(directory, category, place))
    case, entry = record(None, case, Action.OPEN, actor, now, reason=reason, note=note,
                         workers=list(routing.workers) or None, **detail)
    return case, entry, plan_to_steps(case_id, plan) if plan else ()


def dispatch_to(case: Case, department: str, actor: str, now: datetime, directory: Directory,
                *, action: Action = Action.DISPATCH, reason: str | None = None,
                note: str | None = None, **detail: Any) -> tuple[Case, LogEntry]:
    """Return the case dispatched to `department` and the entry; the first dispatch
    starts the clock (due time from the category's time limit)."""
    new = replace(case, state=CaseState.DISPATCHED, department=department,
                  assisting=tuple(d for d in case.assisting if d != department))
    if case.dispatched_at is None:
        new = replace(new, dispatched_at=now, due_at=sla.due_at(
            now, case.category, directory.registry, directory.calendar))
    return record(case, new, action, actor, now, reason=reason, note=note, **detail)


def remit_covers(case: Case, department: str, directory: Directory) -> bool:
    """Return whether the department's remit covers the case's category where it is."""
    return covers(department, case.category, case.regions, directory.registry.remits)


def should_auto_dispatch(category: str, directory: Directory) -> bool:
    """Return whether a report of `category` is dispatched on intake (its time-limit class)."""
    cat = directory.registry.categories.get(category)
    return cat is not None and cat.time_limit_class in directory.auto_dispatch


def _title(directory: Directory, category: str, place: Place) -> str:
    cat = directory.registry.categories.get(category)
    name = cat.name_zh if cat else category
    return f"{name} · {place.grid_id or '城区外'}"
