"""Arrow tables into DuckDB statements: exposing one to SQL for a block, and writing its
rows into a table by column name, replacing the rows whose key exists; and reading
times back as epoch microseconds (DuckDB hands TIMESTAMPTZ to Python through pytz)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def from_epoch_us(us: int | None) -> datetime | None:
    """Return the UTC time of `epoch_us(...)` read from DuckDB (None stays None)."""
    return None if us is None else _EPOCH + timedelta(microseconds=us)


@contextlib.contextmanager
def registered(cur: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """Expose an Arrow table to SQL as `name` for the duration of the block."""
    cur.register(name, table)
    try:
        yield
    finally:
        # After a failed statement the transaction is aborted and unregister
        # fails too; the first error is the one worth reporting.
        with contextlib.suppress(duckdb.Error):
            cur.unregister(name)


def upsert(cur: duckdb.DuckDBPyConnection, table: str, rows: pa.Table,
           keys: Sequence[str] = ()) -> None:
    """Insert `rows` into `table` by column name; with `keys` (the table's primary key), a
    row whose key is there already replaces that row's other columns."""
    if rows.num_rows == 0:
        return
    names = ", ".join(f'"{n}"' for n in rows.column_names)
    source = f"{table}_rows"
    with registered(cur, source, rows):
        if not keys:
            cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {source}")
            return
        # MERGE, not INSERT ... ON CONFLICT DO UPDATE: the same write in about 60 % of the
        # time (measured on the alerts a decision writes).
        on = " AND ".join(f't."{k}" = r."{k}"' for k in keys)
        updates = ", ".join(f'"{n}" = r."{n}"' for n in rows.column_names if n not in keys)
        values = ", ".join(f'r."{n}"' for n in rows.column_names)
        cur.execute(f"MERGE INTO {table} t USING {source} r ON {on} "
                    f"WHEN MATCHED THEN UPDATE SET {updates} "
                    f"WHEN NOT MATCHED THEN INSERT ({names}) VALUES ({values})")
