"""Cases (工单): their states, the actions on them, the transition table, the records.

A case is the work order that closes the loop on an alert or a report: it is
routed, dispatched to a lead department, accepted, handled, resolved,
verified by someone else and closed, and every step is a `LogEntry` on the
case log. This module owns the words (`CaseState`, `Action`), which action is
allowed from which state (`TRANSITIONS`, as data) and the records the case
domain is made of: `Case` and `LogEntry` (with their row forms for the
store), `SourceLink`, `StepMark`, `Command` and its outcomes `Applied` and
`Rejection` (`CaseError`). What each action does is `commands`; who may do
it is `actors`; clocks are `sla`; the hash chain is `audit`. Nothing here
reads the clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final


class CaseState(StrEnum):
    """A case's state on `onegrid.cases` (contract words)."""

    SUGGESTED = "suggested"  # raised by an alert; waits for staff to approve or dismiss
    NEW = "new"  # taken in (受理) and routed; waits for dispatch
    DISPATCHED = "dispatched"  # 派单: at the lead department, clock running
    ACCEPTED = "accepted"  # 签收
    IN_PROGRESS = "in_progress"  # 处置中
    RESOLVED = "resolved"  # 办结 by the handler
    VERIFIED = "verified"  # 核查 by someone other than the handler
    CLOSED = "closed"  # 结案
    RETURNED = "returned"  # 退单: back at the command centre for another dispatch
    ARBITRATION = "arbitration"  # returned too often; the command centre decides (clock paused)
    REOPENED = "reopened"  # back to the same department after resolve/close
    DISMISSED = "dismissed"  # a suggestion staff rejected


class Action(StrEnum):
    """What a command asks for, and the `type` of a case-log entry (contract words)."""

    OPEN = "open"
    APPROVE = "approve"
    DISMISS = "dismiss"
    DISPATCH = "dispatch"
    OVERRIDE = "override"
    ACCEPT = "accept"
    START = "start"
    RESOLVE = "resolve"
    VERIFY = "verify"
    CLOSE = "close"
    RETURN = "return"
    ARBITRATE = "arbitrate"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    PRESS = "press"
    MERGE = "merge"
    SPLIT = "split"
    COMMENT = "comment"
    FEEDBACK = "feedback"
    STEP = "step"
    NOTIFY = "notify"


# Log entry types that no command asks for: the engine records them itself.
JOIN: Final = "join"  # a report or alert joined an open case (intake)
REJECTED: Final = "rejected"  # message type of a refused command (never logged)

S = CaseState
FINAL: Final = frozenset({S.CLOSED, S.DISMISSED})
NOT_FINAL: Final = frozenset(S) - FINAL
# States in which the SLA clock runs (it starts at dispatch, pauses in arbitration).
CLOCKED: Final = frozenset({S.DISPATCHED, S.ACCEPTED, S.IN_PROGRESS, S.RETURNED, S.REOPENED})
# States in which work on the case is still to be done.
WORKING: Final = CLOCKED | {S.NEW, S.ARBITRATION}


@dataclass(frozen=True)
class Move:
    """Where an action may start and where it leads.

    `target` None keeps the state. `alternative` is the other state the action
    can lead to (a return that goes to arbitration, a dissatisfied feedback
    that reopens); the action's function in `commands` decides which.
    """

    sources: frozenset[CaseState]
    target: CaseState | None
    alternative: CaseState | None = None


# action -> the states it is allowed from and the state it leads to. `open`
# has no source state: it creates the case.
TRANSITIONS: Final[dict[Action, Move]] = {
    Action.OPEN: Move(frozenset(), S.NEW, S.DISPATCHED),
    Action.APPROVE: Move(frozenset({S.SUGGESTED}), S.NEW),
    Action.DISMISS: Move(frozenset({S.SUGGESTED}), S.DISMISSED),
    Action.DISPATCH: Move(frozenset({S.NEW, S.RETURNED, S.DISPATCHED}), S.DISPATCHED),
    Action.OVERRIDE: Move(frozenset({S.NEW, S.RETURNED, S.DISPATCHED}), S.DISPATCHED),
    Action.ACCEPT: Move(frozenset({S.DISPATCHED, S.REOPENED}), S.ACCEPTED),
    Action.START: Move(frozenset({S.ACCEPTED}), S.IN_PROGRESS),
    Action.RESOLVE: Move(frozenset({S.ACCEPTED, S.IN_PROGRESS}), S.RESOLVED),
    Action.VERIFY: Move(frozenset({S.RESOLVED}), S.VERIFIED),
    Action.CLOSE: Move(frozenset({S.VERIFIED}), S.CLOSED),
    Action.RETURN: Move(frozenset({S.DISPATCHED, S.ACCEPTED, S.REOPENED}), S.RETURNED,
                        S.ARBITRATION),
    Action.ARBITRATE: Move(frozenset({S.ARBITRATION}), S.DISPATCHED),
    Action.REOPEN: Move(frozenset({S.RESOLVED, S.VERIFIED, S.CLOSED}), S.REOPENED),
    Action.FEEDBACK: Move(frozenset({S.CLOSED}), None, S.REOPENED),
    Action.ESCALATE: Move(WORKING, None),
    Action.PRESS: Move(CLOCKED | {S.ARBITRATION}, None),
    Action.MERGE: Move(NOT_FINAL, None),
    Action.SPLIT: Move(NOT_FINAL, None),
    Action.COMMENT: Move(frozenset(S), None),
    Action.STEP: Move(WORKING, None),
    Action.NOTIFY: Move(WORKING, None),
}


