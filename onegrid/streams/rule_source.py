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
from onegrid.alerts.silences import Silence, SilenceError, load_silences
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


class _SilenceFile:
    """Silences from a TOML file, re-read when it changes; the last good list stays."""

    def __init__(self, path: Path | None):
        self.path, self.stamp = path, None
        self.silences: tuple[Silence, ...] = ()
        if path is not None:
            self.silences = tuple(load_silences(path))  # fail at start, with file and line
            self.stamp = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def current(self) -> tuple[Silence, ...]:
        if self.path is None or self._stamp() == self.stamp:
            return self.silences
        self.stamp = self._stamp()
        try:
            self.silences = tuple(load_silences(self.path))
            log.warning("silences reloaded from %s: %d", self.path, len(self.silences))
        except (SilenceError, OSError) as exc:
            log.error("silences not reloaded, keeping the last good list: %s", exc)
        return self.silences


def watch_rules(path: Path, city: City, silences: Path | None = None) -> Callable[[], Rules]:
    """Return a function giving the rules and silences in force.

    Raises RuleError or SilenceError (file, line, reason) if a file is bad now;
    later bad edits are logged and the last good set stays in force.
    """
    loader = rule_loader(city)
    watcher = RuleWatcher(path, loader)
    first = loader(path)  # fail at start, with file and line
    watcher.poll()
    quiet = _SilenceFile(silences)
    state = {"rules": first.rules, "error": None}

    def current() -> Rules:
        fresh = watcher.poll()
        if fresh is not None:
            log.warning("rules reloaded from %s: %d rules", path, len(fresh.rules))
            state["rules"] = fresh.rules
        if watcher.last_error and watcher.last_error != state["error"]:
            log.error("rules not reloaded, keeping the last good set: %s", watcher.last_error)
        state["error"] = watcher.last_error
        return Rules(state["rules"], quiet.current())

    return current
