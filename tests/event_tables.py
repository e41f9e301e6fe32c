"""Event tables for store tests: the columns a test sets, and as nulls the other columns
`insert_events` reads (category and severity for incidents, the station pollutants)."""

from __future__ import annotations

import pyarrow as pa

_NULLABLE = {"category": pa.string(), "severity": pa.int8(),
             **{p: pa.float64() for p in ("pm25", "pm10", "no2", "so2", "o3", "co")}}


def event_table(**columns) -> pa.Table:
    """Return `columns` as a table, with every column of _NULLABLE it lacks as nulls."""
    n = len(next(iter(columns.values())))
    return pa.table({**columns, **{name: pa.nulls(n, kind) for name, kind in _NULLABLE.items()
                                   if name not in columns}})
