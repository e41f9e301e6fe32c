"""The case log's hash chain: tampering with any row is found at that row."""

from __future__ import annotations

from dataclasses import fields

import pytest

from onegrid.alerts.audit import GENESIS, HASHED_COLUMNS, chain, entry_hash, verify_chain
from onegrid.alerts.cases import LogEntry
from onegrid.geo.case_store import case_heads, log_rows
from tests.alerts.casekit import (
    COMMAND,
    COMMAND_2,
    LEAD_STAFF,
    cmd,
    minutes,
    report,
    run_batch,
)


@pytest.fixture
def logged(store, directory):
    """A store with two cases and ten log rows; returns (store, rows)."""
    opened = run_batch(store, directory, incidents=[
        report(directory, "r1"), report(directory, "r2", grid_id="CN-02-01-01")])
    a, b = (c.case_id for c in opened.cases)
    steps = [cmd(a, "dispatch", COMMAND, minutes(1)), cmd(a, "accept", LEAD_STAFF, minutes(2)),
             cmd(b, "dispatch", COMMAND, minutes(3)), cmd(a, "resolve", LEAD_STAFF, minutes(4)),
             cmd(b, "comment", COMMAND, minutes(5), note="note"),
             cmd(a, "verify", COMMAND_2, minutes(6)), cmd(a, "close", COMMAND, minutes(7)),
             cmd(b, "press", COMMAND, minutes(8), reason="overdue, call back today")]
    run_batch(store, directory, minutes(10), commands=steps)
    rows = log_rows(store.cursor())
    assert len(rows) == 10
    return store, rows


def verify(store):
    cur = store.cursor()
    return verify_chain(log_rows(cur), case_heads(cur))


def test_intact_chain_verifies(logged):
    store, rows = logged
    assert verify(store) is None
    assert rows[0]["prev_hash"] == GENESIS and [r["log_seq"] for r in rows] == list(range(1, 11))


def test_changed_case_log_row_is_found_at_that_row(logged):
    store, rows = logged
    store.cursor().execute("UPDATE case_log SET actor = 'mallory' WHERE log_seq = 5")
    broken = verify(store)
    assert (broken.log_seq, broken.case_id, broken.seq, broken.kind) == \
        (5, rows[4]["case_id"], rows[4]["seq"], "changed")


def test_changed_row_with_recomputed_hash_is_found_at_the_next_row(logged):
    store, rows = logged
    row = dict(rows[3], reason="nothing to see")
    store.cursor().execute("UPDATE case_log SET reason = ?, hash = ? WHERE log_seq = 4",
                           [row["reason"], entry_hash(row["prev_hash"], row)])
    broken = verify(store)
    assert (broken.log_seq, broken.kind) == (5, "reordered")


def test_deleted_case_log_row_is_found_at_the_row_after_it(logged):
    store, rows = logged
    store.cursor().execute("DELETE FROM case_log WHERE log_seq = 6")
    broken = verify(store)
    assert (broken.log_seq, broken.case_id, broken.kind) == (7, rows[6]["case_id"], "missing")
    assert "6..6" in broken.problem


def test_reordered_case_log_rows_are_found(logged):
    store, rows = logged
    store.cursor().execute(
        "UPDATE case_log SET log_seq = CASE log_seq WHEN 3 THEN 4 ELSE 3 END "
        "WHERE log_seq IN (3, 4)")
    broken = verify(store)
    assert (broken.log_seq, broken.case_id, broken.kind) == (3, rows[3]["case_id"], "reordered")


def test_rows_read_out_of_order_are_found(logged):
    _, rows = logged
    broken = verify_chain([rows[0], rows[2], rows[1], *rows[3:]])
    assert (broken.log_seq, broken.kind) == (3, "missing")
    assert verify_chain([*rows, rows[-1]]).kind == "reordered"


def test_rows_removed_from_the_end_are_found_against_the_case_heads(logged):
    store, rows = logged
    store.cursor().execute("DELETE FROM case_log WHERE log_seq = 10")
    broken = verify(store)
    assert (broken.case_id, broken.kind) == (rows[9]["case_id"], "tail")


@pytest.mark.parametrize("column", [c for c in HASHED_COLUMNS if c != "prev_hash"])
def test_hash_covers_every_stored_column(logged, column):
    _, rows = logged
    row = rows[4]
    changed = dict(row, **{column: row[column] + 1 if isinstance(row[column], int)
                           else minutes(99) if column == "at" else f"{row[column]}x"})
    assert entry_hash(row["prev_hash"], changed) != entry_hash(row["prev_hash"], row)


def test_every_log_column_but_the_hash_is_hashed():
    stored = {f.name for f in fields(LogEntry)} - {"hash"}
    assert stored == set(HASHED_COLUMNS)


def test_chain_continues_from_a_given_head():
    entry = LogEntry("C-1", 1, "open", COMMAND, minutes(0), "new")
    first = chain([entry, entry], 0, GENESIS)
    more = chain([entry], 2, first[-1].hash)
    assert [e.log_seq for e in (*first, *more)] == [1, 2, 3]
    assert more[0].prev_hash == first[1].hash == entry_hash(first[0].hash, first[1])


def test_a_case_seq_that_jumps_is_found_even_in_a_rehashed_chain():
    from dataclasses import asdict

    entries = [LogEntry("C-1", seq, "comment", COMMAND, minutes(seq), "new") for seq in (1, 3)]
    rows = [asdict(e) for e in chain(entries)]  # a forger rehashed the whole chain
    broken = verify_chain(rows)
    assert (broken.log_seq, broken.case_id, broken.seq, broken.kind) == (2, "C-1", 3, "seq")
