"""The `onegrid` command line: parse arguments, call one function, report.

Each command is a small function here; the work lives in the packages. Every
failure the user can cause ends in a one-line reason on stderr and a non-zero
exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from onegrid.streams.contract import TOPIC_PREFIX_DEFAULT

DEFAULT_DB = "var/onegrid.duckdb"


class UserError(Exception):
    """A failure the user can fix; printed as one line, exit status 2."""


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(name, default)


def _add_kafka(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--bootstrap", default=_env("ONEGRID_BOOTSTRAP"), required=False,
                   help="Kafka HOST:PORT (default $ONEGRID_BOOTSTRAP"
                        + ("" if required else "; none: start the embedded broker") + ")")
    p.add_argument("--prefix", default=_env("ONEGRID_TOPIC_PREFIX", TOPIC_PREFIX_DEFAULT),
                   help="topic name prefix (default $ONEGRID_TOPIC_PREFIX or 'onegrid.')")
    p.add_argument("--kafka-option", action="append", default=[], metavar="KEY=VALUE",
                   help="kafka-python client setting, e.g. security_protocol=SASL_SSL, "
                        "sasl_mechanism=SCRAM-SHA-512, sasl_plain_username=..., "
                        "ssl_cafile=...; repeat per setting")


def _kafka_options(args) -> dict:
    """Return --kafka-option settings as kafka-python keyword arguments."""
    options = {}
    for item in getattr(args, "kafka_option", []):
        key, sep, value = item.partition("=")
        if not sep or not key.isidentifier():
            raise UserError(f"--kafka-option {item!r}: expected KEY=VALUE, "
                            "e.g. security_protocol=SASL_SSL")
        options[key] = int(value) if value.isdigit() else value
    return options


def _add_db(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", default=_env("ONEGRID_DB", DEFAULT_DB),
                   help=f"DuckDB file of this node (default $ONEGRID_DB or {DEFAULT_DB})")


def _add_city(p: argparse.ArgumentParser) -> None:
    p.add_argument("--city", default=_env("ONEGRID_CITY"),
                   help="city folder (default $ONEGRID_CITY or the bundled demo city)")


def _need_bootstrap(args) -> str:
    if not args.bootstrap:
        raise UserError("no Kafka to talk to: pass --bootstrap HOST:PORT or set "
                        "ONEGRID_BOOTSTRAP")
    return args.bootstrap


def _load_city(folder: str | None):
    from onegrid.geo.regions import RegionsError, load_regions
    from onegrid.geo.registry import RegistryError, load_registry
    from onegrid.streams.engine import City

    try:
        path = Path(folder) if folder else None
        return City(load_registry(path), load_regions(path))
    except (RegistryError, RegionsError) as exc:
        raise UserError(str(exc)) from None


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(signum, _frame):
        stop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)


# -- commands ------------------------------------------------------------------

def cmd_broker(args) -> int:
    """Run the embedded broker with the topics created, until interrupted; with
    --bootstrap, create the topics on that cluster instead and return."""
    from onegrid.streams.broker import create_topics, running_broker

    if args.bootstrap:
        names = create_topics(args.bootstrap, args.prefix, args.partitions,
                              **_kafka_options(args))
        print(f"onegrid broker: topics ready on {args.bootstrap}: {', '.join(names)}")
        return 0
    stop = threading.Event()
    _stop_on_signals(stop.set)
    with running_broker(None, args.prefix, args.partitions) as bootstrap:
        print(f"onegrid broker: listening on {bootstrap} (topics prefix {args.prefix!r}, "
              f"{args.partitions} partitions); Ctrl-C stops it", flush=True)
        stop.wait()
    return 0


def _rules(args, city):
    """Return the rules provider for --rules (None with --no-rules); bad file: UserError."""
    from onegrid.alerts.rules import RuleError
    from onegrid.alerts.silences import SilenceError
    from onegrid.streams.rule_source import DEMO_RULES, watch_rules

    if getattr(args, "no_rules", False):
        return None
    silences = getattr(args, "silences", None)
    try:
        return watch_rules(Path(args.rules) if args.rules else DEMO_RULES, city,
                           Path(silences) if silences else None)
    except (RuleError, SilenceError, OSError) as exc:
        raise UserError(str(exc)) from None


def _cases(args, city):
    """Return the city's case directory (None with --no-cases); bad file: UserError."""
    from onegrid.alerts.actors import StaffError
    from onegrid.alerts.directory import load_directory
    from onegrid.alerts.plans import PlanError
    from onegrid.geo.registry import RegistryError

    if getattr(args, "no_cases", False):
        return None
    try:
        return load_directory(city.registry, city.regions)
    except (StaffError, PlanError, RegistryError, OSError) as exc:
        raise UserError(str(exc)) from None


