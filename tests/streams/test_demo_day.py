"""The demo day: simulator, engine and simulated staff give cases in every state, the
same ones from the same seed, and KPIs and an intact chain to show for it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

from onegrid.alerts.cases import CaseState
from onegrid.alerts.directory import load_directory
from onegrid.geo import case_store
from onegrid.geo.store import Store
from onegrid.streams.demo_day import run_demo_day
from onegrid.streams.engine import Rules
from onegrid.streams.rule_source import DEMO_RULES, rule_loader

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)  # 08:00 in Shanghai


def onegrid(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "onegrid.cli", *args], capture_output=True,
                          text=True, timeout=600)


def test_a_demo_day_runs_cases_through_every_state_with_kpis_and_an_intact_chain(tmp_path):
    db = tmp_path / "demo.duckdb"
    # The morning of the day (6 of its 24 hours, ~1/6 of the time): the seed is fixed, so
    # it reaches every state every time, as the whole day does; the rest is more of it.
    done = onegrid("demo-day", "--db", str(db), "--seed", "7", "--hours", "6")
    assert done.returncode == 0, done.stderr
    with Store(db, read_only=True) as store:
        cur = store.cursor()
        states = {r[0] for r in cur.execute("SELECT DISTINCT state FROM case_log").fetchall()}
        refused = dict(cur.execute("SELECT code, count(*) FROM case_commands "
                                   "WHERE outcome = 'rejected' GROUP BY code").fetchall())
    assert states == {str(s) for s in CaseState}, f"never reached: {set(CaseState) - states}"
    # Wrong dispatches, and handlers (department staff) trying to verify their own work.
    assert {"remit_refused", "not_allowed"} <= set(refused), refused
    kpi = onegrid("kpi", "--db", str(db))
    assert kpi.returncode == 0, kpi.stderr
    rows = [line.split() for line in kpi.stdout.splitlines()[1:]]
    assert rows and any(int(r[2]) > 0 for r in rows), "some department closed cases"
    audit = onegrid("audit", "verify", "--db", str(db))
    assert audit.returncode == 0 and "intact" in audit.stdout, audit.stdout + audit.stderr


def test_the_same_seed_gives_the_same_demo_day(tmp_path, demo_city):
    rules = Rules(rule_loader(demo_city)(DEMO_RULES).rules)
    directory = load_directory(demo_city.registry, demo_city.regions, rules.rules)
    heads = []
    for name in ("a", "b"):
        with Store(tmp_path / f"{name}.duckdb", threads=1) as store:
            day = run_demo_day(demo_city, store, directory, rules, start=START, hours=3,
                               seed=11)
            heads.append((day, case_store.chain_head(store.cursor())))
    assert heads[0][0].commands > 100, "the staff acted"
    assert heads[0] == heads[1], "the same seed, the same cases, log and hash chain"
