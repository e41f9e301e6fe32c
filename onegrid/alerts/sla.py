"""SLA clocks (处置时限): due times, overdue, the escalation ladder and reminders.

A case's time limit comes from its category's time-limit class
(`registry.time_limits_h`: urgent 2 h, utilities 24 h, general 168 h, complex
360 h in the demo city). The clock starts at the first dispatch and runs
through dispatched, accepted, in progress, returned and reopened; it pauses
only in arbitration (the due time moves on by the time spent there) and
stops at resolve. A reopened case gets a fresh clock.

The ladder (grid → street → district → city, levels 0–3): a case that passes
its due time is escalated to the street at once, then one more step each time
another half of its time limit passes overdue (`STEP_FRACTION`): an urgent
2-hour case is at the street when overdue, at the district an hour later and
at the city an hour after that. Each step logs an `escalate` entry and a
`press` reminder (督办) to the lead department. A manual `escalate` raises the
level too; the ladder never lowers it. With a `Calendar`, time limits and
ladder steps count working hours only; the default is calendar time.
Everything takes `now`; nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from onegrid.alerts.cases import CLOCKED, Action, Case, CaseState, LogEntry, record
from onegrid.geo.registry import Registry

LADDER: Final = ("grid", "street", "district", "city")  # escalation_level -> who presses
STEP_FRACTION: Final = 0.5  # another this much of the time limit overdue -> one step up
SLA_ACTOR: Final = "system:sla"


@dataclass(frozen=True)
class Calendar:
    """Working time: `start_h`–`end_h` local time on `weekdays` (0 = Monday), minus holidays."""

    tz: str = "Asia/Shanghai"
    start_h: int = 9
    end_h: int = 17
    weekdays: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = frozenset()

    def add(self, start: datetime, seconds: float) -> datetime:
        """Return the instant `seconds` of working time after `start` (UTC)."""
        zone = ZoneInfo(self.tz)
        cursor, left = start.astimezone(zone), seconds
        for _ in range(3660):  # ten years of days: a calendar without working days stops here
            day = cursor.date()
            if day.weekday() in self.weekdays and day not in self.holidays:
                opens = datetime.combine(day, time(self.start_h), zone)
                closes = datetime.combine(day, time(self.end_h), zone)
                cursor = max(cursor, opens)
                if cursor < closes:
                    available = (closes - cursor).total_seconds()
                    if left <= available:
                        return (cursor + timedelta(seconds=left)).astimezone(start.tzinfo)
                    left -= available
            cursor = datetime.combine(day + timedelta(days=1), time(0), zone)
        raise ValueError("the calendar has no working time in ten years")


def time_limit_s(category: str, registry: Registry) -> float:
    """Return the category's time limit in seconds (the `general` class when unknown)."""
    cat = registry.categories.get(category)
    cls = cat.time_limit_class if cat else "general"
    hours = registry.time_limits_h.get(cls, max(registry.time_limits_h.values(), default=168))
    return hours * 3600.0


def due_at(start: datetime, category: str, registry: Registry,
           calendar: Calendar | None = None) -> datetime:
    """Return when a case of `category` dispatched at `start` is due (UTC)."""
    return _after(start, time_limit_s(category, registry), calendar)


def effective_due(case: Case, now: datetime) -> datetime | None:
    """Return the case's due time as of `now`: in arbitration it moves with the pause."""
    if case.due_at is None:
        return None
    if case.state == CaseState.ARBITRATION and case.paused_since is not None:
        return case.due_at + (now - case.paused_since)
    return case.due_at


def is_overdue(case: Case, now: datetime) -> bool:
    """Return whether the case's clock has run past its due time at `now`.

    A case in arbitration is overdue only if it already was when it got there.
    """
    due = effective_due(case, now)
    running = case.state in CLOCKED or case.state == CaseState.ARBITRATION
    return running and due is not None and now > due


def pause(case: Case, now: datetime) -> Case:
    """Return the case with its clock paused at `now` (it is going to arbitration)."""
    return replace(case, paused_since=now)


def resume(case: Case, now: datetime) -> Case:
    """Return the case with its clock running again; the due time moves by the pause."""
    if case.paused_since is None:
        return case
    paused = now - case.paused_since
    due = case.due_at + paused if case.due_at else None
    return replace(case, paused_since=None, due_at=due,
                   paused_s=case.paused_s + paused.total_seconds())


def target_level(case: Case, now: datetime, registry: Registry,
                 calendar: Calendar | None = None, step_fraction: float = STEP_FRACTION) -> int:
    """Return the ladder level the overdue time puts the case at (0 when not overdue)."""
    if not is_overdue(case, now):
        return 0
    due, step = effective_due(case, now), time_limit_s(case.category, registry) * step_fraction
    level = 1
    while level < len(LADDER) - 1 and now > _after(due, step * level, calendar):
        level += 1
    return level


def tick(case: Case, now: datetime, registry: Registry, calendar: Calendar | None = None,
         step_fraction: float = STEP_FRACTION) -> tuple[Case, list[LogEntry]]:
    """Return the case moved up the ladder as far as `now` puts it, and the entries.

    Each step is an `escalate` entry (from, to, overdue seconds) and a `press`
    reminder to the lead department.
    """
    goal = target_level(case, now, registry, calendar, step_fraction)
    if case.state == CaseState.ARBITRATION:
        return case, []  # paused: the command centre is deciding; nothing to press
    entries: list[LogEntry] = []
    overdue_s = round((now - effective_due(case, now)).total_seconds()) if goal else 0
    while case.escalation_level < goal:
        old = case
        level = case.escalation_level + 1
        case, up = record(old, replace(old, escalation_level=level), Action.ESCALATE,
                          SLA_ACTOR, now, reason=f"overdue by {_hours(overdue_s)}",
                          **{"from": LADDER[level - 1], "to": LADDER[level],
                             "overdue_s": overdue_s})
        case, press = record(case, case, Action.PRESS, SLA_ACTOR, now,
                             reason=f"overdue by {_hours(overdue_s)}: {LADDER[level]} presses",
                             level=LADDER[level])
        entries += [up, press]
    return case, entries


def tick_all(cases: Iterable[Case], now: datetime, registry: Registry,
             calendar: Calendar | None = None,
             step_fraction: float = STEP_FRACTION) -> tuple[list[Case], list[LogEntry]]:
    """Return the cases the ladder moved at `now` and all their entries, in case order."""
    moved, entries = [], []
    for case in cases:
        after, logged = tick(case, now, registry, calendar, step_fraction)
        if logged:
            moved.append(after)
            entries += logged
    return moved, entries


def _after(start: datetime, seconds: float, calendar: Calendar | None) -> datetime:
    return calendar.add(start, seconds) if calendar else start + timedelta(seconds=seconds)


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h"