def cmd_rules_check(args) -> int:
    """Validate a rule file; print every problem with file and line."""
    from onegrid.alerts.rules import check_rules
    from onegrid.streams.rule_source import known_metrics, known_regions

    city = _load_city(args.city)
    problems = check_rules(Path(args.file), known_metrics(city), known_regions(city))
    for line in problems:
        print(line, file=sys.stderr)
    if problems:
        return 1
    print(f"onegrid rules check: {args.file} is valid")
    return 0


def cmd_rules_backtest(args) -> int:
    """Replay stored history through a rule file; print what it would raise and the diff."""
    import duckdb

    from onegrid.alerts.rules import RuleError
    from onegrid.streams.backtest import backtest, open_history
    from onegrid.streams.engine import Rules
    from onegrid.streams.rule_source import rule_loader

    city = _load_city(args.city)
    start, end = _aware(args.start, "--from"), _aware(args.end, "--to")
    try:
        rules = Rules(rule_loader(city)(Path(args.rules)).rules)
    except (RuleError, OSError) as exc:
        raise UserError(str(exc)) from None
    try:
        history = open_history(Path(args.db))
    except duckdb.Error as exc:
        raise UserError(f"{args.db}: cannot open for reading ({exc}); stop the engine "
                        "holding it, or back-test a copy") from None
    with history:
        result = backtest(history, rules, city, start, end)
    for c in result.changes:
        print(f"{c['at'].isoformat()}  {c['rule_id']:<28} {c['key']:<24} {c['state']:<9} "
              f"{c['level']:<8} value={c['value']}")
    print(f"onegrid rules backtest: {len(result.changes)} alert changes; "
          f"{len(result.only_backtest)} only in the back-test, "
          f"{len(result.only_live)} only in what fired live")
    for row in result.only_backtest:
        print("  + would have:", *row)
    for row in result.only_live:
        print("  - fired live, not now:", *row)
    return 0


