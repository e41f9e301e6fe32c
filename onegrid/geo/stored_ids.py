"""Which event ids `events` already holds: the duplicate check, exact and without a scan.

An event is stored once (DESIGN's `duplicate_id`), so every batch asks which of
its ids are stored before. Asked of the table, that is a join against every
stored id: 62-72 ms a write after an hour at 1,000 events/s, and it grows with
the file. `StoredIds` keeps DuckDB's 64-bit hash of every stored id in memory,
in sorted numpy runs. A batch id whose hash is not there is certainly new; the
few that are there (true repeats, or a clash of two hashes) are asked of the
table, so the answer is the same as the full join's.
"""

from __future__ import annotations

from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onegrid.geo.arrow_sql import registered

# A new run is merged into the one before while that one is at most this many
# times its size, so there are O(log n) runs and each hash is re-sorted O(log n) times.
_MERGE_RATIO: Final = 2


def existing_ids(cur: duckdb.DuckDBPyConnection, ids: pa.Array) -> set[str]:
    """Return the ids among `ids` that are already stored in `events` (a full join)."""
    with registered(cur, "batch_ids", pa.table({"id": ids})):
        rows = cur.execute("SELECT id FROM batch_ids SEMI JOIN events USING (id)").fetchall()
    return {r[0] for r in rows}


def id_hashes(cur: duckdb.DuckDBPyConnection, ids: pa.Array) -> pa.Table:
    """Return each id with DuckDB's hash of it (`id`, `h`), in no particular order."""
    with registered(cur, "batch_ids", pa.table({"id": ids})):
        return cur.sql("SELECT id, hash(id) AS h FROM batch_ids").to_arrow_table()


class StoredIds:
    """The hashes of the ids in one store's `events`, for the writer that owns the file.

    Use it only inside `Store.write`. It trusts that the rows it was told of, plus
    the rows there at its last load, are all there are: before each check it
    compares that count with the table's and reloads on a difference (another
    writer on the file, a rolled-back write). A rollback also calls `forget`.
    """

    def __init__(self) -> None:
        self._runs: list[np.ndarray] = []
        self._rows: int | None = None

    def forget(self) -> None:
        """Drop what is held; the next check reads every stored id again."""
        self._runs, self._rows = [], None

    def check(self, cur: duckdb.DuckDBPyConnection, ids: pa.Array
              ) -> tuple[set[str], np.ndarray]:
        """Return the ids among `ids` already stored, and the ids' hashes for `added`."""
        self._load_if_stale(cur)
        hashed = id_hashes(cur, ids)
        hashes = hashed.column("h").to_numpy()
        maybe = self._contains(hashes)
        if not maybe.any():
            return set(), hashes
        return existing_ids(cur, pc.filter(hashed.column("id"), pa.array(maybe))), hashes

    def added(self, hashes: np.ndarray, rows: int) -> None:
        """Take note that `rows` events were inserted whose ids hash to among `hashes`.

        `hashes` may hold more than the inserted ids (the batch's repeats): a hash
        held too many only sends that id to the table to be confirmed.
        """
        if self._rows is None:
            return
        self._rows += rows
        if len(hashes):
            self._push(np.sort(hashes))

    def _load_if_stale(self, cur: duckdb.DuckDBPyConnection) -> None:
        rows = cur.execute("SELECT count(*) FROM events").fetchall()[0][0]
        if rows == self._rows:
            return
        hashes = cur.sql("SELECT hash(id) AS h FROM events").to_arrow_table().column("h")
        self._runs = [np.sort(hashes.to_numpy())]
        self._rows = rows

    def _push(self, run: np.ndarray) -> None:
        runs = self._runs
        runs.append(run)
        while len(runs) > 1 and len(runs[-2]) <= _MERGE_RATIO * len(runs[-1]):
            newer, older = runs.pop(), runs.pop()
            # Two sorted runs: the stable sort (timsort for 64-bit keys) merges them.
            runs.append(np.sort(np.concatenate([older, newer]), kind="stable"))

    def _contains(self, hashes: np.ndarray) -> np.ndarray:
        found = np.zeros(len(hashes), dtype=bool)
        for run in self._runs:
            if len(run):
                at = np.minimum(np.searchsorted(run, hashes), len(run) - 1)
                found |= run[at] == hashes
        return found
