"""Casework: the one entry point the engine calls for cases, inside its write transaction.

`decide_cases` reads the cases a batch touches, applies the batch's commands
in order (each later command sees the earlier ones' effect; a command id
seen before is skipped, so a Kafka redelivery changes nothing), takes in the
batch's reports and alert changes, runs the SLA ladder at `now`, and chains
the new log entries on from the stored chain head. It returns
`CaseDecisions`; `case_store.write_case_decisions(cur, decisions)` writes
them and `messages()` gives what `onegrid.cases` carries. A command takes
effect at its own `at` (when the actor acted, so a replay decides the same;
never before the case's last change), intake and the ladder at `now`.
Reports reach intake as `intake.Report`s (`intake.reports_from_rows` turns
stored `events` rows into them) and alert changes as the engine's
`Transition`s; `commands.command_from_dict` turns a decoded command message
into a `Command`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from onegrid.alerts import acknowledgements, audit, intake, sla
from onegrid.alerts.acknowledgements import Acknowledgement
from onegrid.alerts.cases import (
    CLOCKED,
    FINAL,
    REJECTED,
    Applied,
    Case,
    Command,
    LogEntry,
    Rejection,
    SourceLink,
    StepMark,
    case_to_row,
    detail_json,
    entry_to_row,
    iso,
    record_to_dict,
    row_to_case,
)
from onegrid.alerts.commands import apply_command
from onegrid.alerts.directory import CaseContext, Directory, load_directory
from onegrid.alerts.intake import Report
from onegrid.alerts.model import AlertState, Transition
from onegrid.alerts.routing import region_chain
from onegrid.geo import case_store as store

__all__ = ["CaseDecisions", "CommandRecord", "Directory", "decide_cases", "load_directory"]


@dataclass(frozen=True)
class CommandRecord:
    """A processed command, as `case_commands` keeps it (and, when refused, the case as
    the actor will find it: seq, state, department)."""

    command_id: str
    case_id: str | None
    action: str
    actor: str
    at: datetime
    outcome: str  # applied | rejected
    code: str | None = None
    reason: str | None = None
    seq: int | None = None
    state: str | None = None
    department: str | None = None


@dataclass(frozen=True)
class CaseDecisions:
    """What one batch decided about cases, ready to write and publish.

    `cases` is the latest version of every changed case (once each); `entries`
    the new case_log rows, chained, in log_seq order; `sources` new or moved
    source links; `steps` plan steps copied or ticked; `commands` every
    processed command; `ignored` command ids already processed before;
    `acks` the alert acknowledgements to record.
    """

    cases: tuple[Case, ...] = ()
    entries: tuple[LogEntry, ...] = ()
    sources: tuple[SourceLink, ...] = ()
    steps: tuple[StepMark, ...] = ()
    commands: tuple[CommandRecord, ...] = ()
    ignored: tuple[str, ...] = ()
    acks: tuple[Acknowledgement, ...] = ()

    @property
    def rejections(self) -> tuple[CommandRecord, ...]:
        """Return the refused commands (code and reason), in command order."""
        return tuple(c for c in self.commands if c.outcome == "rejected")

    def tables(self) -> dict[str, pa.Table]:
        """Return the rows to write, as Arrow tables by case table name."""
        rows = {"cases": map(case_to_row, self.cases), "case_log": map(entry_to_row, self.entries),
                "case_sources": map(record_to_dict, self.sources),
                "case_steps": map(record_to_dict, self.steps),
                "case_commands": map(record_to_dict, self.commands),
                "alert_acks": map(record_to_dict, self.acks)}
        return {name: store.rows_to_table(name, r) for name, r in rows.items()}

    def messages(self) -> list[dict[str, Any]]:
        """Return the `onegrid.cases` messages: every entry in log order, then refusals."""
        return [*map(entry_to_message, self.entries), *map(rejection_to_message,
                                                            self.rejections)]


def decide_cases(cur: duckdb.DuckDBPyConnection, *, commands: Sequence[Command],
                 incidents: Iterable[Report], alert_changes: Sequence[Transition],
                 directory: Directory, now: datetime,
                 acks: Sequence[Acknowledgement] = ()) -> CaseDecisions:
    """Return the batch's case decisions; reads the store through `cur`, writes nothing.

    `acks` are the batch's `acknowledge` commands (they name alerts, not cases).
    """
    ids = [c.command_id for c in commands] + [a.command_id for a in acks]
    done = store.processed_commands(cur, ids)
    fresh, fresh_acks, ignored, seen = [], [], [], set(done)
    for c in (*commands, *acks):
        if c.command_id in seen:
            ignored.append(c)
        else:
            (fresh_acks if isinstance(c, Acknowledgement) else fresh).append(c)
        seen.add(c.command_id)
    work = _Work(cur, directory)
    # One read for every case the commands name, not two queries per command.
    work.load(i for c in fresh for i in (c.case_id or "", *c.other_case_ids))
    work.load_alerts([c.alert_id for c in fresh if c.alert_id]
                     + [a.alert_id for a in fresh_acks])
    for c in fresh:
        work.command(c)
    for a in fresh_acks:
        work.acknowledge(a)
    work.take_in(list(incidents), alert_changes, now)
    work.tick(now)
    last_seq, last_hash = store.chain_head(cur)
    return CaseDecisions(
        cases=tuple(work.cases[i] for i in work.changed),
        entries=tuple(audit.chain(work.entries, last_seq, last_hash or audit.GENESIS)),
        sources=tuple(_last_by(work.new_links, lambda s: (s.kind, s.source_id))),
        steps=tuple(_last_by(work.steps, lambda s: (s.case_id, s.step_id))),
        commands=tuple(work.records), ignored=tuple(c.command_id for c in ignored),
        acks=tuple(work.acks))


def entry_to_message(entry: LogEntry) -> dict[str, Any]:
    """Return the `onegrid.cases` message of a log entry (a dict; the engine encodes it)."""
    detail = entry.details()
    return {"case_id": entry.case_id, "seq": entry.seq, "type": entry.action,
            "state": entry.state, "actor": entry.actor, "department": entry.department,
            "at": iso(entry.at), "reason": entry.reason, "note": entry.note,
            "changes": detail.pop("changes", {}), "detail": detail,
            "log_seq": entry.log_seq, "hash": entry.hash}


def rejection_to_message(record: CommandRecord) -> dict[str, Any]:
    """Return the `onegrid.cases` message answering a refused command."""
    return {"case_id": record.case_id, "seq": record.seq, "type": REJECTED,
            "state": record.state, "actor": record.actor, "department": record.department,
            "at": iso(record.at), "command_id": record.command_id, "action": record.action,
            "code": record.code, "reason": record.reason}


class _Work:
    """The batch's working set of cases and links: each step sees the ones before."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, directory: Directory) -> None:
        self.cur, self.d = cur, directory
        self.cases: dict[str, Case] = {}
        self.links: dict[tuple[str, str], SourceLink] = {}  # (kind, source_id) -> its link
        self.loaded: set[str] = set()  # case ids whose row and links have been read
        self.changed: dict[str, None] = {}  # changed case ids, in order of first change
        self.entries: list[LogEntry] = []
        self.new_links: list[SourceLink] = []
        self.steps: list[StepMark] = []
        self.records: list[CommandRecord] = []
        self._by_case: dict[str, tuple[SourceLink, ...]] | None = None  # sources_of's cache
        self.alerts: dict[str, dict[str, Any]] = {}  # alert_id -> its `alerts` row
        self.acks: list[Acknowledgement] = []

    def load(self, case_ids: Iterable[str], sources: bool = True) -> None:
        """Read cases (and, with `sources`, their links) not read yet.

        Intake reads cases without their links: it needs only the links near
        its sources, and a case at a hot spot can have thousands.
        """
        ids = {i for i in case_ids if i and i not in self.loaded}
        for row in store.read_cases(self.cur, ids - self.cases.keys()):
            self.cases.setdefault(row["case_id"], row_to_case(row))
        if not sources:
            return
        self.loaded |= ids
        for row in store.read_sources(self.cur, ids):
            self.links.setdefault((row["kind"], row["source_id"]), SourceLink(**row))
        self._by_case = None

    def load_alerts(self, alert_ids: Iterable[str]) -> None:
        """Read the alerts that commands name, and the links of those that have a case."""
        ids = sorted(set(alert_ids) - self.alerts.keys())
        if not ids:
            return
        self.alerts.update({r["alert_id"]: r for r in store.read_alerts(self.cur, ids)})
        for row in store.sources_by_id(self.cur, "alert", ids):
            self.links.setdefault((row["kind"], row["source_id"]), SourceLink(**row))
        self._by_case = None

    def alert_cases(self) -> dict[str, str]:
        """Return alert id -> the case it is a source of, for the alerts loaded."""
        return {sid: link.case_id for (kind, sid), link in self.links.items()
                if kind == "alert" and sid in self.alerts}

    def acknowledge(self, ack: Acknowledgement) -> None:
        alert = self.alerts.get(ack.alert_id)
        regions = region_chain(self.d.regions, alert.get("grid_id")) if alert else ()
        result = acknowledgements.decide(ack, alert, self.d,
                                         {alert.get("grid_id") or "": regions} if alert else {})
        if isinstance(result, Rejection):
            self.records.append(CommandRecord(ack.command_id, None, acknowledgements.ACKNOWLEDGE,
                                              ack.actor, ack.at, "rejected", str(result.code),
                                              result.reason))
            return
        self.acks.append(result)
        self.records.append(CommandRecord(ack.command_id, None, acknowledgements.ACKNOWLEDGE,
                                          ack.actor, ack.at, "applied"))

    def sources_of(self) -> dict[str, tuple[SourceLink, ...]]:
        """Return case id -> its links (kept until links change: a batch may hold
        thousands of commands)."""
        if self._by_case is None:
            out: dict[str, list[SourceLink]] = {}
            for link in self.links.values():
                out.setdefault(link.case_id, []).append(link)
            self._by_case = {k: tuple(v) for k, v in out.items()}
        return self._by_case

    def command(self, c: Command) -> None:
        self.load([c.case_id or "", *c.other_case_ids])
        case = self.cases.get(c.case_id or "")
        at = max(c.at, case.updated_at) if case and case.updated_at else c.at
        context = CaseContext(self.d, self.cases, self.sources_of(), self.alerts,
                              self.alert_cases() if c.alert_id else {})
        result = apply_command(case, c, context, at)
        if isinstance(result, Rejection):
            self.records.append(CommandRecord(
                c.command_id, c.case_id, str(c.action), c.actor, c.at, "rejected",
                str(result.code), result.reason, case.seq if case else None,
                str(case.state) if case else None, case.department if case else None))
            return
        tagged = Applied(result.cases, tuple(_tag(e, c.command_id) for e in result.entries),
                         result.sources, result.steps)
        self.save(tagged)
        first = result.cases[0].case_id
        self.records.append(CommandRecord(c.command_id, first, str(c.action), c.actor, c.at,
                                          "applied"))

    def save(self, result: Applied | intake.Intake) -> None:
        for case in result.cases:
            self.cases[case.case_id] = case
            self.loaded.add(case.case_id)
            self.changed[case.case_id] = None
        self.entries += result.entries
        for link in result.sources:
            self.links[(link.kind, link.source_id)] = link
        if result.sources:
            self._by_case = None
        self.new_links += result.sources
        self.steps += result.steps

    def take_in(self, reports: list[Report], alert_changes: Sequence[Transition],
                now: datetime) -> None:
        sources = intake.incoming(reports, alert_changes, self.d)
        resolved = [t.alert.alert_id for t in alert_changes
                    if t.alert.state == AlertState.RESOLVED]
        if not sources and not resolved:
            return
        rows = store.sources_by_id(self.cur, "alert", resolved)
        if sources:
            since = min(s.at for s in sources) - timedelta(seconds=self.d.merge_window_s)
            rows += store.open_sources_near(
                self.cur, intake.search_cells(sources, self.d.ring_k),
                {s.category for s in sources}, since, [str(s) for s in FINAL])
        self.load({r["case_id"] for r in rows}, sources=False)
        for row in rows:  # a link moved in this batch keeps its new case
            self.links.setdefault((row["kind"], row["source_id"]), SourceLink(**row))
        self.save(intake.take_in(sources, alert_changes, self.cases, self.links.values(),
                                 self.d, now))

    def tick(self, now: datetime) -> None:
        rows = store.cases_due(self.cur, now, [str(s) for s in CLOCKED],
                               len(sla.LADDER) - 1)
        self.load((r["case_id"] for r in rows), sources=False)
        due = [c for c in self.cases.values() if c.state in CLOCKED]
        moved, entries = sla.tick_all(sorted(due, key=lambda c: c.case_id), now,
                                      self.d.registry, self.d.calendar, self.d.step_fraction)
        self.save(intake.Intake(tuple(moved), tuple(entries)))


def _tag(entry: LogEntry, command_id: str) -> LogEntry:
    """Return the entry with the id of the command that caused it in its detail."""
    return replace(entry, detail=detail_json({**entry.details(), "command_id": command_id}))


def _last_by(items: Iterable[Any], key: Callable[[Any], Any]) -> list[Any]:
    """Return items with one per key, the last one given, in order of first appearance."""
    out: dict[Any, Any] = {}
    for item in items:
        out[key(item)] = item
    return list(out.values())
