"""Benchmark: what rules cost the engine, and how fast an alert reaches the topic.

1. Throughput, one run: N simulated demo-city messages drained by `onegrid run`
   with no rules, then by another engine with the demo rules plus 50 more; the
   ratio of their rates (goal >= 0.8).
2. Latency: simulated traffic at 1,000 events/s in real time, with trigger
   readings (smoke alarms, one per detector) mixed in; for each trigger, the
   time from its produce call to its alert on `onegrid.alerts`; p50/p99 (goal
   p99 <= 1 s). Once with rules only, once with cases on as well. With
   --history-s, the engine's store first holds that much earlier traffic at the
   same rate (written through the engine's own write path), so windows are full
   and the tables the size a running city has: the steady state, not a fresh file.

    python bench/alerts.py [-n 300000] [--latency-s 60] [--history-s 3600]
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from kafka import KafkaConsumer

from onegrid.geo.regions import load_regions
from onegrid.geo.registry import load_registry
from onegrid.geo.store import Store
from onegrid.streams.broker import create_topics, start_broker
from onegrid.streams.engine import City, Outcome, process, store_outcome
from onegrid.streams.producer import make_producer, send_messages
from onegrid.streams.rule_source import DEMO_RULES
from onegrid.streams.simulator import simulate
from onegrid.streams.validate import RawMessage


def more_rules(path: Path, n: int = 50) -> Path:
    """Write the demo rules plus `n` more (noise, water, air at other levels/scopes)."""
    text = DEMO_RULES.read_text(encoding="utf-8")
    templates = [
        ('noise_db', 'mean', '10m', 'cell', 9), ('traffic_flow', 'mean', '15m', 'cell', 8),
        ('pm10', 'mean', '1h', 'street', 10), ('no2', 'max', '30m', 'grid', 10),
        ('water_level_m', 'max', '10m', 'cell', 8),
    ]
    extra = []
    for i in range(n):
        metric, stat, window, scope, res = templates[i % len(templates)]
        threshold = 60 + i
        res_line = f"res = {res}\n" if scope == "cell" else ""
        extra.append(f'''
[[rule]]
id = "bench-{i:02d}"
kind = "threshold"
title_zh = "压测规则 {i}"
title_en = "Bench rule {i}"
metric = "{metric}"
stat = "{stat}"
window = "{window}"
scope = "{scope}"
{res_line}threshold = {threshold}
clear = {threshold - 5}
for = "2m"
clear_for = "5m"
''')
    path.write_text(text + "".join(extra), encoding="utf-8")
    return path


def produce_simulated(bootstrap: str, prefix: str, n: int, rate: float = 2000.0) -> int:
    start = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    messages = simulate(load_registry(), rate=rate, duration_s=n / rate, seed=3, start=start,
                        malformed_share=0.0)
    producer = make_producer(bootstrap)
    try:
        return send_messages(producer, messages, prefix)
    finally:
        producer.close()


def drain(bootstrap: str, prefix: str, db: Path, engine_args: list[str]) -> tuple[float, str]:
    """Run `onegrid run` until idle with `engine_args`; return its messages/s and final line."""
    cmd = [sys.executable, "-m", "onegrid.cli", "-v", "run", "--bootstrap", bootstrap,
           "--prefix", prefix, "--db", str(db), "--group", f"g-{uuid.uuid4().hex[:6]}",
           "--until-idle", "3", *engine_args]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"engine failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    final = proc.stderr.strip().splitlines()[-1]
    rate = re.search(r"\(([\d,]+) messages/s\)", final)
    if not rate:
        raise SystemExit(f"no rate in: {final}")
    return float(rate.group(1).replace(",", "")), final


def throughput(bootstrap: str, n: int, rules: Path) -> None:
    prefix = f"bt-{uuid.uuid4().hex[:6]}."
    create_topics(bootstrap, prefix=prefix)
    sent = produce_simulated(bootstrap, prefix, n)
    print(f"produced {sent:,} simulated messages")
    with tempfile.TemporaryDirectory() as tmp:
        # --no-cases --no-episodes: this measures what rules cost; bench/cases.py
        # prices cases.
        quiet = ["--no-cases", "--no-episodes"]
        bare, _ = drain(bootstrap, prefix, Path(tmp) / "a.duckdb", [*quiet, "--no-rules"])
        ruled, final = drain(bootstrap, prefix, Path(tmp) / "b.duckdb",
                             [*quiet, "--rules", str(rules)])
    print(f"engine, no rules:                  {bare:,.0f} messages/s")
    print(f"engine, demo rules + 50 more:      {ruled:,.0f} messages/s   ({final})")
    print(f"throughput ratio rules / no rules: {ruled / bare:.2f}")


def _triggers(registry, start: datetime, seconds: float) -> list[tuple[float, str, str]]:
    """One smoke alarm per detector, spread over the run: (offset s, id, value)."""
    smoke = [s for s in registry.sensors.values() if s.metric == "smoke"]
    offsets = np.linspace(5, seconds - 5, len(smoke))
    return [(float(o), f"trigger-{s.sensor_id}-{uuid.uuid4().hex[:6]}", s.sensor_id)
            for o, s in zip(offsets, smoke, strict=True)]


def write_history(db: Path, city: City, end: datetime, seconds: float) -> int:
    """Store `seconds` of simulated traffic at 1,000 events/s ending at `end` in `db`, in
    the engine's batches and write path (not through Kafka: no offsets, no watermarks)."""
    messages = simulate(city.registry, rate=1000.0, duration_s=seconds, seed=4,
                        start=end - timedelta(seconds=seconds), malformed_share=0.0)
    stored, messages = 0, iter(messages)
    with Store(db) as store:
        while chunk := [RawMessage(m.topic_suffix, 0, i, m.key, m.value, m.topic_suffix)
                        for i, m in enumerate(itertools.islice(messages, 100_000))]:
            found = process(chunk, city, datetime.now(UTC))
            # No partition: history moves no watermark the live run's clock waits on.
            outcome = Outcome(found.events.drop_columns(["kafka_partition"]), found.rejections)
            stored += store.write(lambda cur, o=outcome, c=chunk: store_outcome(
                cur, o, c, "history.")).events
    return stored


