"""The case tables: schema, writing decisions as Arrow tables, and the reads casework uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onegrid.geo import case_store as cs

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def case_row(case_id="C-1", state="dispatched", **kw):
    return {"case_id": case_id, "seq": 1, "state": state, "category": "exposed_garbage",
            "severity": 2, "department": "CN-lhsr", "assisting": ["CN-cg"],
            "grid_id": "CN-01-01-01", "cell": 622351711563972607, "created_at": T0,
            "due_at": T0 + timedelta(hours=2), "escalation_level": 0, "steps_done": [], **kw}


def source_row(source_id, case_id="C-1", cell=622351711563972607, at=T0,
               category="exposed_garbage"):
    return {"kind": "report", "source_id": source_id, "case_id": case_id,
            "category": category, "cell": cell, "at": at, "severity": 2}


def log_row(log_seq, case_id="C-1", seq=1):
    return {"log_seq": log_seq, "case_id": case_id, "seq": seq, "action": "open",
            "actor": "CC-01", "at": T0 + timedelta(microseconds=7), "state": "new",
            "detail": "{}", "prev_hash": "p", "hash": f"h{log_seq}"}


def write(store, **rows):
    tables = {name: cs.rows_to_table(name, r) for name, r in rows.items()}
    return store.write(lambda cur: cs.write_case_decisions(cur, tables))


@pytest.mark.parametrize(("table", "columns"), [
    ("cases", {"case_id", "state", "category", "department", "grid_id", "created_at",
               "due_at"}),
    ("case_log", {"case_id", "seq", "action", "actor", "at", "reason", "prev_hash", "hash"}),
])
def test_case_tables_have_the_contract_columns(store, table, columns):
    names = {r[0] for r in store.cursor().execute(f"DESCRIBE {table}").fetchall()}
    assert columns <= names


def test_every_table_in_the_ddl_has_a_schema(store):
    tables = {r[0] for r in store.cursor().execute("SHOW TABLES").fetchall()}
    assert set(cs.SCHEMAS) <= tables
    for name, schema in cs.SCHEMAS.items():
        names = [r[0] for r in store.cursor().execute(f"DESCRIBE {name}").fetchall()]
        assert names == schema.names, name


def test_written_case_reads_back_with_timestamps_and_lists(store):
    write(store, cases=[case_row()])
    (row,) = cs.read_cases(store.cursor(), ["C-1", "C-404"])
    assert row["created_at"] == T0 and row["due_at"] == T0 + timedelta(hours=2)
    assert row["assisting"] == ["CN-cg"] and row["cell"] == 622351711563972607
    assert row["dispatched_at"] is None


def test_cases_are_upserted_and_the_log_appended(store):
    write(store, cases=[case_row()], case_log=[log_row(1)])
    write(store, cases=[case_row(state="accepted", seq=2)], case_log=[log_row(2, seq=2)])
    cur = store.cursor()
    assert cur.execute("SELECT state, seq FROM cases").fetchall() == [("accepted", 2)]
    rows = cs.log_rows(cur)
    assert [r["log_seq"] for r in rows] == [1, 2]
    assert rows[0]["at"] == T0 + timedelta(microseconds=7)  # microseconds kept exactly
    assert cs.chain_head(cur) == (2, "h2") and cs.case_heads(cur) == {"C-1": 2}


def test_empty_log_has_no_head(store):
    assert cs.chain_head(store.cursor()) == (0, None)


def test_sources_move_by_upsert(store):
    write(store, case_sources=[source_row("r1")])
    write(store, case_sources=[source_row("r1", case_id="C-2")])
    assert [r["case_id"] for r in cs.sources_by_id(store.cursor(), "report", ["r1"])] == ["C-2"]


def test_open_sources_near_skips_final_cases_other_categories_and_old_sources(store):
    write(store, cases=[case_row("C-1"), case_row("C-2", state="closed"), case_row("C-3")],
          case_sources=[source_row("r1"), source_row("r2", case_id="C-2"),
                        source_row("r3", case_id="C-3", category="street_vending"),
                        source_row("r4", at=T0 - timedelta(hours=1)),
                        source_row("r5", cell=1)])
    found = cs.open_sources_near(store.cursor(), [622351711563972607],
                                 ["exposed_garbage"], T0 - timedelta(minutes=30),
                                 ["closed", "dismissed"])
    assert [r["source_id"] for r in found] == ["r1"]
    assert cs.open_sources_near(store.cursor(), [], ["x"], T0, []) == []


def test_cases_due_lists_overdue_cases_below_the_top_level(store):
    write(store, cases=[case_row("C-1"), case_row("C-2", escalation_level=3),
                        case_row("C-3", state="resolved"),
                        case_row("C-4", due_at=T0 + timedelta(hours=9))])
    due = cs.cases_due(store.cursor(), T0 + timedelta(hours=3), ["dispatched"], 3)
    assert [r["case_id"] for r in due] == ["C-1"]


def test_processed_commands_are_remembered(store):
    write(store, case_commands=[{"command_id": "k1", "case_id": "C-1", "action": "accept",
                                 "actor": "CC-01", "at": T0, "outcome": "applied"}])
    assert cs.processed_commands(store.cursor(), ["k1", "k2"]) == {"k1"}
    assert cs.processed_commands(store.cursor(), []) == set()


def test_write_inside_a_failed_transaction_leaves_nothing(store):
    def boom(cur):
        cs.write_case_decisions(cur, {"cases": cs.rows_to_table("cases", [case_row()])})
        raise RuntimeError("crash after the write")

    with pytest.raises(RuntimeError):
        store.write(boom)
    assert store.scalar("SELECT count(*) FROM cases") == 0


def test_the_chain_snapshot_reads_log_and_heads_as_of_one_moment(store):
    """A write committed between the two reads would make a head run ahead of its log."""
    import threading

    from onegrid.geo.case_store import chain_snapshot

    rows, heads = chain_snapshot(store.cursor())
    assert rows == [] and heads == {}
    done = threading.Event()

    def write_elsewhere():
        store.write(lambda cur: cur.execute(
            "INSERT INTO cases (case_id, seq, state, category, created_at) "
            "VALUES ('C-1', 1, 'new', 'x', now())"))
        done.set()

    thread = threading.Thread(target=write_elsewhere)
    cur = store.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        assert cur.execute("SELECT count(*) FROM case_log").fetchall() == [(0,)]
        thread.start()
        done.wait(10)
        # The transaction read before the write: it goes on seeing the store as it was.
        assert cur.execute("SELECT count(*) FROM cases").fetchall() == [(0,)]
    finally:
        cur.execute("COMMIT")
        thread.join()
    assert chain_snapshot(store.cursor())[1] == {"C-1": 1}
