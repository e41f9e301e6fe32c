"""The demo day: simulator, engine and simulated staff together, from a seed.

Runs a simulated day of city traffic through the engine's own steps, in
event time and in fixed slices: each slice's messages go through `process`
and `store_outcome`, rules decide at the event clock, and the commands the
simulated staff (`simulation.staff`) planned for that slice go through the
same `decide_and_store_cases` the live engine uses. No broker is involved:
time is simulated, so the day takes minutes, and the slices are fixed, so the
same seed gives the same store (one DuckDB thread: no parallel aggregation
order). Cases run through every state, so the dashboard and the KPIs have
real material. What is queued for Kafka stays in the outbox; a later
`onegrid run` on the file publishes it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import msgspec

from onegrid.alerts.casework import Directory
from onegrid.alerts.evaluation import RuleState
from onegrid.geo import case_store
from onegrid.geo.store import Store
from onegrid.streams.casefeed import decide_and_store_cases
from onegrid.streams.contract import COMMANDS, CommandMessage
from onegrid.streams.engine import City, Rules, decide_alerts, process, store_outcome
from onegrid.streams.episode_feed import EpisodeSettings, decide_episodes
from onegrid.streams.simulation.staff import Planned, department_staff, next_command
from onegrid.streams.simulator import SimMessage, simulate
from onegrid.streams.validate import RawMessage

PREFIX = "onegrid."
# Cases the simulated staff still act on: not final, or closed and awaiting follow-up.
_ACTIVE_SQL = """
SELECT case_id FROM cases
WHERE state NOT IN ('dismissed', 'closed')
   OR (state = 'closed' AND origin = 'report' AND satisfaction IS NULL)
ORDER BY case_id
"""


@dataclass(frozen=True)
class DemoDay:
    """What a demo day produced."""

    events: int
    dead_letters: int
    alert_changes: int
    commands: int
    refused: int
    states: dict[str, int]  # case state -> cases that were ever in it


def _slices(messages: Iterator[SimMessage], start: datetime, step: timedelta,
            end: datetime) -> Iterator[tuple[datetime, list[SimMessage]]]:
    """Yield (slice end, its messages) for consecutive slices from start to end."""
    pending = next(messages, None)
    t = start
    while t < end:
        t += step
        limit = int(t.timestamp() * 1000)
        batch = []
        while pending is not None and pending.ts_ms < limit:
            batch.append(pending)
            pending = next(messages, None)
        yield t, batch


class _Staff:
    """The simulated staff's plans: one next command per active case."""

    def __init__(self, directory: Directory, seed: int):
        self.directory, self.seed = directory, seed
        self.duty = department_staff(directory.staff)
        self.planned: dict[str, Planned] = {}
        self.attempts: Counter = Counter()  # (case_id, seq) -> commands tried there

    def due(self, before: datetime) -> list[Planned]:
        """Return (and forget) the planned commands due before `before`, in time order."""
        due = sorted((p for p in self.planned.values() if p.at < before),
                     key=lambda p: (p.at, p.case_id))
        for p in due:
            del self.planned[p.case_id]
            self.attempts[(p.case_id, p.seq)] += 1
        return due

    def replan(self, cur) -> None:
        """Plan the next command of every active case that has none for its seq."""
        ids = [r[0] for r in cur.execute(_ACTIVE_SQL).fetchall()]
        for case in case_store.read_cases(cur, ids):
            plan = self.planned.get(case["case_id"])
            if plan is not None and plan.seq == case["seq"]:
                continue
            self.planned.pop(case["case_id"], None)
            attempt = self.attempts[(case["case_id"], case["seq"])]
            if attempt >= 3:  # refused three times at this step: staff leave it
                continue
            nxt = next_command(case, self.directory.staff, self.duty, self.seed, attempt,
                               self._wrong_department(case))
            if nxt is not None:
                self.planned[case["case_id"]] = nxt

    def _wrong_department(self, case) -> str | None:
        """Return a department of another kind in the case's district (remit-refused)."""
        departments = self.directory.registry.departments
        lead = departments.get(case["department"] or "")
        for dept in departments.values():
            if lead is not None and dept.kind != lead.kind and dept.kind == "sw" \
                    and dept.district_id == case["district_id"]:
                return dept.dept_id
        return None


def _commands(due: list[Planned]) -> list[tuple[RawMessage, CommandMessage]]:
    out = []
    for i, p in enumerate(due):
        message = msgspec.convert({**p.message, "at": p.at}, CommandMessage)
        raw = RawMessage(PREFIX + COMMANDS, 0, i, p.case_id.encode(), b"", COMMANDS)
        out.append((raw, message))
    return out


def run_demo_day(city: City, store: Store, directory: Directory, rules: Rules | None, *,
                 start: datetime, hours: float = 24.0, rate: float = 1.0, seed: int = 7,
                 step_s: int = 300, episodes: EpisodeSettings | None = None) -> DemoDay:
    """Run a simulated day into `store`; return what it produced.

    `rate` is simulated messages per second over all input topics; `step_s`
    the slice length (seconds of simulated time per write); with `episodes`
    the engine's episode step runs too.
    """
    messages = simulate(city.registry, rate=rate, duration_s=hours * 3600, seed=seed,
                        start=start, malformed_share=0.002)
    staff = _Staff(directory, seed)
    state, offsets, until = RuleState(), Counter(), None
    totals = Counter()
    for now, batch in _slices(messages, start, timedelta(seconds=step_s),
                              start + timedelta(hours=hours)):
        raw = []
        for m in batch:
            raw.append(RawMessage(PREFIX + m.topic_suffix, 0, offsets[m.topic_suffix], m.key,
                                  m.value, m.topic_suffix))
            offsets[m.topic_suffix] += 1
        outcome = process(raw, city, now)
        commands = _commands(staff.due(now))

        def slice_(cur, raw=raw, outcome=outcome, commands=commands, now=now, before=state,
                   decided=until):
            stored = store_outcome(cur, outcome, raw, PREFIX)
            new_state, changes = before, []
            if rules is not None:
                new_state, changes = decide_alerts(cur, rules, before, PREFIX, city.regions)
            if episodes is not None:
                decided = decide_episodes(cur, episodes, city.regions, decided, PREFIX).until
            decide_and_store_cases(cur, directory, commands, stored.table, changes, now,
                                   PREFIX)
            return stored, new_state, len(changes), decided

        stored, state, changes, until = store.write(slice_)
        totals.update(events=stored.events, dead_letters=stored.dead_letters,
                      alert_changes=changes, commands=len(commands))
        staff.replan(store.cursor())
    return _summary(store, totals)


def _summary(store: Store, totals: Counter) -> DemoDay:
    cur = store.cursor()
    states = dict(cur.execute("SELECT state, count(DISTINCT case_id) FROM case_log "
                              "GROUP BY state ORDER BY state").fetchall())
    refused = cur.execute("SELECT count(*) FROM case_commands WHERE outcome = 'rejected'"
                          ).fetchall()[0][0]
    return DemoDay(totals["events"], totals["dead_letters"], totals["alert_changes"],
                   totals["commands"], refused, states)
