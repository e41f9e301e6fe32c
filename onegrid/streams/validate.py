"""Raw Kafka messages to valid event columns or rejections with a reason.

Pure: takes a batch of raw messages, the city's registry and `now`; returns an
Arrow table of valid events and a list of `Rejection`s. Each message is decoded
once by msgspec (C code that parses and type-checks against `contract`); every
check after that (registry, clock, finiteness, duplicates within the batch)
runs over whole columns. What a message's cell or region is belongs to `geo`;
whether its id is already stored belongs to the store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import attrgetter
from typing import Final, NamedTuple

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from onegrid.geo.registry import Registry
from onegrid.streams.contract import (
    COMMANDS,
    ENVIRONMENT,
    FUTURE_TOLERANCE_S,
    INCIDENT,
    MAX_MESSAGE_BYTES,
    PHOTO_URL_PREFIXES,
    POLLUTANTS,
    SENSOR,
    CommandMessage,
    EnvironmentEvent,
    ErrorCode,
    IncidentEvent,
    SensorEvent,
)


class RawMessage(NamedTuple):
    """One message as the consumer received it; `value` is kept byte for byte.

    A NamedTuple, not a frozen dataclass: one is made per message polled, and
    a tuple is built about four times faster.
    """

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    suffix: str  # the topic name without its prefix: sensor, environment, incident


@dataclass(frozen=True)
class Rejection:
    """A message that failed validation, with a stable code and a sentence to act on."""

    message: RawMessage
    code: ErrorCode
    reason: str


@dataclass(frozen=True)
class Validated:
    """The outcome of validating a batch: valid events as columns, well-formed case
    commands (in arrival order, with the message each came in), and rejections."""

    events: pa.Table
    rejections: list[Rejection] = field(default_factory=list)
    commands: list[tuple[RawMessage, CommandMessage]] = field(default_factory=list)


EVENT_SCHEMA: Final = pa.schema([
    ("id", pa.string()), ("topic", pa.string()), ("ts", pa.timestamp("ms", tz="UTC")),
    ("lat", pa.float64()), ("lng", pa.float64()), ("located_by", pa.string()),
    ("source_id", pa.string()), ("metric", pa.string()), ("value", pa.float64()),
    ("unit", pa.string()),
    *[(p, pa.float64()) for p in POLLUTANTS],
    ("wind_dir_deg", pa.float64()), ("wind_speed_ms", pa.float64()),
    ("category", pa.string()), ("source", pa.string()), ("severity", pa.int8()),
    ("description", pa.string()), ("address", pa.string()),
    ("reporter_name", pa.string()), ("reporter_phone", pa.string()),
    ("photo_url", pa.string()),
    ("kafka_partition", pa.int32()), ("kafka_offset", pa.int64()),
])

_DECODERS: Final = {
    SENSOR: msgspec.json.Decoder(SensorEvent),
    ENVIRONMENT: msgspec.json.Decoder(EnvironmentEvent),
    INCIDENT: msgspec.json.Decoder(IncidentEvent),
    COMMANDS: msgspec.json.Decoder(CommandMessage),
}

_AT = re.compile(r" - at `\$\.?([^`]*)`$")


def _decode_error(value: bytes, exc: Exception) -> tuple[ErrorCode, str]:
    """Return the code and reason for a message msgspec could not decode."""
    if isinstance(exc, UnicodeDecodeError):
        return ErrorCode.NOT_UTF8, f"the message is not valid UTF-8 (byte {exc.start})"
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError as err:
        return ErrorCode.NOT_UTF8, f"the message is not valid UTF-8 (byte {err.start})"
    if re.search(r"(?<![\"\w])-?(NaN|Infinity)(?![\"\w])", text):
        return ErrorCode.NOT_FINITE, "NaN or Infinity is not a number in JSON"
    detail = str(exc).removeprefix("JSON is malformed: ")
    return ErrorCode.NOT_JSON, f"not a JSON document: {detail}"


def _validation_error(exc: msgspec.ValidationError) -> tuple[ErrorCode, str]:
    """Return the code and reason for a JSON document that breaks the contract."""
    text = str(exc)
    match = _AT.search(text)
    where = match.group(1) if match else ""
    what = _AT.sub("", text)
    if where == "" and what.startswith("Expected `object`"):
        return ErrorCode.NOT_OBJECT, f"the message must be a JSON object ({what.lower()})"
    if what.startswith("Object missing required field"):
        name = what.split("`")[1]
        prefix = f"{where}." if where else ""
        return ErrorCode.MISSING_FIELD, f"required field {prefix}{name!s} is missing"
    if where == "id":
        return ErrorCode.BAD_ID, f"field id: {what}; ids are strings of 1-128 characters"
    if where == "ts":
        return ErrorCode.BAD_TIMESTAMP, f"field ts: {what}"
    if what == "Number out of range":
        return ErrorCode.NOT_FINITE, f"field {where}: the number is too large to be finite"
    if re.match(r"Expected `\w+` (<=|>=|<|>) ", what) or what.startswith("Invalid enum value"):
        return ErrorCode.OUT_OF_RANGE, f"field {where}: {what}"
    if "of length" in what:
        return ErrorCode.OUT_OF_RANGE, f"field {where}: {what}"
    if what.startswith("Expected `str` matching regex"):  # only links have a pattern
        return ErrorCode.BAD_URL, (f"field {where}: a link must start with one of "
                                   f"{', '.join(PHOTO_URL_PREFIXES)} (a web link or a path "
                                   "on this server)")
    return ErrorCode.WRONG_TYPE, f"field {where}: {what}"


def _reject_one(msg: RawMessage) -> Rejection | None:
    """Return why one message is refused before its topic's checks (None: it decodes).

    The per-message reading every code and reason comes from; the batch path
    below calls it only for messages it could not decode in one pass.
    """
    value = msg.value or b""
    if len(value) > MAX_MESSAGE_BYTES:
        return Rejection(msg, ErrorCode.OVERSIZED,
                         f"message is {len(value)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    decoder = _DECODERS.get(msg.suffix)
    if decoder is None:
        return Rejection(msg, ErrorCode.UNKNOWN_TOPIC, f"topic {msg.topic} carries no input events")
    try:
        decoder.decode(value)
    except msgspec.ValidationError as exc:
        return Rejection(msg, *_validation_error(exc))
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return Rejection(msg, *_decode_error(value, exc))
    return None


def _decode_all(decoder: msgspec.json.Decoder, values: list[bytes]) -> tuple[list, list[int]]:
    """Return each value decoded (None where it failed) and the positions that failed.

    `list.extend(map(...))` keeps what it decoded before an error, and the
    iterator has moved past the failing value, so the loop runs in C and
    resumes once per bad message instead of paying Python for every message.
    """
    it, out, failed = iter(values), [], []
    while True:
        try:
            out.extend(map(decoder.decode, it))
            return out, failed
        except (msgspec.DecodeError, UnicodeDecodeError):  # ValidationError is a DecodeError
            failed.append(len(out))
            out.append(None)


Decoded = dict[str, tuple[list[RawMessage], list]]  # topic suffix -> (messages, decoded)


def _decode_topic(msgs: list[RawMessage]) -> tuple[list[RawMessage], list, list[Rejection]]:
    """Decode one topic's messages in one pass; return those that decoded, their
    Structs, and the rejections of the rest (read one by one by `_reject_one`)."""
    decoder = _DECODERS.get(msgs[0].suffix)
    values = list(map(attrgetter("value"), msgs))
    try:
        too_big = max(map(len, values)) > MAX_MESSAGE_BYTES
    except TypeError:  # a null value (a tombstone) is read one by one
        too_big = True
    if decoder is None or too_big:
        checked = [(m, _reject_one(m)) for m in msgs]
        ok = [m for m, r in checked if r is None]
        return ok, [decoder.decode(m.value) for m in ok], [r for _, r in checked if r]
    events, failed = _decode_all(decoder, values)
    if not failed:
        return msgs, events, []
    bad = set(failed)
    keep = [i for i in range(len(msgs)) if i not in bad]
    return ([msgs[i] for i in keep], [events[i] for i in keep],
            [_reject_one(msgs[i]) for i in failed])


def _decode(messages: Sequence[RawMessage]) -> tuple[Decoded, list[Rejection]]:
    """Decode each message with its topic's Struct; return (messages, Structs) per topic
    and the rejections, in message order.

    Messages arrive in runs of one partition, so they are grouped run by run,
    and each topic's values are decoded in one pass.
    """
    groups: dict[str, list[RawMessage]] = {}
    for suffix, run in groupby(messages, key=attrgetter("suffix")):
        groups.setdefault(suffix, []).extend(run)
    decoded: Decoded = {SENSOR: ([], []), ENVIRONMENT: ([], []), INCIDENT: ([], []),
                        COMMANDS: ([], [])}
    rejected: list[Rejection] = []
    for suffix, msgs in groups.items():
        ok, events, refused = _decode_topic(msgs)
        if suffix in decoded:
            decoded[suffix] = (ok, events)
        rejected.extend(refused)
    if len(groups) > 1 and rejected:
        order = {id(m): i for i, m in enumerate(messages)}
        rejected.sort(key=lambda r: order[id(r.message)])
    return decoded, rejected


def _ts_ms(values: list) -> np.ndarray:
    """Return epoch milliseconds for timestamps given as aware datetimes or epoch ms."""
    try:  # all epoch ms, the usual case: one C conversion
        return np.array(values, dtype=np.int64)
    except TypeError:  # some aware datetimes among them
        return np.fromiter(
            (v if isinstance(v, int) else int(v.timestamp() * 1000) for v in values),
            dtype=np.int64, count=len(values),
        )


def _per_value(values: list, fn) -> np.ndarray:
    """Return fn(v) for each of `values` (an object array), calling fn once per distinct value.

    A batch names few distinct metrics or categories, so a catalogue lookup
    runs a few times, not once per event.
    """
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    looked_up = np.empty(len(uniques), dtype=object)
    looked_up[:] = [fn(u) for u in uniques]
    return looked_up[codes]


def _as_float(values: list[float | None]) -> np.ndarray:
    """Return the values as float64, NaN for None."""
    if values.count(None) == len(values):  # a field no event sent: no per-value work
        return np.full(len(values), np.nan)
    return np.array(values, dtype=np.float64)


class _Checker:
    """Collects per-row rejections for one topic's decoded events, column by column."""

    def __init__(self, messages: list[RawMessage], events: list):
        self.messages = messages
        self.events = events
        self.ok = np.ones(len(events), dtype=bool)
        self.rejections: list[Rejection] = []

    def column(self, name: str) -> list:
        return list(map(attrgetter(name), self.events))

    def reject(self, bad: np.ndarray, code: ErrorCode, reason) -> None:
        """Reject rows where `bad` holds (and not yet rejected); reason(i) -> str."""
        for i in np.flatnonzero(bad & self.ok):
            self.rejections.append(Rejection(self.messages[i], code, reason(int(i))))
        self.ok &= ~bad


