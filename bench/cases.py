"""Benchmark: what cases cost the engine, one run.

Puts N simulated demo-city messages on the broker (20 % incident reports, each
of which opens or joins a case) and times `onegrid run` draining them twice
into fresh stores: with `--no-cases`, and with cases on (intake, routing,
the case log and its hash chain, `onegrid.cases` messages). Both with the
demo rules. Prints both rates and the number of cases.

    python bench/cases.py [-n 100000] [--bootstrap HOST:PORT]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import uuid
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alerts import drain, produce_simulated  # a sibling bench script

from onegrid.streams.broker import create_topics, start_broker


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--bootstrap", default=None)
    args = ap.parse_args()
    broker = None if args.bootstrap else start_broker()
    bootstrap = args.bootstrap or broker.bootstrap
    try:
        prefix = f"bc-{uuid.uuid4().hex[:6]}."
        create_topics(bootstrap, prefix=prefix)
        sent = produce_simulated(bootstrap, prefix, args.n)
        print(f"produced {sent:,} simulated messages")
        with tempfile.TemporaryDirectory() as tmp:
            bare, _ = drain(bootstrap, prefix, Path(tmp) / "a.duckdb", ["--no-cases"])
            full, final = drain(bootstrap, prefix, Path(tmp) / "b.duckdb", [])
            with duckdb.connect(str(Path(tmp) / "b.duckdb"), read_only=True) as con:
                cases, logged = con.execute("SELECT (SELECT count(*) FROM cases), "
                                            "(SELECT count(*) FROM case_log)").fetchall()[0]
        print(f"engine, rules, --no-cases:   {bare:,.0f} messages/s")
        print(f"engine, rules and cases:     {full:,.0f} messages/s   ({final})")
        print(f"cases opened {cases:,}, case-log rows {logged:,}; ratio {full / bare:.2f}")
    finally:
        if broker:
            broker.stop()


if __name__ == "__main__":
    main()
