"""Merge and split: duplicates become one case, and one case's sources become two.

`merge` closes the other cases into the one the command names (their
`merged_into` points at it, their sources move to it, it keeps the highest
severity). `split` moves some of a case's sources to a new case, routed
afresh from where the first moved source is. Intake merges close reports on
its own; these are the command centre's hand corrections. Called through
`commands.apply_command`, which has already checked rights and states.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from onegrid.alerts.actors import Actor, refusal
from onegrid.alerts.cases import (
    FINAL,
    Action,
    Applied,
    Case,
    CaseError,
    CaseState,
    Command,
    Rejection,
    record,
)
from onegrid.alerts.directory import CaseContext
from onegrid.alerts.opening import case_id_for, open_case, place_of


def merge(case: Case, c: Command, actor: Actor, ctx: CaseContext,
          now: datetime) -> Applied | Rejection:
    """Merge the cases `c.other_case_ids` into `case`."""
    if not c.other_case_ids:
        return Rejection(CaseError.MISSING_FIELD, "name the cases to merge into this one")
    others = []
    for other_id in dict.fromkeys(c.other_case_ids):
        other = ctx.cases.get(other_id)
        problem = _merge_problem(case, other_id, other, actor, ctx)
        if problem:
            return problem
        others.append(other)
    done, entries, sources = [], [], []
    for other in others:
        closed = replace(other, state=CaseState.CLOSED, merged_into=case.case_id, closed_at=now)
        after, entry = record(other, closed, Action.MERGE, actor.actor_id, now, reason=c.reason,
                              note=c.note, merged_into=case.case_id)
        done.append(after)
        entries.append(entry)
        sources += [replace(s, case_id=case.case_id) for s in ctx.sources.get(other.case_id, ())]
    severity = max([case.severity, *(o.severity for o in others)])
    target, entry = record(case, replace(case, severity=severity), Action.MERGE, actor.actor_id,
                           now, reason=c.reason, note=c.note,
                           merged=[o.case_id for o in others])
    return Applied((target, *done), (entry, *entries), tuple(sources))


def split(case: Case, c: Command, actor: Actor, ctx: CaseContext,
          now: datetime) -> Applied | Rejection:
    """Move the sources `c.source_ids` of `case` to a new case."""
    if not c.source_ids:
        return Rejection(CaseError.MISSING_FIELD, "name the sources (report or alert ids) "
                                                  "to split off")
    links = ctx.sources.get(case.case_id, ())
    wanted = set(c.source_ids)
    moving = [s for s in links if s.source_id in wanted]
    unknown = sorted(wanted - {s.source_id for s in moving})
    if unknown:
        return Rejection(CaseError.BAD_SPLIT, f"{unknown[0]!r} is not a source of case "
                                              f"{case.case_id}")
    if len(moving) == len(links):
        return Rejection(CaseError.BAD_SPLIT, "leave at least one source on the case")
    d = ctx.directory
    staying = [s for s in links if s.source_id not in wanted]
    new, opened, steps = open_case(
        case_id_for("split", c.command_id), case.category, place_of(d, cell=moving[0].cell),
        severity=max(s.severity for s in moving), origin=case.origin, actor=actor.actor_id,
        now=now, directory=d, reason=c.reason, note=c.note, split_from=case.case_id)
    severity = max(s.severity for s in staying)
    kept, entry = record(case, replace(case, severity=severity), Action.SPLIT, actor.actor_id,
                         now, reason=c.reason, note=c.note, moved=sorted(wanted),
                         new_case=new.case_id)
    moved = tuple(replace(s, case_id=new.case_id) for s in moving)
    return Applied((kept, new), (entry, opened), moved, steps)


def _merge_problem(case: Case, other_id: str, other: Case | None, actor: Actor,
                   ctx: CaseContext) -> Rejection | None:
    if other is None:
        return Rejection(CaseError.UNKNOWN_CASE, f"there is no case {other_id!r} to merge")
    if other.case_id == case.case_id:
        return Rejection(CaseError.BAD_MERGE, "a case cannot be merged into itself")
    if other.state in FINAL:
        return Rejection(CaseError.BAD_MERGE, f"case {other_id} is {other.state}; "
                                              "only open cases can be merged")
    if other.category != case.category:
        return Rejection(CaseError.BAD_MERGE, f"case {other_id} is {other.category}, not "
                                              f"{case.category}; merge only duplicates")
    why = refusal(actor, Action.MERGE, other, ctx.directory.registry.categories)
    return Rejection(CaseError.NOT_ALLOWED, why) if why else None