def _common(ck: _Checker, now: datetime) -> dict[str, np.ndarray]:
    """Check the fields every event carries; return id, ts, lat, lng columns."""
    ids = np.array(ck.column("id"), dtype=object)
    ts = _ts_ms(ck.column("ts"))
    limit = int(now.timestamp() * 1000) + FUTURE_TOLERANCE_S * 1000
    ck.reject(ts > limit, ErrorCode.FUTURE_TIMESTAMP,
              lambda i: f"ts is {(ts[i] - limit) / 60000 + 5:.0f} min ahead of the engine's "
                        "clock; the limit is 5 min")
    lat, lng = _as_float(ck.column("lat")), _as_float(ck.column("lng"))
    half = np.isnan(lat) != np.isnan(lng)
    ck.reject(half, ErrorCode.MISSING_LOCATION, lambda i: "lat and lng must come together")
    return {"id": ids, "ts": ts, "lat": lat, "lng": lng}


def _places(registered: dict) -> tuple[pd.Index, np.ndarray, np.ndarray]:
    """Return (ids index, lats, lngs) of registered sources, cached per register."""
    key = id(registered)
    cached = _PLACES.get(key)
    if cached is None or cached[0] is not registered:
        places = list(registered.values())
        cached = (registered, pd.Index([k for k in registered]),
                  np.array([p.lat for p in places]), np.array([p.lng for p in places]))
        _PLACES[key] = cached
    return cached[1], cached[2], cached[3]


