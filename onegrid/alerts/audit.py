"""The case log's hash chain (电子监察): tamper evidence for the whole-process record.

Every `case_log` row carries `prev_hash`, the hash of the row before it, and
`hash`, a SHA-256 over a canonical serialisation of every other stored column
of the row (`HASHED_COLUMNS`). The chain is one global chain over all rows in
insert order (`log_seq`, 1, 2, 3, ...), so changing, deleting, inserting or
reordering any row breaks it at a row `verify_chain` can name. Deleting rows
from the end leaves a consistent shorter chain; `heads` (each case's `seq` from
`cases`) and the hashes published on `onegrid.cases` catch that. Reading rows
is `case_store`; this module only computes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from onegrid.alerts.cases import LogEntry, record_to_dict

GENESIS: Final = "0" * 64  # prev_hash of the first row
# Every stored column of case_log except `hash` itself, in hashing order.
HASHED_COLUMNS: Final = ("log_seq", "case_id", "seq", "action", "actor", "at", "state",
                         "department", "reason", "note", "detail", "prev_hash")
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Broken:
    """The first row where the chain breaks, and what is wrong there."""

    log_seq: int
    case_id: str
    seq: int
    kind: str  # changed | missing | reordered | seq | tail
    problem: str


def entry_hash(prev_hash: str, entry: LogEntry | Mapping[str, Any]) -> str:
    """Return the SHA-256 (hex) of a log row chained to `prev_hash`.

    `entry` is a LogEntry or a stored row (a mapping with `HASHED_COLUMNS`;
    `at` as a datetime or as epoch microseconds). Its own `prev_hash` is
    replaced by the one given.
    """
    row = record_to_dict(entry) if isinstance(entry, LogEntry) else dict(entry)
    row["prev_hash"] = prev_hash
    values = [_canonical(row.get(col)) for col in HASHED_COLUMNS]
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chain(entries: Sequence[LogEntry], last_log_seq: int = 0,
          last_hash: str = GENESIS) -> list[LogEntry]:
    """Return the entries numbered on from `last_log_seq` and chained on from `last_hash`."""
    out, prev = [], last_hash or GENESIS
    for i, entry in enumerate(entries, start=last_log_seq + 1):
        linked = replace(entry, log_seq=i, prev_hash=prev)
        linked = replace(linked, hash=entry_hash(prev, linked))
        out.append(linked)
        prev = linked.hash
    return out


def verify_chain(rows: Iterable[Mapping[str, Any]],
                 heads: Mapping[str, int] | None = None) -> Broken | None:
    """Return the first broken row of the log, or None when the chain holds.

    `rows` are the stored rows in `log_seq` order as read (with `hash`).
    `heads` maps case_id -> the case's `seq` in `cases`; a case whose log ends
    before its head lost rows at the end.
    """
    prev_hash, expected = GENESIS, 1
    last_seq: dict[str, int] = {}
    for row in rows:
        broken = _check_row(row, expected, prev_hash, last_seq.get(row["case_id"], 0))
        if broken is not None:
            return broken
        prev_hash, expected = row["hash"], row["log_seq"] + 1
        last_seq[row["case_id"]] = row["seq"]
    return _check_heads(last_seq, heads or {})


def _check_row(row: Mapping[str, Any], expected: int, prev_hash: str,
               case_seq: int) -> Broken | None:
    log_seq, case_id, seq = row["log_seq"], row["case_id"], row["seq"]

    def broken(kind: str, problem: str) -> Broken:
        return Broken(log_seq, case_id, seq, kind, problem)

    if log_seq > expected:
        return broken("missing", f"rows log_seq {expected}..{log_seq - 1} are missing "
                                 f"(deleted) before this row")
    if log_seq < expected:
        return broken("reordered", f"log_seq {log_seq} comes after {expected - 1}: "
                                   "rows are out of order or repeated")
    if row["prev_hash"] != prev_hash:
        return broken("reordered", "prev_hash is not the hash of the row before: a row "
                                   "before this one was replaced, moved or removed")
    if row["hash"] != entry_hash(prev_hash, row):
        return broken("changed", "hash does not match the row's content: this row was changed")
    if seq != case_seq + 1:
        return broken("seq", f"case {case_id} jumps from seq {case_seq} to {seq}")
    return None


def _check_heads(last_seq: Mapping[str, int], heads: Mapping[str, int]) -> Broken | None:
    for case_id, head in sorted(heads.items()):
        logged = last_seq.get(case_id, 0)
        if logged != head:
            return Broken(0, case_id, logged + 1, "tail",
                          f"case {case_id} is at seq {head} but its log ends at seq {logged}: "
                          "rows at the end were removed or the case row was changed")
    return None


def _canonical(value: Any) -> Any:
    """Return a JSON-stable form: datetimes as epoch microseconds (what the store keeps)."""
    if isinstance(value, datetime):
        return (value - _EPOCH) // timedelta(microseconds=1)
    return value
