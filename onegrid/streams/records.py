"""Kafka record batches to columns: offsets, keys and values, without an object per record.

kafka-python parses every record in Python (seven varint calls, a record
object and a `ConsumerRecord` each): about 8 µs a message here, which was the
whole of the engine's polling thread and most of a bare consumer's time. This
module owns a faster reading of the same bytes. A fetched partition's record
batches are read as whole batches: one short Python loop finds where each
record starts (its length is the only thing that must be read in order), numpy
decodes the remaining varints of all records at once, and keys and values are
sliced out of the batch. `poll()` then returns, per partition, a list of
`RecordColumns`, one per record batch, instead of a list of `ConsumerRecord`s.

What the fast path does not know it leaves to kafka-python: legacy (v0/v1)
batches and records with headers are read record by record with its own
classes, a consumer configured for `read_committed` keeps kafka-python's reader
altogether, and bytes that do not add up are handed to kafka-python, which
raises its own `CorruptRecordError`. CRCs are checked as kafka-python checks
them (C crc32c), and offsets before the fetch position (a batch fetched from
its middle) are dropped as it drops them. What the values mean belongs to
`validate`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, NamedTuple

import kafka.codec as codec
import kafka.errors as errors
import numpy as np
from kafka import KafkaConsumer
from kafka.consumer.fetcher import Fetcher
from kafka.record.default_records import DefaultRecordBatch
from kafka.structs import TopicPartition


class RecordColumns(NamedTuple):
    """The records of one record batch (of one partition), in offset order."""

    offsets: list[int]
    keys: list[bytes | None]
    values: list[bytes | None]

    def since(self, first: int) -> RecordColumns:
        """Return the records at or after offset `first`."""
        if not self.offsets or self.offsets[0] >= first:
            return self
        cut = int(np.searchsorted(np.asarray(self.offsets), first))
        return RecordColumns(self.offsets[cut:], self.keys[cut:], self.values[cut:])


_HEADER_SIZE: Final = DefaultRecordBatch.HEADER_STRUCT.size  # 61 bytes before the records
_MAX_VARINT_BYTES: Final = 10
_DECOMPRESS: Final = {
    # batch attributes' codec bits -> (decoder, wants bytes rather than a memoryview)
    DefaultRecordBatch.CODEC_GZIP: (codec.gzip_decode, False),
    DefaultRecordBatch.CODEC_SNAPPY: (codec.snappy_decode, True),
    DefaultRecordBatch.CODEC_LZ4: (codec.lz4_decode, True),
    DefaultRecordBatch.CODEC_ZSTD: (codec.zstd_decode, True),
}


class _NotSimple(Exception):
    """The batches need kafka-python's record-by-record reader (headers, odd bytes)."""


def _record_spans(buf: bytes, bounds: list[tuple[int, int, int]]) -> tuple[list[int], list[int]]:
    """Return where each record's body starts in `buf` and how long it is.

    `bounds` holds (start, end, record count) of each batch's records in `buf`.
    The one sequential part of reading a batch: each record is prefixed by its
    zigzag-varint length. Raises _NotSimple if the bytes do not add up.
    """
    total = sum(count for _, _, count in bounds)
    starts, lengths = [0] * total, [0] * total
    i = 0
    try:
        for pos, end, count in bounds:
            for _ in range(count):
                b = buf[pos]
                pos += 1
                v = b & 0x7F
                shift = 7
                while b & 0x80:
                    b = buf[pos]
                    pos += 1
                    v |= (b & 0x7F) << shift
                    shift += 7
                length = (v >> 1) ^ -(v & 1)
                if length < 0:
                    raise _NotSimple
                starts[i] = pos
                lengths[i] = length
                i += 1
                pos += length
            if pos != end:
                raise _NotSimple
    except IndexError:
        raise _NotSimple from None
    return starts, lengths


