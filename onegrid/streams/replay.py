"""Replay files: JSON lines that become Kafka messages, and saving a simulated run as one.

A replay file (`.jsonl`, UTF-8 except inside malformed values) holds one
message per line, in one of two forms:

- a raw event, exactly the bytes to send, e.g. `{"id": "...", "sensor_id": ...}`.
  Its topic is chosen by the id field it carries: `sensor_id` -> sensor,
  `station_id` -> environment, `category` -> incident (checked in that
  order); its key is that source id (for an incident, its `source`). A line
  that is not a JSON object with one of those fields has no topic: it is
  reported and skipped, never guessed onto a topic.
- an envelope `{"topic": "sensor", "key": "S0001", "ts_ms": ..., "value": {...}}`
  (`write_jsonl` writes these). `value` holds the message verbatim when it is
  one line of valid JSON; otherwise `value_b64` holds its bytes in base64, so
  malformed messages survive a round trip byte for byte. `key_b64` does the
  same for a key that is not UTF-8; `ts_ms` (send time, for pacing) and
  `fault` (the simulator's label) are optional. Its topic must be an input
  topic or `commands`.

This module reads and writes files; `replay_file` hands the messages to
`producer.send_messages`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from onegrid.streams.contract import (
    COMMANDS,
    ENVIRONMENT,
    INCIDENT,
    INPUT_TOPICS,
    SENSOR,
    TOPIC_PREFIX_DEFAULT,
)
from onegrid.streams.producer import send_messages
from onegrid.streams.simulator import SimMessage

REPLAY_TOPICS: Final = (*INPUT_TOPICS, COMMANDS)
_ID_FIELDS: Final = (("sensor_id", SENSOR), ("station_id", ENVIRONMENT), ("category", INCIDENT))
_KEY_FIELD: Final = {SENSOR: "sensor_id", ENVIRONMENT: "station_id", INCIDENT: "source"}
_ENC: Final = msgspec.json.Encoder()


class _Envelope(msgspec.Struct, forbid_unknown_fields=True):
    """An envelope line; any other field makes the line a raw event instead."""

    topic: str
    key: str | None = None
    key_b64: str | None = None
    value: msgspec.Raw = msgspec.Raw(b"")
    value_b64: str | None = None
    ts_ms: int | None = None
    fault: str | None = None


_ENVELOPE: Final = msgspec.json.Decoder(_Envelope)


@dataclass(frozen=True)
class _Line:
    """One parsed line: its topic (None if it has none), key, value and send time."""

    topic: str | None
    key: bytes | None
    value: bytes
    ts_ms: int | None
    fault: str = ""
    reason: str = ""  # why the line has no topic


def _from_envelope(env: _Envelope, line: bytes) -> _Line:
    if env.value_b64 is not None:
        value = base64.b64decode(env.value_b64)
    elif len(env.value):
        value = bytes(env.value)
    else:
        return _Line(None, None, line, None, reason="envelope has neither value nor value_b64")
    key = (base64.b64decode(env.key_b64) if env.key_b64 is not None
           else env.key.encode() if env.key is not None else None)
    if env.topic not in REPLAY_TOPICS:
        return _Line(None, key, value, env.ts_ms,
                     reason=f"topic {env.topic!r} is not one of {', '.join(REPLAY_TOPICS)}")
    return _Line(env.topic, key, value, env.ts_ms, env.fault or "")


def _ts_ms(ts: object) -> int | None:
    """Return epoch ms of an event's ts (epoch ms or ISO-8601 with offset), else None."""
    if isinstance(ts, int) and not isinstance(ts, bool):
        return ts
    if isinstance(ts, str):
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            return None
        return int(parsed.timestamp() * 1000) if parsed.tzinfo else None
    return None