def latency(bootstrap: str, seconds: float, cases: bool, history_s: float = 0.0) -> None:
    prefix = f"lt-{uuid.uuid4().hex[:6]}."
    create_topics(bootstrap, prefix=prefix)
    registry = load_registry()
    with tempfile.TemporaryDirectory() as tmp:
        history = ""
        if history_s:
            t0 = time.monotonic()
            city = City(registry, load_regions())
            n = write_history(Path(tmp) / "l.duckdb", city, datetime.now(UTC), history_s)
            history = f", after {history_s / 60:.0f} min of history ({n:,} events)"
            print(f"history: {n:,} events written in {time.monotonic() - t0:.0f} s")
        engine = subprocess.Popen(
            [sys.executable, "-m", "onegrid.cli", "run", "--bootstrap", bootstrap, "--prefix",
             prefix, "--db", str(Path(tmp) / "l.duckdb"), "--group", "lat",
             *([] if cases else ["--no-cases"])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(8)  # group join
        start = datetime.now(UTC)
        produced: dict[str, float] = {}
        background = simulate(registry, rate=1000.0, duration_s=seconds, seed=9, start=start,
                              malformed_share=0.0)
        producer = make_producer(bootstrap, linger_ms=1)
        feeder = threading.Thread(target=send_messages,
                                  args=(producer, background, prefix), kwargs={"pace": 1.0})
        feeder.start()
        t0 = time.monotonic()
        for offset, event_id, sensor_id in _triggers(registry, start, seconds):
            time.sleep(max(0.0, offset - (time.monotonic() - t0)))
            value = json.dumps({"id": event_id, "ts": int(time.time() * 1000),
                                "sensor_id": sensor_id, "metric": "smoke", "value": 1.0})
            produced[event_id] = time.time()
            producer.send(prefix + "sensor", key=sensor_id.encode(), value=value.encode())
        feeder.join()
        producer.flush()
        arrived = _alert_times(bootstrap, prefix + "alerts", set(produced), timeout_s=15)
        engine.terminate()
        engine.wait(30)
    lat = np.array([arrived[i] - produced[i] for i in produced if i in arrived])
    what = "rules and cases" if cases else "rules only (--no-cases)"
    print(f"latency, {what}{history}: {len(lat)} of {len(produced)} triggers alerted at "
          "~1,000 events/s; "
          f"p50 {np.percentile(lat, 50) * 1000:.0f} ms, p99 {np.percentile(lat, 99) * 1000:.0f} ms,"
          f" max {lat.max() * 1000:.0f} ms")


def _alert_times(bootstrap: str, topic: str, ids: set[str], timeout_s: float) -> dict[str, float]:
    """Return trigger id -> broker time its first alert was appended."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             group_id=None, consumer_timeout_ms=int(timeout_s * 1000))
    out: dict[str, float] = {}
    for record in consumer:
        msg = json.loads(record.value)
        for event_id in msg.get("evidence", []):
            if event_id in ids and event_id not in out:
                out[event_id] = record.timestamp / 1000
    consumer.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=300_000)
    ap.add_argument("--latency-s", type=float, default=60.0)
    ap.add_argument("--history-s", type=float, default=0.0,
                    help="earlier traffic in the engine's store before the latency runs")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--bootstrap", default=None)
    args = ap.parse_args()
    broker = None if args.bootstrap else start_broker()
    bootstrap = args.bootstrap or broker.bootstrap
    try:
        if not args.skip_throughput:
            with tempfile.TemporaryDirectory() as tmp:
                rules = more_rules(Path(tmp) / "rules.toml")
                throughput(bootstrap, args.n, rules)
        latency(bootstrap, args.latency_s, cases=False, history_s=args.history_s)
        # The simulator sends 20 % incident reports (200 a second here), each of
        # which opens or joins a case in the same transaction as the alerts.
        latency(bootstrap, args.latency_s, cases=True, history_s=args.history_s)
    finally:
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
