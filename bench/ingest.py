"""Benchmark: engine ingest rate against a bare kafka-python consumer, one run.

Puts N messages (a realistic mix of the three input topics, 0.5% malformed) on
the embedded broker (or --bootstrap), times `onegrid run` draining them into a
fresh DuckDB file, and in the same run times a bare kafka-python consumer
reading the same topics with no processing. Both rates are from the first
record received to the last one handled, so group joins do not count. Prints
both rates and their ratio. The engine runs with --no-rules: this measures
ingest; bench/alerts.py measures what rules cost on top.

    python bench/ingest.py [-n 1000000] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from kafka import KafkaConsumer, KafkaProducer

from onegrid.geo.registry import load_registry
from onegrid.streams.broker import create_topics, start_broker
from onegrid.streams.contract import INPUT_TOPICS


def messages(n: int, seed: int = 1):
    """Yield (suffix, key, value): 70% sensor, 20% environment, 10% incident."""
    reg = load_registry()
    sensors, stations = list(reg.sensors.values()), list(reg.stations.values())
    cats = list(reg.categories)
    rng = np.random.default_rng(seed)
    kind = rng.random(n)
    lat = 31.15 + rng.random(n) * 0.2
    lng = 121.38 + rng.random(n) * 0.17
    t0 = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)
    for i in range(n):
        ts = t0 + i
        if kind[i] < 0.005:
            yield "sensor", b"bad", b'{"id": "bad-%d", "ts": ' % i
        elif kind[i] < 0.70:
            s = sensors[i % len(sensors)]
            yield "sensor", s.sensor_id.encode(), json.dumps({
                "id": f"s{i}", "ts": ts, "sensor_id": s.sensor_id, "metric": s.metric,
                "value": round(float(lat[i] * 3), 2)}).encode()
        elif kind[i] < 0.90:
            st = stations[i % len(stations)]
            yield "environment", st.station_id.encode(), json.dumps({
                "id": f"e{i}", "ts": ts, "station_id": st.station_id, "pm25": 35.0,
                "pm10": 60.0, "no2": 40.0, "o3": 80.0, "co": 0.7}).encode()
        else:
            yield "incident", b"hotline", json.dumps({
                "id": f"i{i}", "ts": datetime.fromtimestamp(ts / 1000, UTC).isoformat(),
                "lat": float(lat[i]), "lng": float(lng[i]), "category": cats[i % len(cats)],
                "source": "hotline", "description": "市民反映", "address": "某路某号",
                "reporter": {"name": "张三", "phone": "13900000000"}}).encode()


def produce(bootstrap: str, prefix: str, n: int) -> float:
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024)
    t = time.perf_counter()
    for suffix, key, value in messages(n):
        producer.send(prefix + suffix, key=key, value=value)
    producer.flush()
    producer.close()
    return time.perf_counter() - t


def bare_consume(bootstrap: str, prefix: str, n: int) -> float:
    """Return messages/s of a consumer group reading everything, doing nothing."""
    consumer = KafkaConsumer(*(prefix + s for s in INPUT_TOPICS), bootstrap_servers=bootstrap,
                             group_id=f"bare-{uuid.uuid4().hex[:6]}",
                             auto_offset_reset="earliest",
                             enable_auto_commit=False, session_timeout_ms=8000,
                             heartbeat_interval_ms=2000, max_poll_records=10_000,
                             fetch_max_bytes=64 * 1024 * 1024,
                             max_partition_fetch_bytes=8 * 1024 * 1024)
    seen, first = 0, None
    while seen < n:
        batch = consumer.poll(timeout_ms=500)
        if batch and first is None:
            first = time.perf_counter()
        seen += sum(len(v) for v in batch.values())
    last = time.perf_counter()
    consumer.close()
    return n / (last - first)


def engine_consume(bootstrap: str, prefix: str, n: int, db: Path,
                   extra: list[str] | None = None) -> tuple[float, str]:
    """Run `onegrid run` until idle; return its messages/s and its final line."""
    proc = subprocess.run(
        [sys.executable, "-m", "onegrid.cli", "-v", "run", "--bootstrap", bootstrap,
         "--prefix", prefix, "--db", str(db), "--group", f"engine-{uuid.uuid4().hex[:6]}",
         # ingest alone; bench/alerts.py prices rules
         "--until-idle", "3", "--no-rules", "--no-cases", "--no-episodes", *(extra or [])],
        capture_output=True, text=True, check=True)
    lines = proc.stderr.strip().splitlines()
    final = lines[-1]
    print("  " + next((x for x in lines if "time in poll" in x), "").split(": ", 1)[-1])
    match = re.search(r"\(([\d,]+) messages/s\)", final)
    if not match:
        raise SystemExit(f"could not read the engine's rate from: {final}")
    return float(match.group(1).replace(",", "")), final


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1_000_000)
    ap.add_argument("--bootstrap", default=None)
    ap.add_argument("--db-threads", type=int, default=None,
                    help="DuckDB threads for the engine (default: DuckDB's own choice)")
    args = ap.parse_args()
    broker = None if args.bootstrap else start_broker()
    bootstrap = args.bootstrap or broker.bootstrap
    try:
        prefix = f"bench-{uuid.uuid4().hex[:6]}."
        create_topics(bootstrap, prefix=prefix)
        took = produce(bootstrap, prefix, args.n)
        print(f"produced {args.n:,} messages in {took:.1f} s")
        bare = bare_consume(bootstrap, prefix, args.n)
        print(f"bare kafka-python consumer: {bare:,.0f} messages/s")
        with tempfile.TemporaryDirectory() as tmp:
            extra = ["--db-threads", str(args.db_threads)] if args.db_threads else []
            rate, final = engine_consume(bootstrap, prefix, args.n, Path(tmp) / "bench.duckdb",
                                         extra)
        print(f"onegrid run (validate, H3, regions, DuckDB, offsets): {rate:,.0f} messages/s")
        print(f"  {final}")
        print(f"ratio engine / bare: {rate / bare:.2f}")
    finally:
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
