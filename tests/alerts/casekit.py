"""Helpers for case tests: places in the demo city, commands, and applying them.

Grid CN-01-01-01 (community CN-01-01) has grid worker GW-00001; GW-00002 works
the neighbouring grid CN-01-01-02 in the same community. Exposed garbage there
is led by CN-lhsr (staff ST-CN-lhsr) with CN-cg assisting.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from onegrid.alerts.cases import Action, Applied, Case, Command, Rejection, SourceLink
from onegrid.alerts.commands import apply_command
from onegrid.alerts.directory import CaseContext, Directory
from onegrid.alerts.opening import open_case, place_of

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
GRID = "CN-01-01-01"
CATEGORY = "exposed_garbage"
LEAD = "CN-lhsr"
LEAD_STAFF = "ST-CN-lhsr"
COMMAND, COMMAND_2 = "CC-01", "CC-02"
WORKER, NEIGHBOUR = "GW-00001", "GW-00002"
_ids = itertools.count(1)


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def cells_of(directory: Directory, grid_id: str) -> list[int]:
    """Return the res-10 cells of a grid, ascending."""
    ids = directory.regions.cell_ids["grid_id"]
    return [int(c) for c in directory.regions.cells[np.asarray(ids == grid_id)]]


def new_case(directory: Directory, category: str = CATEGORY, grid_id: str = GRID,
             at: datetime = T0, **changes) -> Case:
    """Return a freshly opened case (state new, routed), with `changes` applied."""
    place = place_of(directory, cell=cells_of(directory, grid_id)[0])
    case, _, _ = open_case(f"C-{next(_ids)}", category, place, severity=2, origin="staff",
                           actor=COMMAND, now=at, directory=directory)
    return replace(case, **changes)


def cmd(case: Case | str | None, action: str, actor: str, at: datetime | None = None,
        **kw) -> Command:
    case_id = case.case_id if isinstance(case, Case) else case
    return Command(f"cmd-{next(_ids)}", case_id, Action(action), actor, at or T0, **kw)


def apply(case: Case | None, command: Command, directory: Directory,
          others: tuple[Case, ...] = (), sources: tuple[SourceLink, ...] = ()
          ) -> Applied | Rejection:
    """Apply one command at its own time, with other cases and sources in reach."""
    cases = {c.case_id: c for c in (*others, *([case] if case else []))}
    by_case: dict[str, tuple[SourceLink, ...]] = {}
    for s in sources:
        by_case[s.case_id] = (*by_case.get(s.case_id, ()), s)
    return apply_command(case, command, CaseContext(directory, cases, by_case), command.at)


def ok(case: Case | None, command: Command, directory: Directory, **kw) -> Applied:
    """Apply a command that must succeed; return what it decided."""
    result = apply(case, command, directory, **kw)
    assert isinstance(result, Applied), result
    return result


def walk(case: Case, directory: Directory, *steps: tuple[str, str]) -> tuple[Case, list]:
    """Apply (action, actor) steps one minute apart; return the case and all entries."""
    entries = []
    for i, (action, actor) in enumerate(steps, start=1):
        result = ok(case, cmd(case, action, actor, minutes(i)), directory)
        case = result.cases[0]
        entries += result.entries
    return case, entries


def run_batch(store, directory: Directory, now: datetime = T0, *, commands=(), incidents=(),
              alert_changes=(), acks=()):
    """Decide and write one batch in one store transaction; return the decisions."""
    from onegrid.alerts.casework import decide_cases
    from onegrid.geo.case_store import write_case_decisions

    def write(cur):
        decisions = decide_cases(cur, commands=list(commands), incidents=list(incidents),
                                 alert_changes=list(alert_changes), directory=directory,
                                 now=now, acks=list(acks))
        write_case_decisions(cur, decisions)
        return decisions

    return store.write(write)


def report(directory: Directory, report_id: str, at: datetime = T0, category: str = CATEGORY,
           grid_id: str = GRID, cell_index: int = 0, severity: int = 2):
    """Return an incident report at the `cell_index`-th cell of a grid."""
    from onegrid.alerts.intake import Report

    return Report(report_id, at, cells_of(directory, grid_id)[cell_index], category, severity,
                  "hotline", grid_id)
