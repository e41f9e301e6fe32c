"""The in-memory duplicate check gives the full join's answer, whatever happens to the file."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pytest

from onegrid.geo import store as gstore
from onegrid.geo.store import Store
from onegrid.geo.stored_ids import existing_ids, id_hashes
from tests.event_tables import event_table


def events(ids: list[str]) -> pa.Table:
    n = len(ids)
    return event_table(**{
        "id": ids, "topic": ["sensor"] * n,
        "ts": pa.array([datetime(2026, 6, 1, 12, tzinfo=UTC)] * n, pa.timestamp("ms", tz="UTC")),
        "cell": pa.array([1] * n, pa.uint64()), "metric": ["noise_db"] * n, "value": [1.0] * n,
    })


def store_new(store: Store, cur, ids: list[str]) -> set[str]:
    """Check `ids` with the index, insert the new ones once and tell the index."""
    found, hashes = store.ids.check(cur, pa.array(ids))
    new = list(dict.fromkeys(i for i in ids if i not in found))
    gstore.insert_events(cur, events(new))
    store.ids.added(hashes, len(new))
    return found


def checked_write(store: Store, ids: list[str]) -> set[str]:
    """Store the new ones among `ids`, requiring the index to agree with the full join."""
    def transaction(cur):
        expected = existing_ids(cur, pa.array(ids))
        found = store_new(store, cur, ids)
        assert found == expected
        return found
    return store.write(transaction)


def test_the_index_answers_as_the_full_join_over_random_batches(tmp_path):
    rng = random.Random(7)
    stored: set[str] = set()
    with Store(tmp_path / "ids.duckdb") as store:
        for step in range(60):
            old = rng.sample(sorted(stored), min(len(stored), rng.randint(0, 5)))
            new = [f"ev-{step}-{i}" for i in range(rng.randint(1, 80))]
            batch = old + new + new[:2]  # stored repeats, new ids, repeats within the batch
            rng.shuffle(batch)
            assert checked_write(store, batch) == set(old)
            stored.update(new)
    assert len(stored) > 1000


def test_a_rolled_back_write_is_not_remembered(tmp_path):
    with Store(tmp_path / "ids.duckdb") as store:
        checked_write(store, ["a", "b"])

        def crash(cur):
            store_new(store, cur, ["c"])
            raise RuntimeError("crash after the insert")

        with pytest.raises(RuntimeError):
            store.write(crash)
        assert checked_write(store, ["c", "a"]) == {"a"}


def test_rows_written_past_the_index_are_found(tmp_path):
    with Store(tmp_path / "ids.duckdb") as store:
        checked_write(store, ["a"])
        store.write(lambda cur: gstore.insert_events(cur, events(["b", "c"])))
        assert checked_write(store, ["b", "c", "d"]) == {"b", "c"}


def test_a_reopened_store_loads_every_stored_id(tmp_path):
    with Store(tmp_path / "ids.duckdb") as store:
        checked_write(store, [f"x{i}" for i in range(500)])
    with Store(tmp_path / "ids.duckdb") as store:
        assert checked_write(store, ["x3", "x499", "y"]) == {"x3", "x499"}


def test_a_held_hash_of_an_unstored_id_is_confirmed_not_trusted(tmp_path):
    """What a clash of two ids' hashes does: the id is asked of the table and is new."""
    with Store(tmp_path / "ids.duckdb") as store:
        checked_write(store, ["a"])
        clash = store.write(lambda cur: id_hashes(cur, pa.array(["b"])).column("h").to_numpy())
        store.ids.added(clash, 0)
        assert checked_write(store, ["b", "a"]) == {"a"}


def test_many_small_batches_keep_few_sorted_runs(tmp_path):
    rng = np.random.default_rng(3)
    batches = [rng.integers(0, 2**63, 300, dtype=np.uint64) for _ in range(2000)]
    with Store(tmp_path / "ids.duckdb") as store:
        store.write(lambda cur: store.ids.check(cur, pa.array(["loads the empty table"])))
        for b in batches:
            store.ids.added(b, 0)
        runs = store.ids._runs
        assert len(runs) <= 2 * int(np.log2(2000)) + 1
        assert all((r[1:] >= r[:-1]).all() for r in runs)
        assert store.ids._contains(np.concatenate(batches[::97])).all()
        assert not store.ids._contains(rng.integers(0, 2**63, 300, dtype=np.uint64)).any()