def _from_raw(line: bytes) -> _Line:
    try:
        doc = msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return _Line(None, None, line, None, reason="not a JSON document")
    if not isinstance(doc, dict):
        return _Line(None, None, line, None, reason="not a JSON object")
    topic = next((t for name, t in _ID_FIELDS if name in doc), None)
    if topic is None:
        return _Line(None, None, line, None,
                     reason="no sensor_id, station_id or category field to choose a topic by")
    key = doc.get(_KEY_FIELD[topic])
    return _Line(topic, key.encode() if isinstance(key, str) else None, line,
                 _ts_ms(doc.get("ts")))


def parse_line(line: bytes) -> _Line:
    """Return the parsed form of one replay line (without its line break)."""
    try:
        return _from_envelope(_ENVELOPE.decode(line), line)
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError):  # incl. bad UTF-8
        return _from_raw(line)


def _lines(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, bytes) of a file's non-blank lines, without line breaks."""
    # Binary mode: only b"\n" ends a line, and malformed bytes reach us untouched.
    with Path(path).open("rb") as f:
        for number, raw in enumerate(f, start=1):
            line = raw.rstrip(b"\r\n")
            if line.strip():
                yield number, line


def read_jsonl(path: str | Path) -> Iterator[tuple[str | None, bytes]]:
    """Yield (topic suffix or None, value bytes) for each line of a replay file.

    A raw event line yields its own bytes unchanged; None marks a line whose
    topic cannot be told (see the module docstring), which callers skip.
    """
    for _, line in _lines(path):
        parsed = parse_line(line)
        yield parsed.topic, parsed.value


@dataclass
class ReplayFile:
    """A replay file as messages to send; lines without a topic are skipped and listed.

    Iterate it (once, lazily) for `SimMessage`s; afterwards `skipped` holds
    (line number, reason) of each line left out. A line without a send time
    takes the previous line's, so pacing holds it back no longer.
    """

    path: Path
    skipped: list[tuple[int, str]] = field(default_factory=list)

    def __iter__(self) -> Iterator[SimMessage]:
        self.skipped.clear()
        last_ts = 0
        for number, line in _lines(self.path):
            parsed = parse_line(line)
            if parsed.topic is None:
                self.skipped.append((number, parsed.reason))
                continue
            last_ts = parsed.ts_ms if parsed.ts_ms is not None else last_ts
            yield SimMessage(parsed.topic, parsed.key or b"", parsed.value, last_ts, parsed.fault)


def _is_embeddable(value: bytes) -> bool:
    """Return whether `value` can sit verbatim in an envelope line and come back unchanged."""
    if b"\n" in value or b"\r" in value or value != value.strip():
        return False
    try:
        msgspec.json.decode(value)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    return True


def message_to_line(msg: SimMessage) -> bytes:
    """Return the envelope line (no line break) that `parse_line` turns back into `msg`."""
    head: dict[str, object] = {"topic": msg.topic_suffix}
    try:
        head["key"] = msg.key.decode("utf-8")
    except UnicodeDecodeError:
        head["key_b64"] = base64.b64encode(msg.key).decode()
    head["ts_ms"] = msg.ts_ms
    if msg.fault:
        head["fault"] = msg.fault
    if not _is_embeddable(msg.value):
        head["value_b64"] = base64.b64encode(msg.value).decode()
        return _ENC.encode(head)
    return _ENC.encode(head)[:-1] + b',"value":' + msg.value + b"}"


def write_jsonl(messages: Iterable[SimMessage], path: str | Path) -> int:
    """Write messages to a replay file in envelope form; return how many were written."""
    n = 0
    with Path(path).open("wb") as f:
        for msg in messages:
            f.write(message_to_line(msg) + b"\n")
            n += 1
    return n


def replay_file(producer, path: str | Path, prefix: str = TOPIC_PREFIX_DEFAULT, *,
                pace: float | None = None, progress: bool = False) -> tuple[int, int]:
    """Send a replay file's messages; return (sent, skipped lines).

    `pace` as in `send_messages` (by the envelopes' `ts_ms` or the events' `ts`).
    """
    replay = ReplayFile(Path(path))
    sent = send_messages(producer, replay, prefix, pace=pace, progress=progress)
    return sent, len(replay.skipped)
