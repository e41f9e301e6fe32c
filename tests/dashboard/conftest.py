"""Dashboard tests share the demo-day fixtures of `tests.dashboard.fixtures` (loaded for the
whole suite from tests/conftest.py, so browser tests have them too)."""

from tests.dashboard.fixtures import DEMO_END, DEMO_HOURS, DEMO_START

__all__ = ["DEMO_END", "DEMO_HOURS", "DEMO_START"]
