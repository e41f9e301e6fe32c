"""The engine's live loop: poll batches from Kafka, process, store, publish.

The consumer group reads the three input topics. Offsets live in the DuckDB
file, written in the same transaction as each batch, and on every partition
assignment the consumer seeks to them, so a crash at any instant loses nothing
and stores nothing twice. Kafka's own committed offsets are updated after each
write only so that lag tools see progress. Two threads overlap the work: this
thread polls and runs `engine.process` (Python), the writer thread runs the
DuckDB transaction (which releases the GIL) and publishes dead letters.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat

import msgspec
import pyarrow as pa
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from onegrid.alerts.casework import Directory
from onegrid.alerts.directory import with_rules
from onegrid.alerts.evaluation import RuleState, live_alerts
from onegrid.geo import episode_store
from onegrid.geo import store as gstore
from onegrid.geo.store import Store
from onegrid.streams.casefeed import decide_and_store_cases
from onegrid.streams.contract import COMMANDS, INPUT_TOPICS, TOPIC_PREFIX_DEFAULT, topic_name
from onegrid.streams.engine import (
    City,
    Outcome,
    Rules,
    decide_alerts,
    place_on_grid,
    process,
    store_outcome,
)
from onegrid.streams.episode_feed import EpisodeSettings, decide_episodes
from onegrid.streams.records import CHUNK_RECORDS, polled_columns, read_as_columns
from onegrid.streams.validate import EVENT_SCHEMA, RawMessage

log = logging.getLogger(__name__)


def resume_rule_state(store: Store) -> RuleState:
    """Return the live alerts and event clock a restarted engine carries on from."""
    cur = store.cursor()
    return RuleState(live_alerts(gstore.live_alert_rows(cur)), gstore.event_clock(cur))


def utc_now() -> datetime:
    """Return the current time as an aware UTC datetime (the engine's clock)."""
    return datetime.now(UTC)


@dataclass
class EngineConfig:
    """How the engine node connects and paces itself."""

    bootstrap: str
    prefix: str = TOPIC_PREFIX_DEFAULT
    group_id: str = "onegrid-engine"
    # Kafka's default is 45 s and the embedded broker holds a join for half the
    # session timeout, so a short session makes a (re)join take seconds, not 23 s.
    session_timeout_ms: int = 8000
    max_poll_records: int = 10_000
    until_idle_s: float | None = None
    status_interval_s: float = 1.0
    client_config: dict = field(default_factory=dict)  # SASL/TLS settings, passed through
    # DuckDB worker threads while writing live traffic (None: the store's own setting).
    # Live transactions are a few hundred rows and two dozen small statements, too small
    # to split: on one thread they took 12-15 % less time (bench harness, 2 cores), and
    # the alert p99 at 1,000 events/s fell by 90-140 ms in paired runs of bench/alerts.
    # Catching up (LIVE_ROWS or more a write) uses the store's setting again.
    live_db_threads: int | None = 1


@dataclass
class Stats:
    """Running counts the status line and tests read."""

    stored: int = 0
    rejected: int = 0
    batches: int = 0
    started: float = field(default_factory=time.monotonic)
    lag: int | None = None  # None: unknown (the embedded broker misreports end offsets)
    alert_changes: int = 0
    episodes_shared: int = 0  # messages queued for onegrid.shared
    case_changes: int = 0  # case log entries and command answers published
    poll_s: float = 0.0  # time spent in poll, process and write: where the loop waits
    process_s: float = 0.0
    write_s: float = 0.0
    decide_s: float = 0.0  # the part of write_s spent deciding alerts
    first_record_at: float | None = None  # monotonic time of the first record polled
    last_write_at: float | None = None  # monotonic time the last batch committed

    @property
    def drain_s(self) -> float | None:
        """Seconds from the first record polled to the last batch committed."""
        if self.first_record_at is None or self.last_write_at is None:
            return None
        return self.last_write_at - self.first_record_at


LIVE_ROWS = 5_000  # a write of fewer messages is live traffic (see live_db_threads)
MERGE_LIMIT = 250_000  # messages per transaction when batches are merged
# DuckDB writes an insert of at least a row group (122,880 rows) straight to the
# file; a smaller one goes to the WAL and is written again at the checkpoint.
# Measured with 1M events: 14 us/event in 10k-row transactions, 2.8 in 250k.
# So while the consumer catches up, the writer gathers a row group's worth.
ROW_GROUP_ROWS = 122_880
CATCH_UP_WAIT_S = 1.0  # the longest the writer waits to gather a row group
STALL_WARN_S = 30.0  # records waiting but none received this long: warn
CASE_TICK_S = 1.0  # with no input this long, a write still runs the case clocks
# A partition silent this long, once the consumer is no longer catching up, is
# idle: the event clock stops waiting for it (Flink's idle-source timeout).
IDLE_PARTITION_S = 10.0


def _merge(items: list[tuple]) -> tuple:
    """Return one (messages, outcome, offsets, expected) for consecutive polled batches."""
    if len(items) == 1:
        return items[0]
    messages = [m for item in items for m in item[0]]
    outcome = Outcome(pa.concat_tables([item[1].events for item in items]),
                      [r for item in items for r in item[1].rejections],
                      [c for item in items for c in item[1].commands])
    offsets: dict = {}
    for item in items:
        offsets.update(item[2])  # later batches of a partition carry the later offset
    return messages, outcome, offsets, items[-1][3]


async def _stay_in_group(reason=None, timeout_ms=None) -> None:
    """Stand in for kafka-python's LeaveGroup on close: send nothing."""


class _SeekToStored(ConsumerRebalanceListener):
    """On assignment, resume each partition from the offset stored with its data."""

    def __init__(self, runner: EngineRunner):
        self.runner = runner

    def on_partitions_revoked(self, revoked) -> None:
        # A (re)join starts here (kafka-python calls this before every JoinGroup,
        # with an empty set the first time) and ends in on_partitions_assigned.
        self.runner.joining_since = time.monotonic()
        # Finish writing what was polled, so the stored offsets are current.
        self.runner.pending.join()

    def on_partitions_assigned(self, assigned) -> None:
        # Runs on kafka-python's IO thread: seek only (no blocking calls). A
        # partition with no stored offset starts from the group's committed
        # offset, else from the earliest.
        stored = self.runner.store.offsets()
        for tp in assigned:
            resume = stored.get((tp.topic, tp.partition))
            if resume is not None:
                self.runner.consumer.seek(tp, resume)
        self.runner.assigned_at = time.monotonic()
        self.runner.joining_since = None
        self.runner.join_warned = False
        log.info("assigned %d partitions", len(assigned))


class EngineRunner:
    """Runs the engine loop for one node until stopped or idle."""

    def __init__(self, config: EngineConfig, city: City, store: Store,
                 clock: Callable[[], datetime] = utc_now, out=sys.stderr,
                 rules: Callable[[], Rules | None] | None = None,
                 cases: Directory | None = None, episodes: EpisodeSettings | None = None):
        """`rules` returns the rules in force before each write (a reloading
        watcher in production); None runs ingest only. `cases` is the city's case
        directory: with it the engine applies commands and runs cases. With
        `episodes` it keeps exceedance episodes current and shares those near
        the city edge on onegrid.shared."""
        self.config, self.city, self.store, self.clock, self.out = config, city, store, clock, out
        self.rules = rules
        self.cases = cases
        self.episodes = episodes
        self.episodes_until = None  # the hour episodes are decided up to (resumed in run)
        self._case_rules: tuple = ()  # the rules whose case policies `cases` holds
        self.rule_state = RuleState()
        self.stats = Stats()
        self.stop_event = threading.Event()
        self.pending: queue.Queue = queue.Queue(maxsize=32)
        self.to_commit: queue.SimpleQueue = queue.SimpleQueue()
        self.assigned_at: float | None = None
        # Monotonic time the current (re)join began; None while the member holds
        # its assignment. Set before the consumer exists: the first join starts now.
        self.joining_since: float | None = time.monotonic()
        self.join_warned = False
        self.last_data_at: float | None = None
        self.partition_data_at: dict[tuple[str, int], float] = {}  # last data, monotonic
        self.backlog_at = 0.0  # last poll that came back (nearly) full: still catching up
        self.stall_warned = False
        self.last_tick_at = 0.0  # monotonic time of the last empty batch (case clocks)
        self.error: BaseException | None = None
        self.consumer: KafkaConsumer | None = None
        # poll() counts record batches (RecordColumns), not messages: start at what
        # holds max_poll_records messages if batches are full, then follow their size.
        self._batches_per_poll = max(1, config.max_poll_records // CHUNK_RECORDS)
        self.producer: KafkaProducer | None = None
        # The last outbox seq the broker has acknowledged, and the last one deleted
        # from the outbox: the next write's transaction deletes what lies between.
        self._sent_seq: int | None = None
        self._dropped_seq: int | None = None

    # -- threads -------------------------------------------------------------

    def run(self) -> Stats:
        """Consume until `stop()` or until idle; return the final counts."""
        cfg = self.config
        # What is alive now (libraries, the city, rules) lives as long as the
        # engine: leave it out of every later collection, which otherwise walks
        # it again while batches of fresh objects come and go.
        gc.freeze()
        self.producer = KafkaProducer(bootstrap_servers=cfg.bootstrap, linger_ms=5,
                                      **cfg.client_config)
        self._publish_outbox()  # what a crash left between commit and publish
        self._drop_published()
        self.rule_state = resume_rule_state(self.store)
        self.episodes_until = episode_store.episodes_until(self.store.cursor())
        self.consumer = KafkaConsumer(
            bootstrap_servers=cfg.bootstrap, group_id=cfg.group_id,
            enable_auto_commit=False, auto_offset_reset="earliest",
            session_timeout_ms=cfg.session_timeout_ms,
            heartbeat_interval_ms=max(500, cfg.session_timeout_ms // 4),
            max_poll_records=cfg.max_poll_records, fetch_max_bytes=64 * 1024 * 1024,
            # The broker may hold a fetch this long waiting for data; 500 ms by
            # default, which adds straight to an alert's latency at low rates.
            fetch_max_wait_ms=100,
            max_partition_fetch_bytes=8 * 1024 * 1024, **cfg.client_config,
        )
        read_as_columns(self.consumer)
        self.consumer.subscribe([topic_name(s, cfg.prefix) for s in (*INPUT_TOPICS, COMMANDS)],
                                listener=_SeekToStored(self))
        writer = threading.Thread(target=self._write_loop, name="onegrid-writer", daemon=True)
        writer.start()
        try:
            self._poll_loop()
        finally:
            if self.stop_event.is_set():
                self._drop_pending()
            self.pending.put(None)
            writer.join()
            if self.error is None:
                self._drop_published()
            self._commit_to_kafka()
            self._close_consumer()
            self.producer.close()
            self._status(final=True)
        s = self.stats
        log.info("time in poll %.2f s, process %.2f s, write %.2f s (rules %.2f s) over %d "
                 "batches", s.poll_s, s.process_s, s.write_s, s.decide_s, s.batches)
        if self.error:
            raise self.error
        return self.stats

    def stop(self) -> None:
        """Ask the loop to finish the batch in hand and exit."""
        self.stop_event.set()

    def _close_consumer(self) -> None:
        """Close the consumer, leaving the group only if this member holds its assignment.

        The embedded broker (Tansu 0.6) keeps a member that leaves while its
        group is still forming as the group's leader: every later member then
        waits as a follower for an assignment that never comes, and the group is
        stuck until the broker restarts (Forming::leave drops the member but not
        `state.leader`). A member stopped mid-join, for instance by SIGTERM
        during startup, therefore closes without LeaveGroup, as a crashed one
        would; the broker drops it when its session times out and the next
        member becomes the leader.
        """
        if self.joining_since is not None:
            log.info("stopped before the group assignment: closing without leaving the group")
            # kafka-python 3.0 has no option to close without leaving; close()
            # leaves through this coroutine, so replace it on this instance.
            self.consumer._coordinator.maybe_leave_group_async = _stay_in_group
        self.consumer.close()

    def _drop_pending(self) -> None:
        """Forget polled batches not yet written: their offsets were not stored, so the
        next start reads them again. A stop then waits for one transaction, not for
        a queue of them (with cases on, a catching-up queue is minutes of work)."""
        while True:
            try:
                self.pending.get_nowait()
            except queue.Empty:
                return
            self.pending.task_done()

    def _poll_loop(self) -> None:
        last_data = time.monotonic()
        next_status = time.monotonic() + self.config.status_interval_s
        while not self.stop_event.is_set() and self.error is None:
            t0 = time.monotonic()
            records = list(polled_columns(self.consumer.poll(
                timeout_ms=200, max_records=self._batches_per_poll)))
            now = time.monotonic()
            if records:
                self.stats.poll_s += now - t0
                last_data = self.last_data_at = now
                count = sum(len(cols.offsets) for _, cols in records)
                # poll counts record batches: aim at max_poll_records messages a poll
                self._batches_per_poll = max(1, min(
                    self.config.max_poll_records,
                    self.config.max_poll_records * len(records) // count))
                if count >= self.config.max_poll_records // 2:
                    self.backlog_at = now
                if self.stats.first_record_at is None:
                    self.stats.first_record_at = now
                self._enqueue(records)
            elif self.cases is not None and self.pending.empty() \
                    and now - max(last_data, self.last_tick_at) >= CASE_TICK_S:
                self._enqueue_tick(now)
            self._commit_to_kafka()
            if now >= next_status:
                self._update_lag()
                self._watch_for_join(now)
                self._status()
                next_status = now + self.config.status_interval_s
            if self._idle(now, last_data):
                log.info("idle for %.1f s: draining and exiting", self.config.until_idle_s)
                return

    def _idle(self, now: float, last_data: float) -> bool:
        idle = self.config.until_idle_s
        if idle is None or self.assigned_at is None:
            return False
        # End offsets cannot be trusted on the embedded broker, so idle means
        # "nothing new arrived for that long", counted from the assignment.
        if now - max(last_data, self.assigned_at) < idle:
            return False
        # A killed member keeps its partitions until its session times out, and
        # the broker then holds the rejoin for up to half a session. With only
        # part of the input, wait out both past the last assignment, so a
        # pending rebalance can hand the rest over before we call it done.
        grace = 2 * self.config.session_timeout_ms / 1000 + idle
        return self._holds_all_partitions() or now - self.assigned_at >= grace

    def _holds_all_partitions(self) -> bool:
        assigned = self.consumer.assignment()
        for suffix in INPUT_TOPICS:
            topic = topic_name(suffix, self.config.prefix)
            parts = self.consumer.partitions_for_topic(topic) or set()
            if not parts or any(TopicPartition(topic, p) not in assigned for p in parts):
                return False
        return True

    def _enqueue(self, records: list) -> None:
        messages, offsets = [], {}
        now = time.monotonic()
        for tp, cols in records:
            suffix = tp.topic.removeprefix(self.config.prefix)
            # tuple.__new__ builds each RawMessage in C; the NamedTuple's own
            # __new__ is Python, and cost 1.6 µs a message here.
            messages.extend(map(tuple.__new__, repeat(RawMessage), zip(
                repeat(tp.topic), repeat(tp.partition), cols.offsets, cols.keys, cols.values,
                repeat(suffix))))
            offsets[(tp.topic, tp.partition)] = cols.offsets[-1] + 1
            self.partition_data_at[(suffix, tp.partition)] = now
        t0 = time.monotonic()
        outcome = process(messages, self.city, self.clock())
        self.stats.process_s += time.monotonic() - t0
        self._put((messages, outcome, offsets, self._expected_partitions(now)))

    def _put(self, item: tuple) -> None:
        """Queue a batch for the writer; give up when asked to stop (it is read again)."""
        while not self.stop_event.is_set():
            try:
                self.pending.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _enqueue_tick(self, now: float) -> None:
        """Queue an empty batch, so case time limits run on while no input arrives."""
        self.last_tick_at = now
        empty = Outcome(place_on_grid(EVENT_SCHEMA.empty_table(), self.city.regions))
        self.pending.put(([], empty, {}, self._expected_partitions(now)))

    def _expected_partitions(self, now: float) -> set[tuple[str, int]]:
        """Return the assigned input partitions the event clock must wait for.

        A partition is left out once it has been silent (or never spoke since
        the assignment) for IDLE_PARTITION_S while the consumer is no longer
        catching up: waiting for it would stop every rule.
        """
        caught_up = now - self.backlog_at >= IDLE_PARTITION_S
        expected = set()
        for tp in self.consumer.assignment():
            key = (tp.topic.removeprefix(self.config.prefix), tp.partition)
            if key[0] not in INPUT_TOPICS:  # commands carry no event time
                continue
            spoke = self.partition_data_at.get(key, self.assigned_at or now)
            if not (caught_up and now - spoke >= IDLE_PARTITION_S):
                expected.add(key)
        return expected

    def _write_loop(self) -> None:
        while True:
            items = self._take_pending()
            try:
                if self.error is None and any(items):
                    self._write(*_merge([i for i in items if i is not None]))
            except BaseException as exc:  # surfaced by run() on the main thread
                log.exception("write failed")
                self.error = exc
                self.stop_event.set()
            finally:
                for _ in items:
                    self.pending.task_done()
            if None in items:
                return

    def _take_pending(self) -> list:
        """Wait for a batch, then take what else is queued, up to MERGE_LIMIT messages.

        When the writer falls behind, one transaction for several batches costs
        one commit instead of several; while the consumer is catching up it
        waits up to CATCH_UP_WAIT_S for a row group's worth (see ROW_GROUP_ROWS).
        Live traffic is written as it comes.
        """
        items = [self.pending.get()]
        size = len(items[0][0]) if items[0] else 0
        deadline = time.monotonic() + CATCH_UP_WAIT_S
        while items[-1] is not None and size < MERGE_LIMIT:
            now = time.monotonic()
            catching_up = now - self.backlog_at < CATCH_UP_WAIT_S
            wait = deadline - now if catching_up and size < ROW_GROUP_ROWS else 0.0
            try:
                item = self.pending.get(timeout=wait) if wait > 0 else self.pending.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            size += len(item[0]) if item else 0
        return items

    def _write(self, messages, outcome, offsets, expected=None) -> None:
        prefix = self.config.prefix
        rules = self.rules() if self.rules else None

        sent = self._sent_seq

        def transaction(cur):
            if sent != self._dropped_seq:
                gstore.mark_published(cur, sent)
            stored = store_outcome(cur, outcome, messages, prefix, self.store.ids)
            # One clock read for rules and episodes; with none yet, both wait.
            at = gstore.event_clock(cur, expected)
            state, changes = self.rule_state, []
            if rules is not None and at is not None:
                t1 = time.monotonic()
                state, changes = decide_alerts(cur, rules, self.rule_state, prefix,
                                               self.city.regions, at=at)
                self.stats.decide_s += time.monotonic() - t1
            until, shared = self.episodes_until, 0
            if self.episodes is not None and at is not None:
                decided = decide_episodes(cur, self.episodes, self.city.regions, until,
                                          prefix, at=at)
                until, shared = decided.until, decided.shared
            case_changes = 0
            if self.cases is not None:
                directory = self._case_directory(rules)
                case_changes = decide_and_store_cases(
                    cur, directory, outcome.commands, stored.table, changes, self.clock(),
                    prefix)
            return stored, state, len(changes), case_changes, until, shared

        live = len(messages) < LIVE_ROWS
        self.store.set_threads(self.config.live_db_threads if live else None)
        t0 = time.monotonic()
        stored, self.rule_state, changes, case_changes, self.episodes_until, shared = \
            self.store.write(transaction, offsets)
        took = time.monotonic() - t0
        self._dropped_seq = sent
        self.stats.write_s += took
        log.debug("wrote %d messages in %.0f ms", len(messages), took * 1000)
        self.stats.alert_changes += changes
        self.stats.case_changes += case_changes
        self.stats.episodes_shared += shared
        if stored.dead_letters or changes or case_changes or shared:
            self._publish_outbox()
        self.stats.stored += stored.events
        self.stats.rejected += stored.dead_letters
        self.stats.batches += 1
        self.stats.last_write_at = time.monotonic()
        self.to_commit.put(offsets)

    def _case_directory(self, rules: Rules | None) -> Directory:
        """Return the case directory with the case policies of the rules in force."""
        if rules is not None and rules.rules is not self._case_rules:
            self._case_rules = rules.rules
            self.cases = with_rules(self.cases, rules.rules)
        return self.cases

    def _publish_outbox(self) -> None:
        """Send what the outbox holds that was not sent yet; a crash before the next
        write (which drops the sent rows, see `_write`) re-sends it.

        Dropping sent rows in the next batch's transaction, not in one of their
        own, saves a commit per alerting write (about 7 ms, on the alert path).
        """
        cur = self.store.cursor()
        while rows := gstore.pending_outbox(cur, after=self._sent_seq):
            for _seq, topic, key, value, headers in rows:
                hdrs = [(k, v.encode()) for k, v in msgspec.json.decode(headers or "{}").items()]
                self.producer.send(topic, key=key, value=value, headers=hdrs)
            self.producer.flush()
            self._sent_seq = rows[-1][0]

    def _drop_published(self) -> None:
        """Delete the outbox rows already sent (at start and at a clean stop)."""
        sent = self._sent_seq
        if sent != self._dropped_seq:
            self.store.write(lambda c: gstore.mark_published(c, sent))
            self._dropped_seq = sent

    # -- consumer-thread helpers ---------------------------------------------

    def _commit_to_kafka(self) -> None:
        merged: dict = {}
        while not self.to_commit.empty():
            merged.update(self.to_commit.get())
        if merged:
            self.consumer.commit_async({
                TopicPartition(t, p): OffsetAndMetadata(o, "", -1) for (t, p), o in merged.items()
            })

    def _update_lag(self) -> None:
        parts = list(self.consumer.assignment())
        if not parts:
            self.stats.lag = None
            return
        try:
            ends = self.consumer.end_offsets(parts)
        except Exception:  # lag is informative only; never stop the loop for it
            self.stats.lag = None
            return
        gaps = [ends[tp] - self.consumer.position(tp) for tp in parts]
        # A negative gap means the broker's high watermark is wrong: say unknown.
        self.stats.lag = sum(gaps) if min(gaps) >= 0 else None
        self._watch_for_stall()

    def _watch_for_stall(self) -> None:
        """Warn when records wait on the broker but none has arrived for a while.

        kafka-python 3.0.x before 3.0.12 could stall silently (upstream #3106,
        #3131); an operator should hear of it rather than see a quiet map.
        """
        s = self.stats
        waiting = s.lag is not None and s.lag > 0
        quiet_s = time.monotonic() - (self.last_data_at or s.started)
        if waiting and quiet_s > STALL_WARN_S:
            if not self.stall_warned:
                log.warning("consumer looks stalled: %d records wait on the broker, none "
                            "received for %.0f s", s.lag, quiet_s)
                self.stall_warned = True
        else:
            self.stall_warned = False

    def _join_warn_s(self) -> float:
        """Seconds without an assignment after which a join looks stuck.

        A healthy join takes up to half a session (the broker holds JoinGroup)
        plus a SyncGroup, and a rejoin after a crashed member waits out its
        session first; three sessions and some seconds is well past all that.
        """
        return 3 * self.config.session_timeout_ms / 1000 + 10

    def _watch_for_join(self, now: float) -> None:
        """Warn once when a (re)join has gone on far longer than a join takes, so a
        node stuck without partitions says so instead of idling at "lag ?"."""
        if self.joining_since is None or self.join_warned:
            return
        waited = now - self.joining_since
        if waited > self._join_warn_s():
            log.warning("no partition assignment from consumer group %r after %.0f s: the "
                        "group looks stuck; a member that left it mid-rebalance can leave "
                        "the embedded broker's group without a leader until the broker "
                        "restarts", self.config.group_id, waited)
            self.join_warned = True

    def _status(self, final: bool = False) -> None:
        s = self.stats
        rate = s.stored / max(1e-9, time.monotonic() - s.started)
        lag = "?" if s.lag is None else str(s.lag)
        line = (f"onegrid engine: {s.stored} stored, {rate:,.0f} events/s, "
                f"{s.rejected} rejected, {s.alert_changes} alert changes, lag {lag}")
        if self.out is None:
            return
        tty = getattr(self.out, "isatty", lambda: False)()
        end = "\n" if final or not tty else ""
        self.out.write(("\r" if tty else "") + line + end)
        self.out.flush()
