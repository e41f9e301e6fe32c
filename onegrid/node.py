"""One node on one machine: what `onegrid up` and `onegrid serve` start.

`up` wires the parts together in one process: the embedded broker (unless a
cluster is given), the engine on its own thread, the simulator on another, and
the dashboard serving from the engine's store (DuckDB lets one process own the
file; each thread reads through its own cursor). Everything stops cleanly on
Ctrl-C or SIGTERM. The parts themselves live in their packages.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onegrid.alerts.casework import Directory
from onegrid.alerts.directory import load_directory
from onegrid.dashboard import DashboardContext, create_app, serve, start_server
from onegrid.dashboard.auth import load_accounts
from onegrid.geo.store import Store
from onegrid.streams.broker import running_broker
from onegrid.streams.consumer import EngineConfig, EngineRunner
from onegrid.streams.engine import City, Rules
from onegrid.streams.episode_feed import EpisodeSettings
from onegrid.streams.producer import make_producer, send_messages
from onegrid.streams.sender import Sender, make_sender
from onegrid.streams.simulator import simulate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UpOptions:
    """What `onegrid up` runs and where."""

    bootstrap: str | None
    prefix: str
    db: Path
    partitions: int = 3
    host: str = "127.0.0.1"
    port: int = 8050
    rate: float = 200.0
    seed: int = 7
    simulate: bool = True
    tile_url: str | None = None
    session_timeout_ms: int = 8000
    client_config: dict | None = None  # SASL/TLS settings for an external cluster
    backfill_s: float = 3600.0  # simulated history sent at start, so the map is not empty


def dashboard_context(store: Store, city: City, *, sender: Sender | None,
                      directory: Directory | None = None,
                      rules: Callable[[], Rules] | None = None,
                      tile_url: str | None = None) -> DashboardContext:
    """Return the dashboard's context over `store`: the city's directory and accounts,
    the sender for user actions (None: look, don't act) and the rules in force."""
    directory = directory or load_directory(city.registry, city.regions)
    accounts = load_accounts(city.registry.folder, directory.staff)
    return DashboardContext(store=store, directory=directory, accounts=accounts, sender=sender,
                            tile_url=tile_url, rules=rules, media_dir=store.path.parent / "media")


def serve_dashboard(db: str | Path, city: City, host: str, port: int,
                    tile_url: str | None = None, bootstrap: str | None = None,
                    prefix: str = "onegrid.", client_config: dict | None = None,
                    rules: Callable[[], Rules] | None = None) -> None:
    """Serve the dashboard from a store file no other process holds open; with
    `bootstrap`, user actions go to that cluster's `onegrid.commands`."""
    sender = make_sender(bootstrap, prefix, **(client_config or {})) if bootstrap else None
    with Store(db) as store:
        app = create_app(dashboard_context(store, city, sender=sender, rules=rules,
                                           tile_url=tile_url))
        print(f"onegrid serve: dashboard on http://{host}:{port}/login", flush=True)
        try:
            serve(app, host, port)
        finally:
            if sender is not None:
                sender.close()


def _simulate_forever(opts: UpOptions, city: City, bootstrap: str, stop: threading.Event) -> None:
    """Send an hour of history at once, then live traffic in real time, minute by minute."""
    producer = make_producer(bootstrap, **(opts.client_config or {}))
    try:
        now = datetime.now(UTC)
        history = simulate(city.registry, rate=opts.rate, duration_s=opts.backfill_s,
                           seed=opts.seed, start=now - timedelta(seconds=opts.backfill_s))
        send_messages(producer, _until(history, stop), opts.prefix)
        chunk, start = 60.0, now
        while not stop.is_set():
            live = simulate(city.registry, rate=opts.rate, duration_s=chunk,
                            seed=opts.seed + int(start.timestamp()), start=start)
            send_messages(producer, _until(live, stop), opts.prefix, pace=1.0)
            start += timedelta(seconds=chunk)
    except Exception:  # the demo traffic failing must not take the node down
        log.exception("simulator stopped")
    finally:
        producer.close()


def _until(messages, stop: threading.Event):
    for m in messages:
        if stop.is_set():
            return
        yield m


def run_up(opts: UpOptions, city: City, rules: Callable[[], Rules] | None = None,
           cases: Directory | None = None, episodes: EpisodeSettings | None = None) -> int:
    """Run broker, engine, simulator and dashboard until interrupted; return 0.

    `rules` gives the rules in force (see `rule_source.watch_rules`); None: no alerts.
    `cases` is the city's case directory; None: no cases. `episodes`: how exceedance
    episodes are kept and shared; None: not at all.
    """
    stop = threading.Event()
    with running_broker(opts.bootstrap, opts.prefix, opts.partitions,
                        client_config=opts.client_config) as bootstrap, \
            Store(opts.db) as store:
        config = EngineConfig(bootstrap=bootstrap, prefix=opts.prefix,
                              group_id="onegrid-engine",
                              session_timeout_ms=opts.session_timeout_ms,
                              status_interval_s=5.0,
                              client_config=dict(opts.client_config or {}))
        engine = EngineRunner(config, city, store, out=None, rules=rules, cases=cases,
                              episodes=episodes)
        engine_thread = threading.Thread(target=engine.run, name="onegrid-engine", daemon=True)
        engine_thread.start()
        simulator = threading.Thread(target=_simulate_forever,
                                     args=(opts, city, bootstrap, stop),
                                     name="onegrid-simulator", daemon=True)
        if opts.simulate:
            simulator.start()
        sender = make_sender(bootstrap, opts.prefix, **(opts.client_config or {}))
        app = create_app(dashboard_context(store, city, sender=sender, directory=cases,
                                           rules=rules, tile_url=opts.tile_url))
        server = start_server(app, opts.host, opts.port)
        print(f"onegrid up: broker {bootstrap}, store {opts.db}\n"
              f"onegrid up: dashboard on {server.url}login  (Ctrl-C stops everything)",
              flush=True)

        def shutdown(_signum=None, _frame=None):
            stop.set()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, shutdown)
        stop.wait()
        print("onegrid up: stopping", flush=True)
        server.stop()
        sender.close()
        # Producers and consumers close before the broker they talk to stops.
        if simulator.is_alive():
            simulator.join(15)
        engine.stop()
        engine_thread.join(120)  # the write in hand finishes; queued batches are read again
        if engine_thread.is_alive():
            log.warning("the engine did not stop within 120 s; stopping the broker anyway")
    return 0