_PLACES: dict[int, tuple] = {}  # id(register dict) -> (dict, Index, lats, lngs)


def _locate(ck: _Checker, cols: dict, ids: list[str], registered: dict, code: ErrorCode,
            what: str) -> None:
    """Fill missing lat/lng from the registry; reject unlocatable rows."""
    missing = np.isnan(cols["lat"])
    cols["located_by"] = np.where(missing, "registry", "event").astype(object)
    index, lats, lngs = _places(registered)
    pos = index.get_indexer(ids)  # one hash lookup over the column; -1 where unknown
    fill = missing & (pos >= 0)
    cols["lat"][fill], cols["lng"][fill] = lats[pos[fill]], lngs[pos[fill]]
    ck.reject(missing & (pos < 0), code,
              lambda i: f"{what} {ids[i]!r} is not registered and the event has no lat/lng")


def _sensor_columns(ck: _Checker, reg: Registry, now: datetime) -> dict:
    cols = _common(ck, now)
    ids, metrics, units = ck.column("sensor_id"), ck.column("metric"), ck.column("unit")
    value = _as_float(ck.column("value"))
    ck.reject(~np.isfinite(value), ErrorCode.NOT_FINITE, lambda i: "field value must be finite")
    known = _per_value(metrics, reg.metrics.__contains__).astype(bool)
    ck.reject(~known, ErrorCode.UNKNOWN_METRIC,
              lambda i: f"metric {metrics[i]!r} is not in the metric catalogue")
    unit = _per_value(metrics, lambda m: reg.metrics[m].unit if m in reg.metrics else None)
    given = np.asarray(units, dtype=object)
    sent = np.not_equal(given, None)
    wrong_unit = sent & known & np.not_equal(given, unit)
    ck.reject(wrong_unit, ErrorCode.UNIT_MISMATCH,
              lambda i: f"unit {units[i]!r} for {metrics[i]} should be "
                        f"{reg.metrics[metrics[i]].unit!r}")
    _locate(ck, cols, ids, reg.sensors, ErrorCode.UNKNOWN_SENSOR, "sensor")
    # A unit sent empty means the registered one, as a unit not sent does.
    cols.update(source_id=ids, metric=metrics, value=value,
                unit=np.where(sent & np.not_equal(given, ""), given, unit))
    return cols


