"""Crash tests: `onegrid run` killed with SIGKILL mid-stream and restarted ends
with every event stored exactly once and every dead letter recorded once."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
from kafka import KafkaProducer
from kafka.coordinator.consumer import ConsumerCoordinator

from onegrid.geo.store import Store
from onegrid.streams.consumer import EngineConfig, EngineRunner

from .kafka_helpers import produce

pytestmark = [pytest.mark.broker, pytest.mark.slow]

N_GOOD = 120_000
BAD_EVERY = 500  # one malformed message after every 500 good ones
STORED_SOME = re.compile(r"onegrid engine: [1-9]")  # a status line with events stored


def stream(city):
    sensors = list(city.registry.sensors.values())
    ts = int(datetime(2026, 6, 1, 4, 0, tzinfo=UTC).timestamp() * 1000)
    for i in range(N_GOOD):
        s = sensors[i % len(sensors)]
        value = json.dumps({"id": f"ev-{i}", "ts": ts + i * 10, "sensor_id": s.sensor_id,
                            "metric": s.metric, "value": float(i % 97)}).encode()
        yield "sensor", s.sensor_id.encode(), value
        if i % BAD_EVERY == BAD_EVERY - 1:
            yield "sensor", s.sensor_id.encode(), b'{"id": "broken-' + str(i).encode() + b'"'


def engine_cmd(bootstrap: str, prefix: str, db, group: str, idle: float) -> list[str]:
    return [sys.executable, "-m", "onegrid.cli", "run", "--bootstrap", bootstrap,
            "--prefix", prefix, "--db", str(db), "--group", group,
            "--session-timeout-ms", "6000", "--until-idle", str(idle)]


def stored_counts(db) -> tuple[int, int, int]:
    with Store(db) as s:
        return (s.scalar("SELECT count(*) FROM events"),
                s.scalar("SELECT count(DISTINCT id) FROM events"),
                s.scalar("SELECT count(*) FROM dead_letters"))


def wait_until_stored(proc: subprocess.Popen, timeout_s: float) -> None:
    """Wait until the engine's live line shows it has stored something (or it exits)."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout_s
    while not any(STORED_SOME.match(line) for line in list(lines)) \
            and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


class Trickle(threading.Thread):
    """Produce the stream slowly until told to finish, then send the rest at once.

    While the kills happen part of the stream is still unsent, so a kill after the
    first store always lands mid-stream, however fast the engine drains a backlog;
    and the engine is busy with fresh batches when it is killed, not idle."""

    def __init__(self, bootstrap: str, prefix: str, items, chunk: int = 200,
                 pause_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.prefix, self.items = prefix, iter(items)
        self.chunk, self.pause_s = chunk, pause_s
        self.producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
        self.finish = threading.Event()

    def run(self) -> None:
        sent_all = False
        while not self.finish.is_set() and not sent_all:
            sent_all = self._send(self.chunk) < self.chunk
            self.producer.flush()
            self.finish.wait(self.pause_s)
        self._send(None)
        self.producer.flush()
        self.producer.close()

    def _send(self, n: int | None) -> int:
        count = 0
        for suffix, key, value in itertools.islice(self.items, n):
            self.producer.send(self.prefix + suffix, key=key, value=value)
            count += 1
        return count


def test_engine_killed_mid_stream_stores_every_event_exactly_once(
        broker, topics, group_factory, tmp_path, demo_city):
    items = stream(demo_city)
    produce(broker, topics, itertools.islice(items, N_GOOD // 5))
    trickle = Trickle(broker, topics, items)
    trickle.start()
    db, group = tmp_path / "node.duckdb", group_factory("crash")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    progress = []
    # Kill at different points: during the group join, then twice mid-stream,
    # a moment after each restart has stored its first batches (measured from that,
    # not from the start: on a busy machine a join alone can take longer than a
    # fixed delay). Each restart resumes from the offsets stored with the data.
    for after_first_store in (None, 0.0, 0.5):
        proc = subprocess.Popen(engine_cmd(broker, topics, db, group, idle=30), env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if after_first_store is None:
            time.sleep(2.0)  # still joining the group
        else:
            wait_until_stored(proc, timeout_s=20)
            time.sleep(after_first_store)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        progress.append(stored_counts(db))
    trickle.finish.set()
    trickle.join(120)
    assert not trickle.is_alive()
    done = subprocess.run(engine_cmd(broker, topics, db, group, idle=3), env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    total, distinct, letters = stored_counts(db)
    with Store(db) as s:
        offsets = s.offsets()
    assert (total, distinct) == (N_GOOD, N_GOOD), (offsets, done.stderr[-1500:])
    assert letters == N_GOOD // BAD_EVERY
    with Store(db) as s:
        assert s.scalar('SELECT count(*) FROM (SELECT DISTINCT topic, "partition", "offset" '
                        "FROM dead_letters)") == letters
    # At least one kill landed mid-stream (some stored, not all), else the
    # test proved nothing about crashes.
    assert any(0 < n < N_GOOD for n, _, _ in progress), progress
    assert progress[-1][0] > progress[0][0], progress  # the restarts made progress


def test_sigterm_stops_the_engine_cleanly_and_loses_nothing(
        broker, topics, group_factory, tmp_path, demo_city):
    produce(broker, topics, stream(demo_city))
    db, group = tmp_path / "node.duckdb", group_factory("term")
    proc = subprocess.Popen(engine_cmd(broker, topics, db, group, idle=60),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    # Stop it once it has stored something, not after a fixed sleep: on a slow
    # machine 6 s can end before the signal handler is installed (exit -15)
    # or before the first batch (nothing stored). Stopping mid-join has its own
    # test below.
    lines = []
    reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while not any(STORED_SOME.match(line) for line in list(lines)) \
            and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    reader.join(10)
    err = "".join(lines)
    assert proc.returncode == 0, err[-1500:]
    assert "onegrid run: stored" in err
    first, _, _ = stored_counts(db)
    done = subprocess.run(engine_cmd(broker, topics, db, group, idle=3),
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-1500:]
    total, distinct, letters = stored_counts(db)
    assert (total, distinct, letters) == (N_GOOD, N_GOOD, N_GOOD // BAD_EVERY)
    assert 0 < first <= N_GOOD


def test_an_engine_stopped_mid_join_leaves_the_group_joinable(
        broker, topics, group_factory, store, demo_city, monkeypatch):
    # The first engine stops after its JoinGroup made it the group's leader and
    # before its SyncGroup, the instant a SIGTERM during startup can land in.
    # Had it left the group there, the embedded broker would keep it as leader
    # and the next engine would wait for an assignment forever.
    original = ConsumerCoordinator._perform_assignment
    stopped = []

    def stop_once(self, *args):
        if not stopped:
            stopped.append(True)
            raise RuntimeError("stopped mid-join")
        return original(self, *args)

    monkeypatch.setattr(ConsumerCoordinator, "_perform_assignment", stop_once)
    config = EngineConfig(bootstrap=broker, prefix=topics, group_id=group_factory("midjoin"),
                          session_timeout_ms=6000, until_idle_s=1.0)
    with pytest.raises(RuntimeError, match="stopped mid-join"):
        EngineRunner(config, demo_city, store, out=None).run()
    second = EngineRunner(config, demo_city, store, out=None)
    thread = threading.Thread(target=second.run, daemon=True)
    thread.start()
    thread.join(120)  # a bound for a hang, not a timing: the join takes seconds
    second.stop()
    thread.join(30)
    assert second.assigned_at is not None, "the second engine never got its partitions"
