"""The v1 event contract: input event shapes, topic names and error codes.

This module owns what a message on an OneGrid topic must look like (DESIGN.md,
"Event contract (v1)"). The shapes are msgspec Structs, so one C-level decode
both parses and type-checks a message; `data/schemas/*.json` are generated from
them (`onegrid schemas`) and a test keeps the two in step. Checks that need the
registry or the clock (known sensor, known category, future timestamps) live in
`validate`.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Final, Literal

import msgspec

TOPIC_PREFIX_DEFAULT: Final = "onegrid."

# Topic suffixes; the full name is prefix + suffix.
SENSOR: Final = "sensor"
ENVIRONMENT: Final = "environment"
INCIDENT: Final = "incident"
DLQ: Final = "dlq"
ALERTS: Final = "alerts"
COMMANDS: Final = "commands"
CASES: Final = "cases"
# Exceedance episodes near the city edge, for the neighbouring jurisdiction: v1
# environment events with the episode fields below (docs/contract.md).
SHARED: Final = "shared"

INPUT_TOPICS: Final = (SENSOR, ENVIRONMENT, INCIDENT)
OUTPUT_TOPICS: Final = (DLQ, ALERTS, CASES, SHARED)
ALL_TOPICS: Final = (*INPUT_TOPICS, COMMANDS, *OUTPUT_TOPICS)

MAX_MESSAGE_BYTES: Final = 64 * 1024
FUTURE_TOLERANCE_S: Final = 300
POLLUTANTS: Final = ("pm25", "pm10", "no2", "so2", "o3", "co")
INCIDENT_SOURCES: Final = ("hotline", "patrol", "video", "app", "sensor")


def topic_name(suffix: str, prefix: str = TOPIC_PREFIX_DEFAULT) -> str:
    """Return the full topic name for a contract topic suffix."""
    return f"{prefix}{suffix}"


class ErrorCode(StrEnum):
    """Stable codes for rejected messages; the values never change."""

    OVERSIZED = "oversized"
    NOT_UTF8 = "not_utf8"
    NOT_JSON = "not_json"
    NOT_OBJECT = "not_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    OUT_OF_RANGE = "out_of_range"
    NOT_FINITE = "not_finite"
    BAD_TIMESTAMP = "bad_timestamp"
    FUTURE_TIMESTAMP = "future_timestamp"
    MISSING_LOCATION = "missing_location"
    UNKNOWN_SENSOR = "unknown_sensor"
    UNKNOWN_STATION = "unknown_station"
    UNKNOWN_METRIC = "unknown_metric"
    UNIT_MISMATCH = "unit_mismatch"
    UNKNOWN_CATEGORY = "unknown_category"
    NO_POLLUTANT = "no_pollutant"
    DUPLICATE_ID = "duplicate_id"
    BAD_ID = "bad_id"
    UNKNOWN_TOPIC = "unknown_topic"
    BAD_URL = "bad_url"


ERROR_HELP: Final[dict[ErrorCode, str]] = {
    # code -> what a person can do about it; shown beside the reason.
    ErrorCode.OVERSIZED: "Split the message or trim the description; the limit is 64 KiB.",
    ErrorCode.NOT_UTF8: "Send the message as UTF-8 encoded JSON.",
    ErrorCode.NOT_JSON: "Send exactly one JSON object per message.",
    ErrorCode.NOT_OBJECT: "The message must be a JSON object, not an array or a scalar.",
    ErrorCode.MISSING_FIELD: "Add the named field; see the event contract.",
    ErrorCode.WRONG_TYPE: "Send the named field with the type the contract gives.",
    ErrorCode.OUT_OF_RANGE: "Check the named field's value against the contract's range.",
    ErrorCode.NOT_FINITE: "NaN and infinities are not readings; drop or fix the value.",
    ErrorCode.BAD_TIMESTAMP: "Send ts as ISO-8601 with a UTC offset or as epoch milliseconds.",
    ErrorCode.FUTURE_TIMESTAMP: "Fix the sender's clock; events over 5 minutes ahead are refused.",
    ErrorCode.MISSING_LOCATION: "Send lat and lng, or register the source in the registry.",
    ErrorCode.UNKNOWN_SENSOR: "Register the sensor (sensors.csv) or send lat and lng.",
    ErrorCode.UNKNOWN_STATION: "Register the station (stations.csv) or send lat and lng.",
    ErrorCode.UNKNOWN_METRIC: "Add the metric to metrics.csv, then replay the dead letter.",
    ErrorCode.UNIT_MISMATCH: "Convert the value to the metric's registered unit.",
    ErrorCode.UNKNOWN_CATEGORY: "Add the category to categories.csv, then replay the dead letter.",
    ErrorCode.NO_POLLUTANT: "Send at least one of pm25, pm10, no2, so2, o3, co.",
    ErrorCode.DUPLICATE_ID: "Each event needs its own id; this id was already stored.",
    ErrorCode.BAD_ID: "Send id as a string of 1 to 128 characters.",
    ErrorCode.UNKNOWN_TOPIC: "Produce only to the contract's input topics.",
    ErrorCode.BAD_URL: "Send photo_url as an http:// or https:// link or a path starting "
                       "with /; other kinds of link (javascript:, data:) are refused.",
}

# Shared field types. msgspec enforces these while decoding, in C.
EventId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
# ISO-8601 with an offset (parsed in C) or epoch milliseconds up to year 9999.
Timestamp = (Annotated[datetime, msgspec.Meta(tz=True)]
             | Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)])
Latitude = Annotated[float, msgspec.Meta(ge=-90.0, le=90.0)]
Longitude = Annotated[float, msgspec.Meta(ge=-180.0, le=180.0)]
SourceId = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
Concentration = Annotated[float, msgspec.Meta(ge=0.0)]
ShortText = Annotated[str, msgspec.Meta(max_length=4000)]
# What a photo link may start with: a web link, or a path on the node that kept the
# upload (`/media/<name>`). Anything else (javascript:, data:, file:) could run or
# smuggle content where a screen shows the link, so the contract refuses it; the
# dashboard shows and sends only these kinds too.
PHOTO_URL_PREFIXES: Final = ("http://", "https://", "/")
PhotoUrl = Annotated[str, msgspec.Meta(
    max_length=2000, pattern="^(?:" + "|".join(map(re.escape, PHOTO_URL_PREFIXES)) + ")")]


# gc=False: a decoded event holds only strings, numbers and other such Structs,
# so it can be in no reference cycle, and the collector need not track the
# tens of thousands a batch decodes (measured: decode ~20 % faster).
class _Input(msgspec.Struct, forbid_unknown_fields=False, kw_only=True, gc=False):
    """Fields every input event carries (extra fields are kept, not rejected)."""

    id: EventId
    ts: Timestamp
    lat: Latitude | None = None
    lng: Longitude | None = None


class SensorEvent(_Input, kw_only=True):
    """An IoT reading on `onegrid.sensor`."""

    sensor_id: SourceId
    metric: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    value: float
    unit: Annotated[str, msgspec.Meta(max_length=32)] | None = None


class EnvironmentEvent(_Input, kw_only=True):
    """A monitoring-station reading on `onegrid.environment` (µg/m³; co in mg/m³)."""

    station_id: SourceId
    pm25: Concentration | None = None
    pm10: Concentration | None = None
    no2: Concentration | None = None
    so2: Concentration | None = None
    o3: Concentration | None = None
    co: Concentration | None = None
    # Optional (v1 extension): the wind the station measured, for upwind searches.
    wind_dir_deg: Annotated[float, msgspec.Meta(ge=0.0, le=360.0)] | None = None
    wind_speed_ms: Annotated[float, msgspec.Meta(ge=0.0, le=100.0)] | None = None
    # Optional (v1 extension): an exceedance episode a neighbouring OneGrid shares on its
    # `onegrid.shared` topic; the reading is then the 1-hour means of the episode's peak hour.
    episode_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    episode_start: Timestamp | None = None
    episode_end: Timestamp | None = None  # absent while the episode goes on
    aqi: Annotated[float, msgspec.Meta(ge=0.0)] | None = None  # HJ 633 hourly AQI at the peak
    primary_pollutant: Literal[POLLUTANTS] | None = None  # type: ignore[valid-type]
    primary_pollutants: list[Literal[POLLUTANTS]] = []  # type: ignore[valid-type]
    shared_by: SourceId | None = None  # the sharing city's id


class Reporter(msgspec.Struct, kw_only=True, gc=False):
    """Personal data of the person who reported: masked on every screen by role."""

    name: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    phone: Annotated[str, msgspec.Meta(max_length=40)] | None = None


class IncidentEvent(_Input, kw_only=True):
    """An incident report on `onegrid.incident`."""

    category: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    source: Literal["hotline", "patrol", "video", "app", "sensor"]
    description: ShortText | None = None
    severity: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None
    address: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    reporter: Reporter | None = None
    # Optional (v1 extension): a photo of what was found, as a link (a patrol report's
    # upload is `/media/<name>` on the node that kept it).
    photo_url: PhotoUrl | None = None


COMMAND_ACTIONS: Final = (
    "open", "approve", "dismiss", "dispatch", "accept", "start", "resolve", "verify", "close",
    "return", "reopen", "escalate", "merge", "split", "comment", "override", "press",
    "feedback", "step", "notify", "arbitrate", "acknowledge",
)
CaseId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class CommandMessage(msgspec.Struct, forbid_unknown_fields=False, kw_only=True):
    """A user's action on a case, on `onegrid.commands` (the dashboard sends these).

    Whether the action is allowed (state, rights, remit) is the engine's to
    decide; this shape only says what a well-formed command carries. A command
    that breaks it is a dead letter; a well-formed one that is refused is
    answered on `onegrid.cases` with a reason.
    """

    command_id: EventId
    case_id: CaseId | None = None  # None only for `open`
    action: Literal[COMMAND_ACTIONS]  # type: ignore[valid-type]
    actor: SourceId
    at: Timestamp
    department: SourceId | None = None
    reason: ShortText | None = None
    reason_code: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    note: ShortText | None = None
    expected_seq: Annotated[int, msgspec.Meta(ge=0)] | None = None
    override: bool = False
    other_case_ids: list[CaseId] = []
    source_ids: list[EventId] = []
    satisfaction: Literal["satisfied", "dissatisfied"] | None = None
    step_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    photo_url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    # v1 extension: the alert an `acknowledge` names, or that an `open` makes a case of.
    alert_id: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None
    # `open` by hand: what and where.
    category: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None
    lat: Latitude | None = None
    lng: Longitude | None = None
    grid_id: SourceId | None = None
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    severity: Annotated[int, msgspec.Meta(ge=1, le=4)] | None = None


EVENT_TYPES: Final[dict[str, type[_Input]]] = {
    # topic suffix -> the Struct its messages decode into
    SENSOR: SensorEvent,
    ENVIRONMENT: EnvironmentEvent,
    INCIDENT: IncidentEvent,
}


def json_schemas() -> dict[str, dict]:
    """Return the JSON Schema of each input topic (and of commands), keyed by topic suffix."""
    shapes = {**EVENT_TYPES, COMMANDS: CommandMessage}
    return {suffix: msgspec.json.schema(cls) for suffix, cls in shapes.items()}
