"""The rules in force for a running engine: load once, reload on change.

Binds the rule loader to the city (its metrics, pollutants, categories and
region ids), fails at start with the file, line and reason when the file is
bad, and afterwards re-reads it when it changes, keeping the last good set
(and saying why) when an edit does not load.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Final

from onegrid.alerts.rules import RuleSet, RuleWatcher, load_rules
from onegrid.streams.contract import POLLUTANTS
from onegrid.streams.engine import City, Rules

log = logging.getLogger(__name__)

DEMO_RULES: Final = Path(__file__).resolve().parent.parent / "data" / "rules.toml"


def known_metrics(city: City) -> set[str]:
    """Return every metric a rule may name in this city."""
    categories = {f"incident:{code}" for code in city.registry.categories}
    return {*city.registry.metrics, *POLLUTANTS, *categories, "incident:*"}


def known_regions(city: City) -> set[str]:
    """Return every region id of the city (districts down to grids)."""
    return {str(i) for frame in city.regions.levels.values() for i in frame.index}


def rule_loader(city: City) -> Callable[[Path], RuleSet]:
    """Return load_rules bound to the city's metrics and regions."""
    return functools.partial(load_rules, known_metrics=known_metrics(city),
                             known_regions=known_regions(city))


def watch_rules(path: Path, city: City) -> Callable[[], Rules]:
    """Return a function giving the rules in force; raises RuleError if the file is bad now."""
    loader = rule_loader(city)
    watcher = RuleWatcher(path, loader)
    first = loader(path)  # fail at start, with file and line
    watcher.poll()
    state = {"rules": Rules(first.rules), "error": None}

    def current() -> Rules:
        fresh = watcher.poll()
        if fresh is not None:
            log.warning("rules reloaded from %s: %d rules", path, len(fresh.rules))
            state["rules"] = Rules(fresh.rules)
        if watcher.last_error and watcher.last_error != state["error"]:
            log.error("rules not reloaded, keeping the last good set: %s", watcher.last_error)
        state["error"] = watcher.last_error
        return state["rules"]

    return current
