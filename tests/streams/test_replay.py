"""Replay files and the send loop: byte-exact round trips, topic choice, pacing, failures."""

from __future__ import annotations

import base64
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from onegrid.geo.registry import load_registry
from onegrid.streams.producer import SendError, send_messages
from onegrid.streams.replay import ReplayFile, read_jsonl, replay_file, write_jsonl
from onegrid.streams.simulator import SimMessage, simulate
from tests.streams.conftest_city import make_tiny_city

START = datetime(2024, 5, 6, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    city = load_registry(make_tiny_city(tmp_path_factory.mktemp("city")))
    return list(simulate(city, rate=300, duration_s=120, seed=9, start=START,
                         malformed_share=0.1))


def test_a_simulated_run_round_trips_through_a_file_byte_for_byte(run, tmp_path):
    path = tmp_path / "run.jsonl"
    assert write_jsonl(run, path) == len(run)
    assert list(ReplayFile(path)) == run
    assert [v for _, v in read_jsonl(path)] == [m.value for m in run]


def test_malformed_values_survive_the_round_trip_including_bad_utf8(run, tmp_path):
    path = tmp_path / "run.jsonl"
    write_jsonl(run, path)
    back = {m.value for m in ReplayFile(path) if m.fault}
    kinds = {m.fault for m in run if m.fault}
    assert {"not_utf8", "not_json", "not_finite", "oversized"} <= kinds
    assert back == {m.value for m in run if m.fault}


def test_valid_json_is_embedded_and_the_rest_goes_as_base64(tmp_path):
    messages = [SimMessage("sensor", b"S1", b'{"id":"a","ts":1}', 1),
                SimMessage("sensor", b"S1", b'{"id": "b",\n "ts": 2}', 2),
                SimMessage("incident", b"\xff", b"\xbe\xae", 3, "not_utf8")]
    path = tmp_path / "mixed.jsonl"
    write_jsonl(messages, path)
    lines = path.read_bytes().splitlines()
    assert lines[0].endswith(b'"value":{"id":"a","ts":1}}')
    assert b"value_b64" in lines[1] and b"key_b64" in lines[2]
    assert list(ReplayFile(path)) == messages


def test_raw_lines_keep_their_bytes_and_get_their_topic_from_the_id_field(tmp_path):
    lines = [b'{"id": "1", "ts": 1714957200000, "sensor_id": "S7", "metric": "noise_db"}',
             b'{"id":"2","ts":"2024-05-06T09:00:01+08:00","station_id":"A01","pm25":-3}',
             b'{"id":"3","ts":1714957202000,"category":"C0101","source":"patrol"}']
    path = tmp_path / "raw.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    assert list(read_jsonl(path)) == [("sensor", lines[0]), ("environment", lines[1]),
                                      ("incident", lines[2])]
    messages = list(ReplayFile(path))
    assert [m.key for m in messages] == [b"S7", b"A01", b"patrol"]
    assert [m.ts_ms for m in messages] == [1714957200000, 1714957201000, 1714957202000]


def test_lines_without_a_topic_are_skipped_and_reported_by_line_number(tmp_path):
    path = tmp_path / "odd.jsonl"
    path.write_bytes(b'{"id":"1","ts":5,"sensor_id":"S1","metric":"m","value":1}\n'
                     b"not json at all\n"
                     b"\n"
                     b'{"id":"2","ts":6,"what":"no id field"}\n'
                     b'{"topic":"elsewhere","value":{"id":"3"}}\n'
                     b'[1, 2]\n')
    replay = ReplayFile(path)
    assert [m.topic_suffix for m in replay] == ["sensor"]
    assert [n for n, _ in replay.skipped] == [2, 4, 5, 6]
    assert "topic" in replay.skipped[1][1]
    assert [t for t, _ in read_jsonl(path)] == ["sensor", None, None, None, None]


def test_an_envelope_with_base64_value_gives_back_the_exact_bytes(tmp_path):
    value = b'{"id":"x","value":NaN}'
    path = tmp_path / "b64.jsonl"
    encoded = base64.b64encode(value).decode()
    path.write_text(f'{{"topic":"sensor","key":"S1","value_b64":"{encoded}"}}\n')
    assert list(read_jsonl(path)) == [("sensor", value)]


class FakeFuture:
    def __init__(self, error):
        self.error = error

    def add_errback(self, fn):
        if self.error is not None:
            fn(self.error)
        return self


class FakeProducer:
    """Records sends; fails the messages whose value is in `fail`."""

    def __init__(self, fail=()):
        self.sent, self.flushed, self.fail = [], False, set(fail)

    def send(self, topic, value=None, key=None):
        self.sent.append((topic, key, value, time.monotonic()))
        return FakeFuture(RuntimeError("broker said no") if value in self.fail else None)

    def flush(self):
        self.flushed = True


def test_send_messages_sends_to_prefixed_topics_and_flushes(run):
    producer = FakeProducer()
    assert send_messages(producer, run, "city1.") == len(run)
    assert producer.flushed
    assert {t for t, *_ in producer.sent} == {"city1.sensor", "city1.environment",
                                              "city1.incident"}
    assert [(k, v) for _, k, v, _ in producer.sent] == [(m.key, m.value) for m in run]


def test_send_messages_paces_to_the_messages_send_times():
    messages = [SimMessage("sensor", b"S1", b"{}", 1_000 + 100 * i) for i in range(5)]
    producer = FakeProducer()
    send_messages(producer, iter(messages), pace=2.0)  # 400 ms of run in about 200 ms
    gaps = [b[3] - a[3] for a, b in zip(producer.sent, producer.sent[1:], strict=False)]
    assert 0.18 < producer.sent[-1][3] - producer.sent[0][3] < 0.5
    assert min(gaps) > 0.03


def test_send_messages_raises_after_flushing_when_a_delivery_failed():
    messages = [SimMessage("sensor", b"S1", b"ok", 1), SimMessage("sensor", b"S1", b"bad", 2)]
    producer = FakeProducer(fail={b"bad"})
    with pytest.raises(SendError, match="1 of 2 messages"):
        send_messages(producer, messages)
    assert producer.flushed


def test_replay_file_sends_what_it_can_and_counts_what_it_skipped(tmp_path):
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b'{"id":"1","ts":5,"sensor_id":"S1","metric":"m","value":1}\n'
                     b"not json\n"
                     b'{"topic":"incident","key":"app","value_b64":"/w=="}\n')
    producer = FakeProducer()
    assert replay_file(producer, path, "x.") == (2, 1)
    assert [(t, k, v) for t, k, v, _ in producer.sent] == [
        ("x.sensor", b"S1", b'{"id":"1","ts":5,"sensor_id":"S1","metric":"m","value":1}'),
        ("x.incident", b"app", b"\xff")]
