"""Producing input messages to Kafka: a throughput-minded producer and a paced send loop.

`make_producer` builds a `kafka.KafkaProducer` tuned for streams of small
messages; `send_messages` sends `SimMessage`s (from the simulator or a replay
file) to prefix + topic suffix, optionally paced to their send times, and
fails loudly if any message was not delivered. It knows nothing of what the
messages mean. (Publishing the engine's outputs may join this module later.)
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterable, Sized
from typing import Any, Final

from kafka import KafkaProducer
from tqdm import tqdm

from onegrid.streams.contract import TOPIC_PREFIX_DEFAULT
from onegrid.streams.simulator import SimMessage

_PROGRESS_EVERY: Final = 1024  # messages between progress-bar updates
_MIN_SLEEP_S: Final = 0.002  # shorter waits are not worth a sleep call


class SendError(RuntimeError):
    """Some messages were not delivered; the message says how many and the first error."""


def make_producer(bootstrap: str, **overrides: Any) -> KafkaProducer:
    """Return a KafkaProducer for `bootstrap` (HOST:PORT[,...]) tuned for throughput.

    Batches fill for up to 10 ms (256 KiB each) before they go; lz4
    compression is used when the lz4 package is installed; every message is
    acknowledged by all in-sync replicas. `overrides` are KafkaProducer
    settings (e.g. security_protocol, sasl_mechanism, acks) and win.
    """
    config: dict[str, Any] = {
        "bootstrap_servers": bootstrap,
        "client_id": "onegrid-producer",
        "acks": "all",
        "linger_ms": 10,
        "batch_size": 256 * 1024,
        "compression_type": "lz4" if importlib.util.find_spec("lz4") else None,
    }
    config.update(overrides)
    return KafkaProducer(**config)


class _Pacer:
    """Holds messages back so message i goes at wall start + (ts_i - ts_0) / pace."""

    def __init__(self, pace: float):
        if not pace > 0:
            raise ValueError(f"pace must be > 0 (1.0 is real time), got {pace}")
        self.pace = pace
        self.first_ts: int | None = None
        self.wall0 = 0.0

    def wait(self, ts_ms: int) -> None:
        if self.first_ts is None:
            self.first_ts, self.wall0 = ts_ms, time.monotonic()
            return
        ahead = self.wall0 + (ts_ms - self.first_ts) / 1000.0 / self.pace - time.monotonic()
        if ahead > _MIN_SLEEP_S:
            time.sleep(ahead)


class _Failures:
    """Counts failed deliveries (called back from the producer's I/O thread)."""

    def __init__(self) -> None:
        self.count = 0
        self.first: BaseException | None = None

    def add(self, exc: BaseException) -> None:
        self.count += 1
        if self.first is None:
            self.first = exc


def send_messages(producer: KafkaProducer, messages: Iterable[SimMessage],
                  prefix: str = TOPIC_PREFIX_DEFAULT, *, pace: float | None = None,
                  progress: bool = False) -> int:
    """Send each message to prefix + its topic suffix, flush, and return how many were sent.

    `pace` = 1.0 replays at real time by the messages' `ts_ms`, 10.0 ten
    times faster; None sends as fast as the producer takes them. Raises
    `SendError` after the flush if any message was not delivered.
    """
    pacer = _Pacer(pace) if pace is not None else None
    failures = _Failures()
    topics: dict[str, str] = {}  # suffix -> full topic name
    total = len(messages) if isinstance(messages, Sized) else None
    n = 0
    with tqdm(total=total, unit="msg", disable=not progress, mininterval=0.5) as bar:
        for msg in messages:
            if pacer is not None:
                pacer.wait(msg.ts_ms)
            topic = topics.get(msg.topic_suffix)
            if topic is None:
                topic = topics[msg.topic_suffix] = prefix + msg.topic_suffix
            producer.send(topic, value=msg.value, key=msg.key or None).add_errback(failures.add)
            n += 1
            if n % _PROGRESS_EVERY == 0:
                bar.update(_PROGRESS_EVERY)
        producer.flush()
        bar.update(n % _PROGRESS_EVERY)
    if failures.count:
        raise SendError(f"{failures.count} of {n} messages were not delivered; "
                        f"first error: {failures.first!r}")
    return n