def _environment_columns(ck: _Checker, reg: Registry, now: datetime) -> dict:
    cols = _common(ck, now)
    ids = ck.column("station_id")
    for name in (*POLLUTANTS, "wind_dir_deg", "wind_speed_ms"):
        cols[name] = _as_float(ck.column(name))
    none = np.all([np.isnan(cols[p]) for p in POLLUTANTS], axis=0)
    ck.reject(none, ErrorCode.NO_POLLUTANT, lambda i: "no pollutant value in the reading")
    _locate(ck, cols, ids, reg.stations, ErrorCode.UNKNOWN_STATION, "station")
    cols["source_id"] = ids
    return cols


def _incident_columns(ck: _Checker, reg: Registry, now: datetime) -> dict:
    cols = _common(ck, now)
    cats = ck.column("category")
    known = _per_value(cats, reg.categories.__contains__).astype(bool)
    ck.reject(~known, ErrorCode.UNKNOWN_CATEGORY,
              lambda i: f"category {cats[i]!r} is not in the category catalogue")
    ck.reject(np.isnan(cols["lat"]), ErrorCode.MISSING_LOCATION,
              lambda i: "an incident report needs lat and lng")
    cols["located_by"] = np.full(len(cats), "event", dtype=object)
    sev = ck.column("severity")
    reporters = ck.column("reporter")
    cols.update(
        category=cats, source=ck.column("source"),
        severity=[s if s is not None else (reg.categories[c].default_severity
                                          if c in reg.categories else None)
                  for c, s in zip(cats, sev, strict=True)],
        description=ck.column("description"), address=ck.column("address"),
        photo_url=ck.column("photo_url"),
        reporter_name=[r.name if r else None for r in reporters],
        reporter_phone=[r.phone if r else None for r in reporters],
    )
    return cols


