"""Cases on Kafka: commands in from `onegrid.commands`, changes out on `onegrid.cases`.

The decisions are `alerts.casework`'s; this module is the engine's side of
them. Inside a batch's write transaction it turns the batch's well-formed
command messages into `Command`s, its stored incident reports into intake
`Report`s, asks `decide_cases` what follows (with the alert changes the same
transaction decided), writes the result and queues one `onegrid.cases`
message per case-log entry and per refused command in the outbox, so a case
change is stored and published exactly with the batch that caused it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from onegrid.alerts.acknowledgements import ACKNOWLEDGE, acknowledgement_from_dict
from onegrid.alerts.casework import CaseDecisions, Directory, decide_cases
from onegrid.alerts.commands import command_from_dict
from onegrid.alerts.intake import Report, reports_from_rows
from onegrid.alerts.model import Transition
from onegrid.geo import case_store
from onegrid.geo import store as gstore
from onegrid.streams.contract import CASES, CommandMessage, topic_name
from onegrid.streams.validate import RawMessage

_REPORT_COLUMNS = ("id", "topic", "cell", "category", "severity", "source", "grid_id",
                   "description", "address")


def events_to_reports(events: pa.Table) -> list[Report]:
    """Return the incident reports among stored event rows, in row order."""
    if events.num_rows == 0:
        return []
    incidents = events.filter(pc.equal(events.column("topic"), "incident"))
    if incidents.num_rows == 0:
        return []
    # Epoch ms, not the timestamp itself: pyarrow hands tz-aware values over via pytz.
    ms = incidents.column("ts").cast(pa.int64()).to_pylist()
    rows = incidents.select(list(_REPORT_COLUMNS)).to_pylist()
    return reports_from_rows({**r, "ts": datetime.fromtimestamp(t / 1000, UTC)}
                             for r, t in zip(rows, ms, strict=True))


def decisions_to_outbox(decisions: CaseDecisions, prefix: str) -> pa.Table:
    """Return outbox rows for `onegrid.cases`, keyed by case id so a case's changes
    stay in order on one partition (a refused `open` has no case: keyed by command)."""
    messages = decisions.messages()
    keys = [(m.get("case_id") or m.get("command_id") or "").encode() for m in messages]
    return pa.table({
        "topic": [topic_name(CASES, prefix)] * len(messages), "key": keys,
        "value": [msgspec.json.encode(m) for m in messages],
        "headers": ["{}"] * len(messages),
    })


def decide_and_store_cases(cur: duckdb.DuckDBPyConnection, directory: Directory,
                           commands: Sequence[tuple[RawMessage, CommandMessage]],
                           stored_events: pa.Table, alert_changes: Sequence[Transition],
                           now: datetime, prefix: str) -> int:
    """Decide the batch's cases inside the caller's transaction, write them and queue
    their messages; return the number of messages queued."""
    fields = [msgspec.structs.asdict(m) for _raw, m in commands]
    decisions = decide_cases(
        cur, commands=[command_from_dict(f) for f in fields if f["action"] != ACKNOWLEDGE],
        acks=[acknowledgement_from_dict(f) for f in fields if f["action"] == ACKNOWLEDGE],
        incidents=events_to_reports(stored_events), alert_changes=alert_changes,
        directory=directory, now=now)
    case_store.write_case_decisions(cur, decisions)
    outbox = decisions_to_outbox(decisions, prefix)
    gstore.enqueue(cur, outbox)
    return outbox.num_rows
