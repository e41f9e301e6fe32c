"""Cases driven only through `onegrid.commands` on the real broker, as the dashboard will.

One engine runs for the module (joining a consumer group takes seconds) with a
clock the tests move; each test opens its own cases from incident reports and
acts on them with command messages, then reads the answers from the store the
engine writes and from `onegrid.cases`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import h3
import pytest
from kafka import KafkaConsumer, KafkaProducer

from onegrid.alerts.directory import load_directory
from onegrid.geo import case_store
from onegrid.geo.store import Store
from onegrid.streams.broker import create_topics
from onegrid.streams.consumer import EngineConfig, EngineRunner
from tests.alerts.casekit import CATEGORY, COMMAND, GRID, LEAD, LEAD_STAFF, NEIGHBOUR, WORKER

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WAIT_S = 30.0


class Clock:
    """The engine's clock, moved by the tests."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Live:
    """A running engine with its store, clock and a producer for reports and commands."""

    def __init__(self, broker: str, prefix: str, store: Store, clock: Clock, demo_city):
        self.broker, self.prefix, self.store, self.clock = broker, prefix, store, clock
        self.city = demo_city
        self.producer = KafkaProducer(bootstrap_servers=broker, linger_ms=1)

    def report(self, category: str = CATEGORY, grid: str = GRID, nth_cell: int = 0,
               minute: float = 0, source: str = "hotline") -> str:
        """Send an incident report at a cell of `grid`; return its id."""
        lat, lng = h3.cell_to_latlng(h3.int_to_str(self.cells(grid)[nth_cell]))
        report_id = f"r-{uuid.uuid4().hex[:10]}"
        event = {"id": report_id, "ts": (T0 + timedelta(minutes=minute)).isoformat(),
                 "lat": lat, "lng": lng, "category": category, "source": source,
                 "description": "市民反映", "reporter": {"name": "张三", "phone": "13900000000"}}
        self.producer.send(self.prefix + "incident", json.dumps(event).encode())
        self.producer.flush()
        return report_id

    def command(self, case_id: str | None, action: str, actor: str, minute: float = 1,
                **fields) -> str:
        """Send a command message; return its id."""
        command_id = f"c-{uuid.uuid4().hex[:10]}"
        message = {"command_id": command_id, "case_id": case_id, "action": action,
                   "actor": actor, "at": (T0 + timedelta(minutes=minute)).isoformat(),
                   **fields}
        self.producer.send(self.prefix + "commands", json.dumps(message).encode(),
                           key=(case_id or command_id).encode())
        self.producer.flush()
        return command_id

    def cells(self, grid: str) -> list[int]:
        regions = self.city.regions
        return [int(c) for c in regions.cells[regions.cell_ids["grid_id"] == grid]]

    def rows(self, sql: str, params: list) -> list[tuple]:
        return self.store.cursor().execute(sql, params).fetchall()

    def wait(self, what: str, fn):
        """Return fn()'s first truthy value, polling the store; fail after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            value = fn()
            if value:
                return value
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {what}")

    def case_of(self, report_id: str) -> str:
        return self.wait(f"a case for report {report_id}", lambda: next(iter(self.rows(
            "SELECT case_id FROM case_sources WHERE source_id = ?", [report_id])), (None,))[0])

    def case(self, case_id: str) -> dict:
        rows = case_store.read_cases(self.store.cursor(), [case_id])
        return rows[0] if rows else {}

    def answer(self, command_id: str) -> tuple[str, str | None, str | None]:
        """Return (outcome, code, reason) of a processed command."""
        return self.wait(f"the answer to {command_id}", lambda: next(iter(self.rows(
            "SELECT outcome, code, reason FROM case_commands WHERE command_id = ?",
            [command_id])), None))

    def applied(self, case_id: str | None, action: str, actor: str, **fields) -> str:
        command_id = self.command(case_id, action, actor, **fields)
        outcome, code, reason = self.answer(command_id)
        assert outcome == "applied", f"{action} by {actor} refused: {code}: {reason}"
        return command_id

    def refused(self, case_id: str | None, action: str, actor: str, **fields) -> str:
        """Send a command that must be refused; return its code."""
        before = self.case(case_id) if case_id else {}
        outcome, code, reason = self.answer(self.command(case_id, action, actor, **fields))
        assert outcome == "rejected", f"{action} by {actor} was applied"
        assert reason, "a refusal says why"
        if case_id:
            assert self.case(case_id)["seq"] == before["seq"], "a refused command changes nothing"
        return code

    def log(self, case_id: str) -> list[tuple]:
        return self.rows('SELECT seq, action, actor, state, department, reason FROM case_log '
                         'WHERE case_id = ? ORDER BY seq', [case_id])


@pytest.fixture(scope="module")
def live(broker, tmp_path_factory, demo_city):
    prefix = f"cases-{uuid.uuid4().hex[:6]}."
    create_topics(broker, prefix=prefix)
    path = tmp_path_factory.mktemp("cases") / "engine.duckdb"
    store = Store(path)
    clock = Clock(T0 + timedelta(hours=2))  # reports up to 2 h 5 min after T0 are not "future"
    config = EngineConfig(bootstrap=broker, prefix=prefix, group_id=f"g-{uuid.uuid4().hex[:6]}",
                          session_timeout_ms=6000)
    runner = EngineRunner(config, demo_city, store, clock=clock, out=None,
                          cases=load_directory(demo_city.registry, demo_city.regions))
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    handle = Live(broker, prefix, store, clock, demo_city)
    handle.path, handle.runner, handle.thread = path, runner, thread
    yield handle
    runner.stop()
    thread.join(60)
    handle.producer.close()
    store.close()


def _to_resolved(live: Live, minute: float = 0) -> str:
    """Open a case from a report and take it to `resolved` by the lead department."""
    case_id = live.case_of(live.report(minute=minute))
    live.applied(case_id, "dispatch", COMMAND, department=LEAD, minute=minute + 2)
    live.applied(case_id, "accept", LEAD_STAFF, minute=minute + 3)
    live.applied(case_id, "start", LEAD_STAFF, minute=minute + 4)
    live.applied(case_id, "resolve", LEAD_STAFF, note="清运完毕", minute=minute + 30)
    return case_id


def test_a_report_runs_the_whole_lifecycle_through_commands(live):
    case_id = _to_resolved(live)
    live.applied(case_id, "verify", WORKER, minute=40)
    live.applied(case_id, "close", COMMAND, minute=41)
    live.applied(case_id, "feedback", COMMAND, satisfaction="satisfied", minute=60)
    case = live.case(case_id)
    assert case["state"] == "closed" and case["department"] == LEAD
    assert case["satisfaction"] == "satisfied"
    actions = [row[1] for row in live.log(case_id)]
    assert actions[-7:] == ["dispatch", "accept", "start", "resolve", "verify", "close",
                            "feedback"]
    # Every change is on onegrid.cases, in order, under the case's key.
    consumer = KafkaConsumer(live.prefix + "cases", bootstrap_servers=live.broker,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    published = [json.loads(r.value) for r in consumer if r.key == case_id.encode()]
    consumer.close()
    assert [m["seq"] for m in published] == list(range(1, len(actions) + 1))
    assert [m["type"] for m in published][-2:] == ["close", "feedback"]


def test_the_handler_cannot_verify_their_own_case(live):
    case_id = _to_resolved(live, minute=5)
    code = live.refused(case_id, "verify", LEAD_STAFF, minute=40)
    assert code in ("self_verify", "not_allowed")
    live.applied(case_id, "verify", COMMAND, minute=41)
    assert live.case(case_id)["state"] == "verified"


def test_repeated_returns_go_to_arbitration_and_then_the_fallback_owner(live):
    case_id = live.case_of(live.report(grid="CN-01-01-02", minute=10))
    for n in range(2):
        live.applied(case_id, "dispatch", COMMAND, department=LEAD, minute=12 + 3 * n)
        live.applied(case_id, "return", LEAD_STAFF, reason="不属于本部门职责",
                     reason_code="not_our_remit", minute=13 + 3 * n)
    case = live.case(case_id)
    assert case["state"] == "arbitration" and case["returns"] == 2
    live.applied(case_id, "arbitrate", COMMAND, reason="兜底处置", minute=30)
    case = live.case(case_id)
    assert case["state"] == "dispatched"
    assert case["department"] == "CN-zhzx", "the district's fallback owner (兜底) takes it"


def test_dispatch_outside_the_remit_is_refused_unless_overridden_with_a_reason(live):
    case_id = live.case_of(live.report(grid="CN-01-02-01", minute=20))
    assert live.refused(case_id, "dispatch", COMMAND, department="CN-sw",
                        minute=21) == "remit_refused"
    assert live.refused(case_id, "override", COMMAND, department="CN-sw",
                        minute=22) == "missing_reason"
    live.applied(case_id, "override", COMMAND, department="CN-sw", minute=23,
                 reason="暴雨期间水务所统一处置")
    case = live.case(case_id)
    assert case["state"] == "dispatched" and case["department"] == "CN-sw"
    last = live.log(case_id)[-1]
    assert last[1] == "override" and last[2] == COMMAND and "暴雨" in last[5]


def test_a_grid_worker_cannot_dispatch(live):
    case_id = live.case_of(live.report(grid="CN-01-02-02", minute=24))
    assert live.refused(case_id, "dispatch", WORKER, department=LEAD, minute=25) \
        == "not_allowed"


def test_nearby_duplicate_reports_make_one_case(live):
    first = live.report(grid="CN-01-03-01", nth_cell=0, minute=30)
    case_id = live.case_of(first)
    second = live.report(grid="CN-01-03-01", nth_cell=0, minute=34)
    assert live.case_of(second) == case_id
    sources = live.rows("SELECT source_id FROM case_sources WHERE case_id = ? ORDER BY \"at\"",
                        [case_id])
    assert [s[0] for s in sources] == [first, second]


def test_a_closed_case_reopens_to_the_same_department(live):
    case_id = _to_resolved(live, minute=50)
    live.applied(case_id, "verify", NEIGHBOUR, minute=90)
    live.applied(case_id, "close", COMMAND, minute=91)
    live.applied(case_id, "reopen", COMMAND, reason="市民回访仍有垃圾", minute=95)
    case = live.case(case_id)
    assert case["state"] == "reopened" and case["department"] == LEAD
    assert case["reopens"] == 1


def test_of_two_actors_acting_at_once_one_wins_and_the_other_is_told(live):
    case_id = live.case_of(live.report(grid="CN-01-04-01", minute=60))
    live.applied(case_id, "dispatch", COMMAND, department=LEAD, minute=61)
    seen = live.case(case_id)["seq"]
    first = live.command(case_id, "accept", LEAD_STAFF, minute=62, expected_seq=seen)
    second = live.command(case_id, "return", LEAD_STAFF, minute=62, expected_seq=seen,
                          reason="重复", reason_code="duplicate")
    outcomes = [live.answer(first), live.answer(second)]
    assert [o[0] for o in outcomes] == ["applied", "rejected"]
    assert outcomes[1][1] == "stale" and str(seen) in outcomes[1][2]


def test_an_overdue_case_climbs_the_escalation_ladder_as_the_clock_moves(live):
    case_id = live.case_of(live.report(category="pipe_burst", grid="CN-02-01-01", minute=70))
    case = live.wait("auto-dispatch of an urgent report",
                     lambda: (c := live.case(case_id)) and c["state"] == "dispatched" and c)
    assert case["due_at"] is not None
    live.clock.now = T0 + timedelta(hours=9)  # a 2 h limit, long past
    live.wait("an escalation", lambda: live.case(case_id)["escalation_level"] >= 1)
    assert "escalate" in [row[1] for row in live.log(case_id)]


def test_a_malformed_command_is_a_dead_letter_and_changes_nothing(live):
    live.producer.send(live.prefix + "commands", b'{"command_id": "x", "action": "fly"}')
    live.producer.flush()
    letters = live.wait("the dead letter", lambda: live.rows(
        "SELECT error_code, reason FROM dead_letters WHERE topic = ?",
        [live.prefix + "commands"]))
    assert letters[0][0] in ("missing_field", "out_of_range")


def test_audit_verify_names_the_changed_case_log_row(live):
    """Last in the module: it stops the engine to read the file from another process."""
    _to_resolved(live, minute=100)
    live.runner.stop()
    live.thread.join(60)
    live.store.close()
    verify = [sys.executable, "-m", "onegrid.cli", "audit", "verify", "--db", str(live.path)]
    intact = subprocess.run(verify, capture_output=True, text=True)
    assert intact.returncode == 0, intact.stderr
    with Store(live.path) as store:
        cur = store.cursor()
        case_id, seq = cur.execute("SELECT case_id, seq FROM case_log ORDER BY log_seq "
                                   "LIMIT 1 OFFSET 3").fetchall()[0]
        cur.execute("UPDATE case_log SET reason = 'changed' WHERE case_id = ? AND seq = ?",
                    [case_id, seq])
    broken = subprocess.run(verify, capture_output=True, text=True)
    assert broken.returncode == 1, broken.stderr
    assert f"case {case_id} seq {seq}" in broken.stdout
