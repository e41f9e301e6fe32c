"""The engine loop's own decisions, without a broker: stall warnings, merging."""

from __future__ import annotations

import logging
import time

import pyarrow as pa

from onegrid.streams.consumer import STALL_WARN_S, EngineConfig, EngineRunner, _merge
from onegrid.streams.engine import Outcome


def runner() -> EngineRunner:
    return EngineRunner(EngineConfig(bootstrap="unused:9"), city=None, store=None, out=None)


def test_a_consumer_with_records_waiting_and_none_arriving_is_reported_stalled(caplog):
    r = runner()
    r.stats.lag = 120
    r.last_data_at = time.monotonic() - STALL_WARN_S - 1
    with caplog.at_level(logging.WARNING, logger="onegrid.streams.consumer"):
        r._watch_for_stall()
        r._watch_for_stall()  # said once, not every second
    assert [m for m in caplog.messages if "stalled" in m] == [caplog.messages[0]]
    assert "120 records wait" in caplog.messages[0]


def test_unknown_lag_is_not_called_a_stall(caplog):
    r = runner()
    r.stats.lag = None  # the embedded broker's end offsets cannot be trusted
    r.last_data_at = time.monotonic() - 10 * STALL_WARN_S
    with caplog.at_level(logging.WARNING, logger="onegrid.streams.consumer"):
        r._watch_for_stall()
    assert not caplog.messages


def test_a_join_going_on_far_longer_than_a_join_takes_is_reported_once(caplog):
    r = runner()
    now = r.joining_since + r._join_warn_s() + 1
    with caplog.at_level(logging.WARNING, logger="onegrid.streams.consumer"):
        r._watch_for_join(now)
        r._watch_for_join(now + 60)
    assert [m for m in caplog.messages if "no partition assignment" in m] == [caplog.messages[0]]


def test_a_member_holding_its_assignment_is_not_reported_stuck(caplog):
    r = runner()
    r.joining_since = None  # on_partitions_assigned ran
    with caplog.at_level(logging.WARNING, logger="onegrid.streams.consumer"):
        r._watch_for_join(time.monotonic() + 3600)
    assert not caplog.messages


def test_merged_batches_keep_the_latest_offset_of_each_partition():
    empty = Outcome(pa.table({"id": pa.array([], pa.string())}))
    merged = _merge([(["a"], empty, {("t", 0): 5, ("t", 1): 2}, set()),
                     (["b"], empty, {("t", 0): 9}, set())])
    assert merged[0] == ["a", "b"]
    assert merged[2] == {("t", 0): 9, ("t", 1): 2}
