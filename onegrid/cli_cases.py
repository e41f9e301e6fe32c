"""The case commands of the `onegrid` CLI: `audit verify`, `kpi` and `demo-day`.

`audit verify` and `kpi` read a node's DuckDB file (so the engine that owns it
must be stopped, or run them against a replica's file); `demo-day` writes a
new one. Parsing of the other commands is in `cli`.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

import duckdb


def _open(path: str):
    """Return the store at `path` opened read-only; a missing or busy file: UserError."""
    from pathlib import Path

    from onegrid.cli import UserError
    from onegrid.geo.store import Store

    if not Path(path).is_file():
        raise UserError(f"{path}: no such store file")
    try:
        return Store(path, read_only=True)
    except duckdb.IOException as exc:
        raise UserError(f"{path}: cannot open ({str(exc).splitlines()[0]}); a running engine "
                        "owns its file: stop it or use a replica's") from None


def cmd_audit_verify(args) -> int:
    """Check the case log's hash chain; exit 1 naming the first broken row."""
    from onegrid.alerts.audit import verify_chain
    from onegrid.geo.case_store import chain_snapshot

    with _open(args.db) as store:
        rows, heads = chain_snapshot(store.cursor())
        broken = verify_chain(rows, heads)
    if broken is None:
        print(f"onegrid audit verify: {len(rows)} case-log rows, hash chain intact")
        return 0
    print(f"onegrid audit verify: BROKEN at log_seq {broken.log_seq}, case {broken.case_id} "
          f"seq {broken.seq} ({broken.kind}): {broken.problem}")
    return 1


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.0f}%"


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / 3600:.1f} h"


def _print_overdue(store, now: datetime) -> int:
    """Print the supervision list (督办): overdue cases, most overdue first."""
    from onegrid.alerts.supervision import overdue_list

    listed = overdue_list(store.cursor(), now)
    print(f"{'case':<28} {'state':<12} {'department':<12} {'grid':<14} {'level':>5} "
          f"{'overdue':>9}")
    for o in listed:
        c = o.case
        print(f"{c.case_id:<28} {c.state:<12} {c.department or '-':<12} {c.grid_id or '-':<14} "
              f"{c.escalation_level:>5} {_hours(o.overdue_s):>9}")
    print(f"{len(listed)} overdue at {now.isoformat()}", file=sys.stderr)
    return 0


def cmd_kpi(args) -> int:
    """Print the case KPIs per department or region, or the supervision list."""
    from onegrid.alerts.kpi import kpis
    from onegrid.cli import _aware

    since = _aware(args.since, "--since") if args.since else None
    until = _aware(args.until, "--until") if args.until else None
    if args.overdue:
        with _open(args.db) as store:
            return _print_overdue(store, _aware(args.at, "--at") if args.at
                                  else datetime.now(UTC))
    with _open(args.db) as store:
        rows = kpis(store.cursor(), args.by, since=since, until=until)
    header = (f"{args.by:<14} {'cases':>6} {'closed':>6} {'on time':>8} {'accept':>8} "
              f"{'resolve':>8} {'close':>8} {'returns':>8} {'reopens':>8} {'backlog':>8} "
              f"{'satisfied':>9}")
    print(header)
    for k in rows:
        print(f"{k.key:<14} {k.cases:>6} {k.closed:>6} {_rate(k.on_time_rate):>8} "
              f"{_hours(k.mean_accept_s):>8} {_hours(k.mean_resolve_s):>8} "
              f"{_hours(k.mean_close_s):>8} {_rate(k.return_rate):>8} "
              f"{_rate(k.reopen_rate):>8} {k.backlog:>8} {_rate(k.satisfaction_rate):>9}")
    if not rows:
        print("(no cases)", file=sys.stderr)
    return 0


def cmd_demo_day(args) -> int:
    """Write a simulated day of traffic, alerts and cases into a new store."""
    from pathlib import Path

    from onegrid.alerts.directory import load_directory
    from onegrid.cli import UserError, _aware, _load_city, _rules
    from onegrid.geo.store import Store
    from onegrid.streams.demo_day import run_demo_day
    from onegrid.streams.episode_feed import EpisodeSettings

    if Path(args.db).exists():
        raise UserError(f"{args.db} exists; the demo day writes a new store")
    city = _load_city(args.city)
    watcher = _rules(args, city)
    rules = watcher() if watcher else None
    directory = load_directory(city.registry, city.regions, rules.rules if rules else ())
    start = _aware(args.start, "--start")
    with Store(args.db, threads=1) as store:
        day = run_demo_day(city, store, directory, rules, start=start, hours=args.hours,
                           rate=args.rate, seed=args.seed,
                           episodes=EpisodeSettings(city.registry.city_id))
    print(f"onegrid demo-day: {day.events} events, {day.dead_letters} dead letters, "
          f"{day.alert_changes} alert changes, {day.commands} staff commands "
          f"({day.refused} refused) into {args.db}")
    print("cases ever in each state: " + ", ".join(f"{k} {v}" for k, v in day.states.items()))
    return 0


def add_case_commands(sub: argparse._SubParsersAction, add_db, add_city) -> None:
    """Register `audit verify`, `kpi` and `demo-day` on the CLI's subcommands."""
    audit = sub.add_parser("audit", help="the case log's tamper evidence")
    asub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")
    p = asub.add_parser("verify", help="check the case log's hash chain; exit 1 at the first "
                                       "broken row")
    add_db(p)
    p.set_defaults(func=cmd_audit_verify)

    p = sub.add_parser("kpi", help="case KPIs per department or region, from the case log")
    add_db(p)
    p.add_argument("--by", choices=("department", "district", "street"), default="department")
    p.add_argument("--since", default=None, help="cases created from (ISO-8601 with offset)")
    p.add_argument("--until", default=None, help="cases created before (ISO-8601 with offset)")
    p.add_argument("--overdue", action="store_true",
                   help="print the supervision list (督办): cases past their time limit")
    p.add_argument("--at", default=None,
                   help="with --overdue: the time to judge at (default now; ISO-8601)")
    p.set_defaults(func=cmd_kpi)

    p = sub.add_parser("demo-day", help="a simulated day of traffic, alerts and cases, worked "
                                        "by simulated staff, into a new store")
    add_db(p), add_city(p)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start", default="2026-06-01T08:00:00+08:00",
                   help="simulated start (ISO-8601 with offset; default 08:00 Shanghai)")
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--rate", type=float, default=0.4,
                   help="simulated messages per second, all inputs (default 0.4)")
    p.add_argument("--rules", default=None, help="rule file (default: the bundled one)")
    p.set_defaults(func=cmd_demo_day)


__all__ = ["add_case_commands", "cmd_audit_verify", "cmd_demo_day", "cmd_kpi"]
