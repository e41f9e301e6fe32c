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
import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from alerts import produce_simulated  # a sibling bench script

from onegrid.streams.broker import create_topics, start_broker


def drain(bootstrap: str, prefix: str, db: Path, cases: bool) -> tuple[float, str]:
    """Run the engine until idle; return its messages/s and its final line."""
    cmd = [sys.executable, "-m", "onegrid.cli", "run", "--bootstrap", bootstrap,
           "--prefix", prefix, "--db", str(db), "--group", f"g-{uuid.uuid4().hex[:6]}",
           "--until-idle", "3", *([] if cases else ["--no-cases"])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"engine failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    final = proc.stderr.strip().splitlines()[-1]
    rate = re.search(r"\(([\d,]+) messages/s\)", final)
    if not rate:
        raise SystemExit(f"no rate in: {final}")
    return float(rate.group(1).replace(",", "")), final


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
            bare, _ = drain(bootstrap, prefix, Path(tmp) / "a.duckdb", cases=False)
            full, final = drain(bootstrap, prefix, Path(tmp) / "b.duckdb", cases=True)
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
