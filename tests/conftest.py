"""Shared fixtures: one real Kafka-protocol broker per run, fresh names per test,
a DuckDB store under tmp_path, and a fixed clock."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from onegrid.geo.store import Store
from onegrid.streams.broker import create_topics, start_broker

_counter = itertools.count()
# The demo-day store and dashboard contexts, for dashboard and browser tests alike.
pytest_plugins = ["tests.dashboard.fixtures"]


@pytest.fixture(scope="session")
def broker(tmp_path_factory):
    """A running embedded broker (or ONEGRID_TEST_BOOTSTRAP's cluster): its HOST:PORT."""
    external = os.environ.get("ONEGRID_TEST_BOOTSTRAP")
    if external:
        yield external
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    running = start_broker(log_path=log)
    try:
        yield running.bootstrap
    finally:
        running.stop()


@pytest.fixture
def topic_factory(broker):
    """Create the contract's topics under a prefix unique to the test; return the prefix."""

    def make(partitions: int = 3) -> str:
        prefix = f"t{next(_counter)}-{uuid.uuid4().hex[:6]}."
        create_topics(broker, prefix=prefix, partitions=partitions)
        return prefix

    return make


@pytest.fixture
def topics(topic_factory) -> str:
    """A fresh topic prefix with the default partition count."""
    return topic_factory()


@pytest.fixture
def group_factory():
    """Return unique consumer-group names."""
    return lambda name="g": f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store_factory(tmp_path):
    """Open DuckDB stores under tmp_path (closed at teardown)."""
    opened: list[Store] = []

    def make(name: str = "onegrid.duckdb") -> Store:
        s = Store(Path(tmp_path) / name)
        opened.append(s)
        return s

    yield make
    for s in opened:
        with contextlib.suppress(Exception):  # a test may have closed it already
            s.close()


@pytest.fixture
def store(store_factory) -> Store:
    """A fresh DuckDB store file."""
    return store_factory()


@pytest.fixture
def clock():
    """A fixed engine clock: 2026-06-01 12:00 UTC."""
    return lambda: datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_city():
    """The bundled demo city (registers and grid), loaded once per run."""
    from onegrid.geo.regions import load_regions
    from onegrid.geo.registry import load_registry
    from onegrid.streams.engine import City

    return City(load_registry(), load_regions())
