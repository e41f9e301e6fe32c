"""Dashboard and browser fixtures: a demo-day store (cases in every state), contexts per
actor, and a real Sender on the test broker for pages that act.

`demo_db` runs three simulated hours of the demo day through the engine's own
steps once per test run (about 10 s), so every page has real material:
alerts, cases in every state, a hash-chained log. Tests read it through a
read-only `Store`; `dash_ctx` fixes the clock at the end of that day.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from onegrid.geo.store import Store

DEMO_START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai
DEMO_HOURS = 3
DEMO_END = DEMO_START + timedelta(hours=DEMO_HOURS)


@pytest.fixture(scope="session")
def demo_rules(demo_city):
    """The demo city's rules, as the engine runs them."""
    # Imports inside fixtures: this module loads for the whole suite (tests/conftest.py).
    from onegrid.streams.engine import Rules
    from onegrid.streams.rule_source import DEMO_RULES, rule_loader

    return Rules(rule_loader(demo_city)(DEMO_RULES).rules)


@pytest.fixture(scope="session")
def demo_directory(demo_city, demo_rules):
    """The demo city's case directory with the demo rules' case policies."""
    from onegrid.alerts.directory import load_directory

    return load_directory(demo_city.registry, demo_city.regions, demo_rules.rules)


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory, demo_city, demo_rules, demo_directory):
    """A store file holding three simulated hours of the demo day (seed 7)."""
    from onegrid.streams.demo_day import run_demo_day

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Store(path, threads=1) as store:
        run_demo_day(demo_city, store, demo_directory, demo_rules, seed=7, start=DEMO_START,
                     hours=DEMO_HOURS)
    return path


@pytest.fixture(scope="session")
def demo_store(demo_db):
    """The demo-day store, opened read-only (the dashboard never writes)."""
    with Store(demo_db, read_only=True) as store:
        yield store


@pytest.fixture(scope="session")
def dash_ctx(demo_store, demo_directory, demo_rules):
    """A read-only dashboard context over the demo day, its clock at the day's end."""
    from onegrid.dashboard.auth import load_accounts
    from onegrid.dashboard.context import DashboardContext

    accounts = load_accounts(demo_directory.registry.folder, demo_directory.staff)
    return DashboardContext(store=demo_store, directory=demo_directory, accounts=accounts,
                            sender=None, clock=lambda: DEMO_END, rules=lambda: demo_rules)


@pytest.fixture(scope="session")
def air_ctx(tmp_path_factory, dash_ctx):
    """The dashboard context over `air_data`'s readings and episodes, its clock at
    air_data.END (the store is built once per test run: the environment pages' tests and
    browser tests all read it)."""
    from tests.dashboard import air_data

    path = air_data.air_store(tmp_path_factory.mktemp("air") / "air.duckdb", dash_ctx.registry,
                              dash_ctx.regions)
    with Store(path, read_only=True) as store:
        yield air_data.air_context(dash_ctx, store)


@pytest.fixture
def acting_ctx(dash_ctx, broker, topics):
    """The demo-day context with a real Sender on a fresh topic prefix of the test broker;
    returns (context, prefix)."""
    from onegrid.streams.sender import make_sender

    sender = make_sender(broker, topics)
    try:
        yield dataclasses.replace(dash_ctx, sender=sender, _scopes={}), topics
    finally:
        sender.close()


@pytest.fixture(scope="session")
def actor(demo_directory):
    """Return the registered actor with this id."""
    def get(actor_id: str):
        found = demo_directory.staff.get(actor_id)
        assert found is not None, f"{actor_id} is not in the demo staff register"
        return found
    return get