def can(action: Action, state: CaseState) -> bool:
    """Return whether `action` is allowed on a case in `state`."""
    return state in TRANSITIONS[action].sources


@dataclass(frozen=True)
class Case:
    """One case as stored in `cases`. Times are tz-aware UTC; durations seconds.

    `seq` counts the case's log entries so far. `department` is the lead
    department (suggested by routing while the case is new). `cell` is the
    res-10 H3 cell of its first source. `paused_since` is set while the case
    is in arbitration. `steps_done` are the ticked steps of its plan.
    """

    case_id: str
    seq: int
    state: CaseState
    category: str
    severity: int
    department: str | None
    assisting: tuple[str, ...]
    grid_id: str | None
    community_id: str | None
    street_id: str | None
    district_id: str | None
    cell: int | None
    created_at: datetime
    dispatched_at: datetime | None = None
    due_at: datetime | None = None
    paused_s: float = 0.0
    paused_since: datetime | None = None
    handler: str | None = None
    returns: int = 0
    reopens: int = 0
    escalation_level: int = 0
    origin: str = "staff"  # alert | report | staff
    plan_id: str | None = None
    satisfaction: str | None = None
    merged_into: str | None = None
    title: str = ""
    steps_done: tuple[str, ...] = ()
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def regions(self) -> tuple[str, ...]:
        """Return the case's region ids, grid first, city-wide `*` not included."""
        ids = (self.grid_id, self.community_id, self.street_id, self.district_id)
        return tuple(r for r in ids if r)


@dataclass(frozen=True)
class LogEntry:
    """One row of `case_log`: what happened to a case, by whom, when (UTC).

    `state` and `department` are the case's after the entry. `detail` is
    canonical JSON (see `detail_json`): the fields that changed under
    "changes", plus what the action adds (override, merged ids, ...).
    `log_seq`, `prev_hash` and `hash` are filled in by `audit.chain`.
    """

    case_id: str
    seq: int
    action: str
    actor: str
    at: datetime
    state: str
    department: str | None = None
    reason: str | None = None
    note: str | None = None
    detail: str = "{}"
    log_seq: int = 0
    prev_hash: str = ""
    hash: str = ""

    def details(self) -> dict[str, Any]:
        """Return `detail` parsed."""
        return json.loads(self.detail)


@dataclass(frozen=True)
class SourceLink:
    """A report or alert that a case stands for (a row of `case_sources`).

    A source belongs to one case at a time: merge and split move it.
    """

    kind: str  # report | alert
    source_id: str  # the event id of a report, the alert_id of an alert
    case_id: str
    category: str
    cell: int | None
    at: datetime  # event time of the report, start of the alert
    severity: int = 1


@dataclass(frozen=True)
class Command:
    """A user's action on a case, as the engine applies it (from `onegrid.commands`).

    `expected_seq` is the case seq the actor saw; when given and the case has
    moved on, the command is refused as stale (two actors at once: one wins).
    `open` carries what and where (category, lat/lng or grid_id, title).
    """

    command_id: str
    case_id: str | None
    action: Action
    actor: str
    at: datetime
    department: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    note: str | None = None
    expected_seq: int | None = None
    override: bool = False
    other_case_ids: tuple[str, ...] = ()
    source_ids: tuple[str, ...] = ()
    satisfaction: str | None = None  # satisfied | dissatisfied
    step_id: str | None = None
    photo_url: str | None = None
    category: str | None = None
    lat: float | None = None
    lng: float | None = None
    grid_id: str | None = None
    title: str | None = None
    severity: int | None = None
    alert_id: str | None = None  # `open`: the alert the case is opened from


