"""Record batches read as columns give exactly what kafka-python's own reader gives."""

from __future__ import annotations

import pytest
from kafka.record.default_records import DefaultRecordBatch, DefaultRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords

from onegrid.streams.records import RecordColumns, batches_to_columns


def batch_bytes(base: int, values: list[bytes | None], compression: int = 0,
                headers_at: int | None = None, null_key_every: int = 5) -> bytes:
    """Return one v2 record batch starting at offset `base`."""
    builder = DefaultRecordBatchBuilder(
        magic=2, compression_type=compression, is_transactional=False, producer_id=-1,
        producer_epoch=-1, base_sequence=-1, batch_size=1 << 30)
    for i, value in enumerate(values):
        key = None if i % null_key_every == 0 else f"key-{i}".encode()
        headers = [("trace", b"abc")] if i == headers_at else []
        # Timestamps far apart make multi-byte varints.
        builder.append(i, timestamp=1_700_000_000_000 + i * 100_003, key=key, value=value,
                       headers=headers)
    raw = bytes(builder.build())
    return base.to_bytes(8, "big") + raw[8:]  # the base offset is outside the CRC


def fetched(buffer: bytes) -> list[tuple[object, memoryview]]:
    """Return (batch, its bytes) for each batch of a fetched buffer."""
    records, out = MemoryRecords(buffer), []
    while records.has_next():
        raw = records._next_slice
        out.append((records.next_batch(), raw))
    return out


def kafka_python_reads(buffer: bytes) -> RecordColumns:
    records, out = MemoryRecords(buffer), []
    while (batch := records.next_batch()) is not None:
        out.extend(batch)
    return RecordColumns([r.offset for r in out], [r.key for r in out], [r.value for r in out])


def values(n: int, start: int = 0) -> list[bytes | None]:
    # Lengths from 0 to ~300 bytes, so value lengths take one and two varint bytes.
    return [None if i % 97 == 13 else b'{"id": "%d"}' % i + b"x" * (i % 300)
            for i in range(start, start + n)]


@pytest.mark.parametrize("compression", [0, 1], ids=["plain", "gzip"])
@pytest.mark.parametrize("sizes", [[1], [60] * 20, [3000], [5, 0, 7]], ids=str)
def test_batches_read_as_columns_match_kafka_python(compression, sizes):
    parts, base = [], 100
    for n in sizes:
        if n:
            parts.append(batch_bytes(base, values(n, base), compression))
        base += n
    buffer = b"".join(parts)
    assert batches_to_columns(fetched(buffer)) == kafka_python_reads(buffer)


def test_records_with_headers_are_read_by_kafka_python_and_still_match():
    buffer = batch_bytes(0, values(50)) + batch_bytes(50, values(50, 50), headers_at=3)
    assert batches_to_columns(fetched(buffer)) == kafka_python_reads(buffer)


def test_records_before_the_fetch_offset_are_dropped():
    cols = batches_to_columns(fetched(batch_bytes(10, values(20)))).since(25)
    assert cols.offsets == list(range(25, 30))
    assert cols.values == values(20)[15:]


def test_bytes_that_do_not_add_up_raise_kafka_pythons_error():
    raw = bytearray(batch_bytes(0, values(10)))
    raw[57:61] = (11).to_bytes(4, "big")  # the header claims one record more than it holds
    batch = DefaultRecordBatch(bytes(raw))
    with pytest.raises(Exception, match=r"(?i)record"):
        batches_to_columns([(batch, memoryview(bytes(raw)))])


@pytest.mark.broker
def test_a_consumer_reading_columns_sees_what_a_plain_consumer_sees(broker, topic_factory):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    from onegrid.streams.records import polled_columns, read_as_columns

    topic = topic_factory(partitions=1) + "sensor"
    producer = KafkaProducer(bootstrap_servers=broker, linger_ms=50)
    sent = values(700)
    for i, value in enumerate(sent):
        producer.send(topic, key=None if i % 3 and value else b"k%d" % i, value=value)
    producer.flush()
    producer.close()

    def read(columns: bool, start: int) -> RecordColumns:
        consumer = KafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False)
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, start)  # mid-batch: the broker sends the whole batch
        if columns:
            assert read_as_columns(consumer)
        got = RecordColumns([], [], [])
        while len(got.offsets) < len(sent) - start:
            for _, cols in polled_columns(consumer.poll(timeout_ms=1000)):
                got = RecordColumns(got.offsets + cols.offsets, got.keys + cols.keys,
                                    got.values + cols.values)
        consumer.close()
        return got

    plain = read(False, 123)
    assert plain.offsets == list(range(123, 700))
    assert read(True, 123) == plain