def _varints(data: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the zigzag varints starting at each of `pos` in `data`, and their sizes."""
    value = np.zeros(len(pos), dtype=np.int64)
    size = np.zeros(len(pos), dtype=np.int64)
    open_ = np.ones(len(pos), dtype=bool)  # still reading continuation bytes
    last = len(data) - 1
    for k in range(_MAX_VARINT_BYTES):
        b = data[np.minimum(pos + k, last)].astype(np.int64)
        value |= np.where(open_, (b & 0x7F) << (7 * k), 0)
        size += open_
        open_ &= b >= 0x80
        if not open_.any():
            break
    else:
        raise _NotSimple
    return (value >> 1) ^ -(value & 1), size


def _slices(buf: bytes, starts: np.ndarray, lengths: np.ndarray) -> list[bytes | None]:
    """Return buf[start:start+length] for each pair; None where the length is -1 (null)."""
    out = list(map(buf.__getitem__, map(slice, starts.tolist(), (starts + lengths).tolist())))
    for i in np.flatnonzero(lengths < 0).tolist():
        out[i] = None
    return out


def _records_buffer(batch: DefaultRecordBatch, raw: memoryview) -> bytes | memoryview:
    """Return the (decompressed) records section of a v2 batch."""
    body = raw[_HEADER_SIZE:]
    ctype = batch.compression_type
    if ctype == DefaultRecordBatch.CODEC_NONE:
        return body
    if ctype not in _DECOMPRESS:
        raise _NotSimple  # kafka-python raises UnsupportedCodecError for us
    batch._assert_has_codec(ctype)
    decode, wants_bytes = _DECOMPRESS[ctype]
    return decode(body.tobytes() if wants_bytes else body)


def v2_batches_to_columns(batches: list[tuple[DefaultRecordBatch, memoryview]]) -> RecordColumns:
    """Return the records of v2 record batches as columns, all batches at once; raise
    _NotSimple if a record has headers or the bytes do not add up.

    Each record is: length, attributes (1 byte), timestamp delta, offset delta,
    key length, key, value length, value, header count (all varints but the
    attributes). Only the lengths are read one by one; the rest is numpy.
    """
    parts = [_records_buffer(batch, raw) for batch, raw in batches]
    buf = b"".join(parts)
    bounds, pos = [], 0
    for (batch, _), part in zip(batches, parts, strict=True):
        bounds.append((pos, pos + len(part), batch.records_count))
        pos += len(part)
    starts, lengths = _record_spans(buf, bounds)
    if not starts:
        return RecordColumns([], [], [])
    data = np.frombuffer(buf, dtype=np.uint8)
    body = np.asarray(starts, dtype=np.int64)
    end = body + np.asarray(lengths, dtype=np.int64)
    _, n = _varints(data, body + 1)  # timestamp delta: not needed
    offset_delta, n2 = _varints(data, body + 1 + n)
    pos = body + 1 + n + n2
    key_len, n = _varints(data, pos)
    key_at = pos + n
    pos = key_at + np.maximum(key_len, 0)
    value_len, n = _varints(data, pos)
    value_at = pos + n
    pos = value_at + np.maximum(value_len, 0)
    header_count, n = _varints(data, pos)
    if header_count.any() or not np.array_equal(pos + n, end) \
            or (key_len < -1).any() or (value_len < -1).any():
        raise _NotSimple
    base = np.repeat([b.base_offset for b, _ in batches], [b.records_count for b, _ in batches])
    return RecordColumns((base + offset_delta).tolist(), _slices(buf, key_at, key_len),
                         _slices(buf, value_at, value_len))


def _one_by_one(batch, raw: memoryview) -> RecordColumns:
    """Return a batch's records read by kafka-python itself (raises its own errors)."""
    if batch.magic == 2:
        try:
            return v2_batches_to_columns([(batch, raw)])
        except _NotSimple:
            batch = DefaultRecordBatch(raw)  # a fresh reader: nothing consumed yet
    records = list(batch)
    return RecordColumns([r.offset for r in records], [r.key for r in records],
                         [r.value for r in records])


def batches_to_columns(batches: list[tuple[object, memoryview]]) -> RecordColumns:
    """Return the records of a fetch's record batches as columns, fast where it can."""
    if all(batch.magic == 2 for batch, _ in batches):
        try:
            return v2_batches_to_columns(batches)
        except _NotSimple:
            pass
    cols = [_one_by_one(batch, raw) for batch, raw in batches]
    return RecordColumns([o for c in cols for o in c.offsets], [k for c in cols for k in c.keys],
                         [v for c in cols for v in c.values])


CHUNK_RECORDS: Final = 2048  # records per RecordColumns a poll returns, at most


class _ColumnarPartitionRecords(Fetcher.PartitionRecords):
    """kafka-python's per-partition fetch buffer, yielding RecordColumns of up to
    CHUNK_RECORDS records; `take(n)` then counts chunks, not records."""

    def _maybe_skip_record(self, record) -> bool:
        return False  # records before the fetch offset are cut in _unpack_records

    def _unpack_records(self, tp, records, key_deserializer, value_deserializer
                        ) -> Iterator[RecordColumns]:
        try:
            batches, last_batch, error = [], None, None
            while records.has_next():
                raw = records._next_slice  # the batch's bytes, before next_batch moves on
                batch = records.next_batch()
                if self.check_crcs and not batch.validate_crc():
                    # As kafka-python: what came before is returned, then this raises.
                    error = errors.CorruptRecordError(
                        f"Record batch for partition {self.topic_partition} at offset "
                        f"{batch.base_offset} failed crc check")
                    break
                last_batch = batch
                if batch.magic == 2:
                    self.leader_epoch = batch.leader_epoch
                    if batch.is_control_batch:  # a transaction marker, not a record
                        continue
                batches.append((batch, raw))
            cols = batches_to_columns(batches).since(self.fetch_offset) if batches else None
            for at in range(0, len(cols.offsets) if cols else 0, CHUNK_RECORDS):
                chunk = RecordColumns(cols.offsets[at:at + CHUNK_RECORDS],
                                      cols.keys[at:at + CHUNK_RECORDS],
                                      cols.values[at:at + CHUNK_RECORDS])
                self.records_read += len(chunk.offsets)
                self.next_fetch_offset = chunk.offsets[-1] + 1
                yield chunk
            if error is not None:
                raise error
            self.bytes_read += records.size_in_bytes()
            if last_batch is not None and last_batch.magic == 2:
                self.next_fetch_offset = last_batch.next_offset
            self.drain()
        except StopIteration:  # as kafka-python: never let a generator swallow it
            raise RuntimeError("StopIteration raised unpacking messageset") from None


def read_as_columns(consumer: KafkaConsumer) -> bool:
    """Make `consumer.poll()` return RecordColumns per record batch; True if it will.

    False (nothing changed) where kafka-python's internals are not the ones
    this module was written against, or the consumer reads committed
    transactions only (then kafka-python's own reader is needed).
    """
    fetcher = getattr(consumer, "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "PartitionRecords") \
            or consumer.config.get("isolation_level", "read_uncommitted") != "read_uncommitted":
        return False
    fetcher.PartitionRecords = _ColumnarPartitionRecords
    return True


def polled_columns(records: dict[TopicPartition, list]) -> Iterator[
        tuple[TopicPartition, RecordColumns]]:
    """Yield (partition, columns) from a poll, whichever reader made it."""
    for tp, items in records.items():
        if items and isinstance(items[0], RecordColumns):
            for cols in items:
                yield tp, cols
        elif items:
            yield tp, RecordColumns([r.offset for r in items], [r.key for r in items],
                                    [r.value for r in items])

