"""Fixtures for case tests: the demo city's case directory, loaded once per run."""

from __future__ import annotations

import pytest

from onegrid.alerts.directory import load_directory


@pytest.fixture(scope="session")
def directory(demo_city):
    """The demo city's case directory: staff, plans, fallback owners, default knobs."""
    return load_directory(demo_city.registry, demo_city.regions)
