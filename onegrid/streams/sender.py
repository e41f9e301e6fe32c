"""The dashboard's way onto Kafka: user commands and patrol reports.

Every user action is a message: a command on `onegrid.commands` (applied, or
refused with a reason, by the engine) or a patrol report on
`onegrid.incident` (taken in like any other report). `Sender` checks each
message against the contract before it goes, so the dashboard never puts a
malformed message on the log, and waits for the broker's acknowledgement, so
"sent" on the screen means it is on the log. Whether an action is allowed is
the engine's to decide; the dashboard only asks.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
from kafka import KafkaProducer

from onegrid.streams.contract import (
    COMMANDS,
    INCIDENT,
    TOPIC_PREFIX_DEFAULT,
    CommandMessage,
    IncidentEvent,
    topic_name,
)

SEND_TIMEOUT_S: Final = 10.0


class SendFailed(RuntimeError):
    """The message was not acknowledged by the broker; the message says why."""


class BadMessage(ValueError):
    """The message breaks the contract; nothing was sent."""


def new_id(prefix: str) -> str:
    """Return a fresh message id such as `cmd-3f9c...` (unique, not guessable)."""
    return f"{prefix}-{uuid.uuid4().hex}"


class Sender:
    """Sends commands and reports for the dashboard, one acknowledged message at a time."""

    def __init__(self, producer: KafkaProducer, prefix: str = TOPIC_PREFIX_DEFAULT):
        self.producer = producer
        self.prefix = prefix
        self._lock = threading.Lock()  # one send-and-wait at a time keeps the order clear

    def command(self, fields: Mapping[str, Any]) -> str:
        """Send a command (`command_id` and `at` filled in when missing); return its id.

        Raises `BadMessage` when the fields break the command contract and
        `SendFailed` when the broker does not acknowledge it.
        """
        message = {"command_id": new_id("cmd"), "at": _now_iso(), **fields}
        message = {k: v for k, v in message.items() if v is not None}
        _check(message, CommandMessage)
        key = (message.get("case_id") or message["command_id"]).encode()
        self._send(topic_name(COMMANDS, self.prefix), key, message)
        return message["command_id"]

    def report(self, fields: Mapping[str, Any], source_id: str | None = None) -> str:
        """Send an incident report (`id` and `ts` filled in when missing); return its id.

        `source_id` (the reporting grid worker, say) is the message key, as the
        contract asks of every source.
        """
        message = {"id": new_id("rpt"), "ts": _now_iso(), **fields}
        message = {k: v for k, v in message.items() if v is not None}
        _check(message, IncidentEvent)
        key = (source_id or message["id"]).encode()
        self._send(topic_name(INCIDENT, self.prefix), key, message)
        return message["id"]

    def close(self) -> None:
        """Flush and close the producer."""
        self.producer.close(timeout=5)

    def _send(self, topic: str, key: bytes, message: Mapping[str, Any]) -> None:
        value = msgspec.json.encode(message)
        with self._lock:
            try:
                self.producer.send(topic, key=key, value=value).get(timeout=SEND_TIMEOUT_S)
            except Exception as exc:  # kafka-python raises several types; one reason for all
                raise SendFailed(f"the message was not accepted by Kafka ({exc})") from exc


def make_sender(bootstrap: str, prefix: str = TOPIC_PREFIX_DEFAULT, **client_config: Any
                ) -> Sender:
    """Return a Sender to `bootstrap`; `client_config` holds SASL/TLS settings."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="onegrid-dashboard",
                             acks="all", linger_ms=0, **client_config)
    return Sender(producer, prefix)


def _check(message: Mapping[str, Any], shape: type) -> None:
    try:
        msgspec.convert(dict(message), shape, strict=False)
    except msgspec.ValidationError as exc:
        raise BadMessage(f"not a valid {shape.__name__}: {exc}") from None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")
