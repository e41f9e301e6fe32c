"""Small helpers for tests that talk to the real broker."""

from __future__ import annotations

import json
from collections.abc import Iterable

from kafka import KafkaConsumer, KafkaProducer


def produce(bootstrap: str, prefix: str, items: Iterable[tuple[str, bytes | None, bytes | None]]
            ) -> int:
    """Send (topic suffix, key, value) items and flush; return how many were sent."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=2)
    n = 0
    for suffix, key, value in items:
        producer.send(prefix + suffix, key=key, value=value)
        n += 1
    producer.flush()
    producer.close()
    return n


def consume_all(bootstrap: str, topic: str, expected: int, timeout_s: float = 30.0) -> list:
    """Read a topic from the start until `expected` records arrive or time runs out."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=int(timeout_s * 1000))
    out = []
    for record in consumer:
        out.append(record)
        if len(out) >= expected:
            break
    consumer.close()
    return out


def event(**fields) -> bytes:
    """Encode an event dict as the JSON bytes a producer would send."""
    return json.dumps(fields, ensure_ascii=False).encode()