def _aware(text: str, flag: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UserError(f"{flag} {text!r}: not an ISO-8601 time") from None
    if value.tzinfo is None:
        raise UserError(f"{flag} needs a UTC offset, e.g. 2026-06-01T08:00:00+08:00")
    return value


def cmd_run(args) -> int:
    """Run the engine node: consume, validate, store, until stopped or idle."""
    from onegrid.geo.store import Store
    from onegrid.streams.consumer import EngineConfig, EngineRunner

    bootstrap = _need_bootstrap(args)
    city = _load_city(args.city)
    config = EngineConfig(bootstrap=bootstrap, prefix=args.prefix, group_id=args.group,
                          session_timeout_ms=args.session_timeout_ms,
                          until_idle_s=args.until_idle, client_config=_kafka_options(args),
                          live_db_threads=args.live_db_threads or None)
    rules = _rules(args, city)
    cases = _cases(args, city)
    with Store(args.db, threads=args.db_threads) as store:
        runner = EngineRunner(config, city, store, rules=rules, cases=cases,
                              episodes=_episodes(args, city))
        _stop_on_signals(runner.stop)
        stats = runner.run()
    drain = (f" in {stats.drain_s:.2f} s from first record to last commit "
             f"({(stats.stored + stats.rejected) / stats.drain_s:,.0f} messages/s)"
             if stats.drain_s else "")
    print(f"onegrid run: stored {stats.stored} events, {stats.rejected} dead letters{drain}",
          file=sys.stderr)
    return 0


def _episodes(args, city):
    """Return the engine's episode settings (None with --no-episodes)."""
    from onegrid.streams.episode_feed import EpisodeSettings

    if getattr(args, "no_episodes", False):
        return None
    if not args.edge_km >= 0:
        raise UserError(f"--edge-km {args.edge_km}: expected a distance of 0 km or more")
    return EpisodeSettings(city.registry.city_id, edge_km=args.edge_km)


def _add_episodes(p: argparse.ArgumentParser) -> None:
    p.add_argument("--edge-km", type=float, default=float(_env("ONEGRID_EDGE_KM", "3")),
                   help="an exceedance episode at a station this close to the city's outline "
                        "is shared on onegrid.shared (default $ONEGRID_EDGE_KM or 3)")
    p.add_argument("--no-episodes", action="store_true",
                   help="keep no exceedance episodes and share none")


def cmd_simulate(args) -> int:
    """Send simulated demo-city traffic to the input topics."""
    from onegrid.streams.producer import make_producer, send_messages
    from onegrid.streams.simulator import simulate

    bootstrap = _need_bootstrap(args)
    city = _load_city(args.city)
    if args.start:
        start = _aware(args.start, "--start")
    elif args.fast:
        # Sent all at once, so end the simulated span now: the engine refuses
        # events more than 5 minutes ahead of its clock.
        start = datetime.now(UTC) - timedelta(seconds=args.duration)
    else:
        start = datetime.now(UTC)
    messages = simulate(city.registry, rate=args.rate, duration_s=args.duration,
                        seed=args.seed, start=start, malformed_share=args.malformed)
    producer = make_producer(bootstrap, **_kafka_options(args))
    try:
        sent = send_messages(producer, messages, args.prefix,
                             pace=None if args.fast else args.pace, progress=True)
    finally:
        producer.close()
    print(f"onegrid simulate: sent {sent} messages", file=sys.stderr)
    return 0


def cmd_replay(args) -> int:
    """Send the events of a JSONL file to the input topics."""
    from onegrid.streams.producer import make_producer
    from onegrid.streams.replay import replay_file

    bootstrap = _need_bootstrap(args)
    if not Path(args.file).is_file():
        raise UserError(f"{args.file}: file not found")
    producer = make_producer(bootstrap, **_kafka_options(args))
    try:
        sent, skipped = replay_file(producer, Path(args.file), args.prefix, progress=True)
    finally:
        producer.close()
    print(f"onegrid replay: sent {sent} messages, skipped {skipped}", file=sys.stderr)
    return 0


def cmd_dlq_replay(args) -> int:
    """Re-send dead letters to their source topics once their cause is fixed."""
    from onegrid.streams.contract import ErrorCode
    from onegrid.streams.dlq import replay_dead_letters

    bootstrap = _need_bootstrap(args)
    codes = set(args.code) or None
    unknown = sorted((codes or set()) - {c.value for c in ErrorCode})
    if unknown:
        raise UserError(f"unknown error code(s) {', '.join(unknown)}; see docs/contract.md")
    since = _aware(args.since, "--since") if args.since else None
    report = replay_dead_letters(bootstrap, args.prefix, codes=codes, since=since,
                                 dry_run=args.dry_run, **_kafka_options(args))
    print(("onegrid dlq replay (dry run): would have " if args.dry_run else
           "onegrid dlq replay: ") + report.summary())
    return 0


def cmd_schemas(args) -> int:
    """Write the contract's JSON Schemas (one file per input topic)."""
    from onegrid.streams.schemas import write_schemas

    for path in write_schemas(Path(args.out) if args.out else None):
        print(path)
    return 0


def _level_fields(specs: list[str]) -> dict | None:
    """Parse --field LEVEL=ID[,NAME_ZH[,NAME_EN]] options into LevelFields."""
    from onegrid.geo.city_import import LevelFields
    from onegrid.geo.regions import LEVELS

    fields = {}
    for spec in specs:
        level, _, cols = spec.partition("=")
        parts = [c or None for c in cols.split(",")]
        if level not in LEVELS or not parts or not parts[0]:
            raise UserError(f"--field {spec!r}: expected LEVEL=ID_COLUMN[,NAME_ZH[,NAME_EN]] "
                            f"with LEVEL one of {', '.join(LEVELS)}")
        fields[level] = LevelFields(*parts[:3])
    return fields or None


def cmd_city_import(args) -> int:
    """Import a city's own boundaries and build its grid."""
    from onegrid.geo.city_import import import_city

    try:
        out = import_city(Path(args.src), Path(args.out), layer=args.layer,
                          fields=_level_fields(args.field), src_crs=args.src_crs,
                          qualify_ids=args.qualify_ids, grid_area_m2=args.grid_area_m2,
                          echo=print)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc)) from None
    print(f"onegrid city import: wrote {out}; add its registers (metrics.csv, sensors.csv, "
          "..., pollution_sources.csv; see onegrid/data/README.md) and pass --city to use it")
    return 0


def cmd_serve(args) -> int:
    """Serve the dashboard from a node's store."""
    import duckdb

    from onegrid.node import serve_dashboard

    city = _load_city(args.city)
    rules = None if args.no_rules else _rules(args, city)
    try:
        serve_dashboard(args.db, city, args.host, args.port, tile_url=args.tile_url,
                        bootstrap=args.bootstrap, prefix=args.prefix,
                        client_config=_kafka_options(args), rules=rules)
    except duckdb.IOException as exc:
        if "lock" not in str(exc).lower():
            raise
        raise UserError(f"{args.db} is open in another process (an engine?); DuckDB lets one "
                        "process own a store: serve a copy, or run `onegrid up`, whose "
                        "dashboard shares the engine's store") from None
    return 0


