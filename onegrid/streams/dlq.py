"""Dead-letter replay: re-send dead letters to their source topics once fixed.

A dead letter is refused for a cause someone can fix (a category added, a
sensor registered). Replay reads the DLQ topic, not the store (the engine owns
its DuckDB file while it runs): each record's headers name its source topic,
and its value is the message exactly as first sent. The engine validates the
re-sent message like any other; an event that was stored meanwhile comes back
as `duplicate_id`, so a replay can never store anything twice.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from kafka import KafkaConsumer, TopicPartition

from onegrid.streams.contract import DLQ, topic_name
from onegrid.streams.producer import make_producer


@dataclass
class ReplayReport:
    """What a replay did, per error code."""

    sent: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)

    def summary(self) -> str:
        """Return one line a person can read."""
        sent = ", ".join(f"{c} {n}" for c, n in sorted(self.sent.items())) or "none"
        return (f"re-sent {sum(self.sent.values())} dead letters ({sent}); "
                f"left {sum(self.skipped.values())} that did not match")


def read_dead_letters(bootstrap: str, prefix: str, idle_s: float = 2.0,
                      **client_config) -> Iterator:
    """Yield every record of the DLQ topic from its start, then stop once idle.

    Reads without a consumer group (nothing is committed), and stops after
    `idle_s` with nothing new, because the embedded broker's end offsets
    cannot be trusted.
    """
    topic = topic_name(DLQ, prefix)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, **client_config)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        assigned = [TopicPartition(topic, p) for p in sorted(parts)]
        consumer.assign(assigned)
        consumer.seek_to_beginning(*assigned)
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle_s:
            batch = consumer.poll(timeout_ms=200)
            for records in batch.values():
                quiet_since = time.monotonic()
                yield from records
    finally:
        consumer.close()


def _header(record, name: str) -> str | None:
    value = dict(record.headers or []).get(name)
    return value.decode("utf-8", "replace") if value is not None else None


def _matches(record, codes: set[str] | None, since_ms: int | None) -> bool:
    if since_ms is not None and record.timestamp < since_ms:
        return False
    return codes is None or _header(record, "onegrid.error_code") in codes


def replay_dead_letters(bootstrap: str, prefix: str, *, codes: set[str] | None = None,
                        since: datetime | None = None, dry_run: bool = False,
                        **client_config) -> ReplayReport:
    """Re-send matching dead letters, unchanged, to the topics they came from.

    `codes` limits the replay to those error codes (e.g. {"unknown_category"});
    `since` to dead letters written at or after that time. Each re-sent message
    carries a header `onegrid.replayed_from` naming its DLQ partition and offset.
    """
    report = ReplayReport()
    since_ms = int(since.timestamp() * 1000) if since else None
    producer = None if dry_run else make_producer(bootstrap, **client_config)
    try:
        for record in read_dead_letters(bootstrap, prefix, **client_config):
            code = _header(record, "onegrid.error_code") or "unknown"
            source = _header(record, "onegrid.topic")
            if source is None or not _matches(record, codes, since_ms):
                report.skipped[code] += 1
                continue
            if producer is not None:
                origin = f"{record.topic}:{record.partition}:{record.offset}".encode()
                producer.send(source, key=record.key, value=record.value,
                              headers=[("onegrid.replayed_from", origin)])
            report.sent[code] += 1
        if producer is not None:
            producer.flush()
    finally:
        if producer is not None:
            producer.close()
    return report