class CaseError(StrEnum):
    """Why a command was refused (stable codes; the wording of reasons may improve)."""

    UNKNOWN_CASE = "unknown_case"
    UNKNOWN_ACTOR = "unknown_actor"
    NOT_ALLOWED = "not_allowed"
    BAD_STATE = "bad_state"
    STALE = "stale"
    REMIT_REFUSED = "remit_refused"
    MISSING_REASON = "missing_reason"
    MISSING_FIELD = "missing_field"
    UNKNOWN_DEPARTMENT = "unknown_department"
    UNKNOWN_CATEGORY = "unknown_category"
    OUT_OF_AREA = "out_of_area"
    SELF_VERIFY = "self_verify"
    NO_PLAN = "no_plan"
    UNKNOWN_STEP = "unknown_step"
    BAD_MERGE = "bad_merge"
    BAD_SPLIT = "bad_split"
    UNKNOWN_ALERT = "unknown_alert"


@dataclass(frozen=True)
class Rejection:
    """A refused command: a stable code and a sentence a person can act on."""

    code: CaseError
    reason: str


@dataclass(frozen=True)
class StepMark:
    """A plan step of a case: copied when the case opens, ticked by `step`."""

    case_id: str
    plan_id: str
    step_id: str
    ord: int
    text_zh: str
    text_en: str
    dept_kind: str
    done_by: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class Applied:
    """What an applied command decided: the cases as they are now, in the order they
    changed, their new log entries, moved or new source links, plan steps."""

    cases: tuple[Case, ...]
    entries: tuple[LogEntry, ...]
    sources: tuple[SourceLink, ...] = ()
    steps: tuple[StepMark, ...] = ()


def detail_json(detail: Mapping[str, Any]) -> str:
    """Return the canonical JSON of a detail dict: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_jsonable)


def changes(old: Case | None, new: Case) -> dict[str, Any]:
    """Return the fields of `new` that differ from `old` (when old is None, those set),
    as JSON values; `seq` and `updated_at` are left out (every entry moves them)."""
    skip = {"seq", "updated_at"}
    out = {}
    for f in fields(Case):
        value = getattr(new, f.name)
        if f.name in skip or (old is None and value in (None, (), 0, 0.0)):
            continue  # a new case lists only the fields it has
        if old is None or getattr(old, f.name) != value:
            out[f.name] = _jsonable(value)
    return out


def record(old: Case | None, new: Case, action: str, actor: str, at: datetime,
           *, reason: str | None = None, note: str | None = None,
           department: str | None = None, **detail: Any) -> tuple[Case, LogEntry]:
    """Return `new` with its seq moved on by one, and the log entry that records it.

    `department` names the entry's department when it is not the case's lead
    (a notified or pressed department).
    """
    case = replace(new, seq=new.seq + 1, updated_at=at)
    detail = {k: v for k, v in detail.items() if v is not None}
    entry = LogEntry(case.case_id, case.seq, str(action), actor, at, str(case.state),
                     department or case.department, reason, note,
                     detail_json({"changes": changes(old, new), **detail}))
    return case, entry


def record_to_dict(record: Any) -> dict[str, Any]:
    """Return a flat record's fields as a dict, values as they are.

    Not `dataclasses.asdict`: that deep-copies every value (datetimes too) and
    was half the cost of taking in a busy batch of reports.
    """
    return {f.name: getattr(record, f.name) for f in fields(record)}


def case_to_row(case: Case) -> dict[str, Any]:
    """Return the `cases` row of a case (plain values; tuples as lists)."""
    row = record_to_dict(case)
    row["state"] = str(case.state)
    row["assisting"] = list(case.assisting)
    row["steps_done"] = list(case.steps_done)
    return row


def row_to_case(row: Mapping[str, Any]) -> Case:
    """Return the Case of a `cases` row (as `case_store.read_cases` gives it)."""
    known = {f.name for f in fields(Case)}
    values = {k: v for k, v in row.items() if k in known}
    values["state"] = CaseState(values["state"])
    values["assisting"] = tuple(values.get("assisting") or ())
    values["steps_done"] = tuple(values.get("steps_done") or ())
    values["paused_s"] = float(values.get("paused_s") or 0.0)
    return Case(**values)


def entry_to_row(entry: LogEntry) -> dict[str, Any]:
    """Return the `case_log` row of an entry."""
    return record_to_dict(entry)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, StrEnum):
        return str(value)
    return value


def iso(at: datetime) -> str:
    """Return `at` as ISO-8601 UTC with milliseconds and a Z, the topics' time format."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