def cmd_up(args) -> int:
    """Run everything on this machine: broker, simulator, engine and dashboard."""
    from onegrid.node import UpOptions, run_up

    city = _load_city(args.city)
    opts = UpOptions(bootstrap=args.bootstrap, prefix=args.prefix, db=Path(args.db),
                     partitions=args.partitions, host=args.host, port=args.port,
                     rate=args.rate, seed=args.seed, simulate=not args.no_simulator,
                     tile_url=args.tile_url, session_timeout_ms=args.session_timeout_ms,
                     client_config=_kafka_options(args), backfill_s=args.history)
    return run_up(opts, city, _rules(args, city), _cases(args, city), _episodes(args, city))


# -- parser --------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of every `onegrid` command."""
    parser = argparse.ArgumentParser(prog="onegrid", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("up", help="broker, simulator, engine and dashboard on this machine")
    _add_kafka(p), _add_db(p), _add_city(p)
    p.add_argument("--partitions", type=int, default=3, help="partitions per topic (default 3)")
    p.add_argument("--host", default="127.0.0.1", help="dashboard host (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8050, help="dashboard port (default 8050)")
    p.add_argument("--rate", type=float, default=200.0, help="simulated messages/s (default 200)")
    p.add_argument("--seed", type=int, default=7, help="simulator seed (default 7)")
    p.add_argument("--no-simulator", action="store_true", help="do not send demo traffic")
    p.add_argument("--history", type=float, default=3600.0, metavar="SECONDS",
                   help="simulated history sent at start, so the map is not empty (default 3600)")
    p.add_argument("--tile-url", default=_env("ONEGRID_TILE_URL"),
                   help="raster tile URL template for the map (default: no tiles)")
    p.add_argument("--session-timeout-ms", type=int, default=8000)
    p.add_argument("--rules", default=_env("ONEGRID_RULES"),
                   help="rule file (default: the bundled data/rules.toml)")
    p.add_argument("--silences", default=_env("ONEGRID_SILENCES"),
                   help="silence file (TOML; see docs/rules.md)")
    _add_episodes(p)
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("broker", help="the embedded Kafka-protocol broker, topics created")
    _add_kafka(p)
    p.add_argument("--partitions", type=int, default=3, help="partitions per topic (default 3)")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("run", help="the engine node: consume, validate, store, rules, cases")
    _add_kafka(p, required=True), _add_db(p), _add_city(p)
    p.add_argument("--group", default="onegrid-engine", help="consumer group id")
    p.add_argument("--until-idle", type=float, default=None, metavar="SECONDS",
                   help="exit once nothing new has arrived for this long")
    p.add_argument("--session-timeout-ms", type=int, default=8000,
                   help="consumer group session timeout (default 8000)")
    p.add_argument("--rules", default=_env("ONEGRID_RULES"),
                   help="rule file (default $ONEGRID_RULES or the bundled data/rules.toml); "
                        "reloaded when it changes")
    p.add_argument("--no-rules", action="store_true", help="decide no alerts")
    p.add_argument("--no-cases", action="store_true",
                   help="apply no case commands and open no cases (ingest benchmarks)")
    p.add_argument("--silences", default=_env("ONEGRID_SILENCES"),
                   help="silence file (TOML; see docs/rules.md); reloaded when it changes")
    p.add_argument("--db-threads", type=int, default=int(_env("ONEGRID_DB_THREADS", "0")) or None,
                   help="DuckDB worker threads (default: one per core)")
    p.add_argument("--live-db-threads", type=int,
                   default=int(_env("ONEGRID_LIVE_DB_THREADS", "1")),
                   help="DuckDB worker threads while writing live traffic (default 1: small "
                        "transactions run faster unsplit; 0: keep --db-threads)")
    _add_episodes(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("serve", help="the dashboard, from a node's store")
    _add_db(p), _add_city(p), _add_kafka(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8050)
    p.add_argument("--tile-url", default=_env("ONEGRID_TILE_URL"),
                   help="XYZ raster tile URL for a base map (default none: our boundaries only)")
    p.add_argument("--rules", default=_env("ONEGRID_RULES"),
                   help="the rule file the engine runs, for rule titles (default: demo rules)")
    p.add_argument("--no-rules", action="store_true", help="show no rule titles")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("simulate", help="realistic demo traffic for the city")
    _add_kafka(p, required=True), _add_city(p)
    p.add_argument("--rate", type=float, default=100.0, help="messages per second")
    p.add_argument("--duration", type=float, default=60.0, help="seconds of simulated time")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", default=None, help="simulated start time (ISO-8601, default now)")
    p.add_argument("--pace", type=float, default=1.0,
                   help="1 = real time, 10 = ten times faster (default 1)")
    p.add_argument("--fast", action="store_true", help="send as fast as possible")
    p.add_argument("--malformed", type=float, default=0.005,
                   help="share of malformed messages (default 0.005)")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("replay", help="produce the events of a JSONL file")
    _add_kafka(p, required=True)
    p.add_argument("file", help="a .jsonl file: one event or envelope per line")
    p.set_defaults(func=cmd_replay)

    dlq = sub.add_parser("dlq", help="dead letters")
    dsub = dlq.add_subparsers(dest="dlq_command", required=True, metavar="COMMAND")
    p = dsub.add_parser("replay", help="re-send dead letters to their source topics once "
                                       "their cause is fixed")
    _add_kafka(p, required=True)
    p.add_argument("--code", action="append", default=[], metavar="ERROR_CODE",
                   help="only dead letters with this error code (repeat for several)")
    p.add_argument("--since", default=None, help="only dead letters written since (ISO-8601)")
    p.add_argument("--dry-run", action="store_true", help="count, send nothing")
    p.set_defaults(func=cmd_dlq_replay)

    p = sub.add_parser("schemas", help="write the event contract's JSON Schemas")
    p.add_argument("--out", default=None, help="folder (default: the bundled data/schemas)")
    p.set_defaults(func=cmd_schemas)

    rules = sub.add_parser("rules", help="rule files: check, back-test")
    rsub = rules.add_subparsers(dest="rules_command", required=True, metavar="COMMAND")
    p = rsub.add_parser("check", help="validate a rule file without running it")
    _add_city(p)
    p.add_argument("file", help="the rule file (TOML)")
    p.set_defaults(func=cmd_rules_check)
    p = rsub.add_parser("backtest", help="replay stored history through a rule file")
    _add_db(p), _add_city(p)
    p.add_argument("--rules", required=True, help="the rule file to try")
    p.add_argument("--from", dest="start", required=True, help="start (ISO-8601 with offset)")
    p.add_argument("--to", dest="end", required=True, help="end (ISO-8601 with offset)")
    p.set_defaults(func=cmd_rules_backtest)

    city = sub.add_parser("city", help="city boundaries and grid")
    csub = city.add_subparsers(dest="city_command", required=True, metavar="COMMAND")
    p = csub.add_parser("import", help="load a city from GeoJSON, GeoPackage or Shapefile")
    p.add_argument("src", help="boundary file: one feature per grid (or per community)")
    p.add_argument("--out", required=True, help="city folder to write")
    p.add_argument("--layer", default=None, help="layer of a multi-layer file")
    p.add_argument("--field", action="append", default=[], metavar="LEVEL=ID[,ZH[,EN]]",
                   help="columns of a level's id and names (default: <level>_id, "
                        "<level>_name_zh, <level>_name_en); repeat per level")
    p.add_argument("--src-crs", default=None, help="CRS when the file declares none")
    p.add_argument("--qualify-ids", action="store_true",
                   help="prefix ids unique only within their parent with the parent id")
    p.add_argument("--grid-area-m2", type=float, default=360_000.0,
                   help="grid size when the file has communities only (default 360000)")
    p.set_defaults(func=cmd_city_import)

    from onegrid.cli_cases import add_case_commands
    add_case_commands(sub, _add_db, _add_city)
    from onegrid.cli_opendata import add_opendata_commands
    add_opendata_commands(sub, _add_db, _add_city)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the `onegrid` command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        # kafka-python warns whenever a task holds its event loop over 100 ms,
        # which a busy 2-core node does routinely; it is noise to an operator.
        logging.getLogger("kafka").setLevel(logging.ERROR)
    try:
        return args.func(args)
    except UserError as exc:
        print(f"onegrid {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # the last guard: one line, not a traceback
        from onegrid.streams.broker import BrokerError
        if isinstance(exc, BrokerError | OSError):
            print(f"onegrid {args.command}: {exc}", file=sys.stderr)
            return 1
        if args.verbose:
            raise
        print(f"onegrid {args.command}: unexpected error: {exc!r} (run with -v for details)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    # Run the imported module's main, so `python -m onegrid.cli` and the helper
    # modules that raise onegrid.cli.UserError share one class.
    from onegrid.cli import main as _main
    sys.exit(_main())