_COLUMNS: Final = {SENSOR: _sensor_columns, ENVIRONMENT: _environment_columns,
                   INCIDENT: _incident_columns}


def _to_table(suffix: str, ck: _Checker, cols: dict) -> pa.Table:
    """Return the surviving rows of one topic as a table in EVENT_SCHEMA."""
    n = len(ck.events)
    cols = dict(cols)
    cols["ts"] = cols["ts"].astype("datetime64[ms]")
    cols["topic"] = pa.repeat(suffix, n)
    cols["kafka_partition"] = list(map(attrgetter("partition"), ck.messages))
    cols["kafka_offset"] = list(map(attrgetter("offset"), ck.messages))
    arrays = []
    for f in EVENT_SCHEMA:
        col = cols.get(f.name)
        if col is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(col, pa.Array):
            arrays.append(col)
        elif isinstance(col, np.ndarray) and col.dtype.kind == "f":
            arrays.append(pa.array(col, f.type, mask=np.isnan(col)))
        else:
            arrays.append(pa.array(col, f.type) if f.name != "ts"
                          else pa.array(col).cast(f.type))
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA).filter(pa.array(ck.ok))


def drop_duplicates(table: pa.Table, messages: Sequence[RawMessage],
                    stored: set[str] | frozenset[str] = frozenset()
                    ) -> tuple[pa.Table, list[Rejection]]:
    """Keep the first event of each id; reject ids in `stored` or repeated earlier.

    Validation calls it for one polled batch; the engine again with the ids
    the store already holds (and for several batches written together).
    """
    if not stored and pc.count_distinct(table.column("id")).as_py() == table.num_rows:
        return table, []
    ids = table.column("id").to_pylist()
    dup = np.zeros(len(ids), dtype=bool)
    earlier: set[str] = set()
    for i, event_id in enumerate(ids):
        dup[i] = event_id in stored or event_id in earlier
        earlier.add(event_id)
    if not dup.any():
        return table, []
    by_key = {(m.suffix, m.partition, m.offset): m for m in messages}
    keys = zip(table.column("topic").to_pylist(), table.column("kafka_partition").to_pylist(),
               table.column("kafka_offset").to_pylist(), strict=True)
    rejections = [
        Rejection(by_key[key], ErrorCode.DUPLICATE_ID,
                  f"id {event_id!r} is already stored; an event is stored once"
                  if event_id in stored else
                  f"id {event_id!r} appears earlier in the stream; an event is stored once")
        for key, event_id, is_dup in zip(keys, ids, dup, strict=True) if is_dup
    ]
    return table.filter(pa.array(~dup)), rejections


def validate(messages: Sequence[RawMessage], registry: Registry, now: datetime) -> Validated:
    """Return the batch's valid events (EVENT_SCHEMA), its case commands and its rejections.

    `now` is the engine's clock (aware datetime); events more than 5 minutes
    ahead of it are rejected. Duplicate ids within the batch keep the first.
    """
    decoded, rejections = _decode(messages)
    commands = list(zip(*decoded.pop(COMMANDS), strict=True))
    tables = []
    for suffix, (msgs, events) in decoded.items():
        if not events:
            continue
        ck = _Checker(msgs, events)
        cols = _COLUMNS[suffix](ck, registry, now)
        tables.append(_to_table(suffix, ck, cols))
        rejections.extend(ck.rejections)
    events = pa.concat_tables(tables) if tables else EVENT_SCHEMA.empty_table()
    events, dups = drop_duplicates(events, messages)
    return Validated(events, rejections + dups, commands)
