"""What every page of the dashboard works with, bundled once per app.

`DashboardContext` holds the store the pages read, the city (registers and
grid), the case directory (staff, plans, fallback owners: what routing and
rights need), the accounts that may sign in, the `Sender` that puts user
actions on Kafka (None on a read-only node), the clock and the map settings.
`create_app` takes one; tests build one around a store under tmp_path.
Nothing here does I/O after construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from onegrid.alerts.actors import Actor
from onegrid.alerts.directory import Directory
from onegrid.dashboard.access import ENVIRONMENT_METRICS, Scope
from onegrid.dashboard.auth import Accounts
from onegrid.geo.regions import Regions
from onegrid.geo.registry import Registry
from onegrid.geo.store import Store
from onegrid.streams.sender import Sender


def utc_now() -> datetime:
    """Return the current time, UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, eq=False)
class DashboardContext:
    """The dashboard's surroundings. `refresh_ms` is the live tick of every page;
    `tile_url` (an XYZ template) adds a raster base map, None draws none;
    `media_dir` keeps photos uploaded with a report or a resolve; `rules`
    returns the rules in force (`Rules`, or None), as the engine's watcher does."""

    store: Store
    directory: Directory
    accounts: Accounts
    sender: Sender | None = None
    clock: Callable[[], datetime] = utc_now
    tile_url: str | None = None
    refresh_ms: int = 2000
    media_dir: Path | None = None
    secret_key: bytes | None = None
    rules: Callable[[], object] | None = None
    _scopes: dict = field(default_factory=dict, repr=False)  # actor id -> (rule ids, Scope)

    @property
    def registry(self) -> Registry:
        """Return the city's registers."""
        return self.directory.registry

    @property
    def regions(self) -> Regions:
        """Return the city's boundaries and cell table."""
        return self.directory.regions

    def rule_set(self) -> tuple:
        """Return the rules in force (empty when the node runs none)."""
        found = self.rules() if self.rules else None
        return tuple(getattr(found, "rules", ()) or ())

    def scope(self, actor: Actor) -> Scope:
        """Return what `actor` may see (kept per actor until the rules change)."""
        env = frozenset(r.id for r in self.rule_set() if r.metric in ENVIRONMENT_METRICS)
        cached = self._scopes.get(actor.actor_id)
        if cached is None or cached.environment_rules != env or cached.actor != actor:
            cached = self._scopes[actor.actor_id] = Scope(actor, self.registry, self.regions,
                                                          env)
        return cached
