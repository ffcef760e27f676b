"""A consumer-group member running on its own thread, feeding an asyncio engine.

Why a thread: rebalance callbacks run inside ``consume()``, and on revoke the engine must wait
for in-flight work of the revoked partitions before their offsets are committed. Waiting there
needs the event loop to keep running, so ``consume()`` cannot run on the loop's thread.

This implements the engine's :class:`~processor.engine.ports.Consumer` port and drives its
:class:`~processor.engine.ports.ConsumerListener` (both defined by the engine):

1. ``on_assigned(partitions, committed)``: called (blocking, on this thread) after an
   incremental assign, with each partition's committed offset and its commit metadata (the
   finished offsets above it, see ``processor.engine.finished_offsets``) as read from the group
   coordinator; a partition missing there has none (or the read failed: skip nothing).
2. ``on_messages(batch)``: every non-empty batch from ``consume(n)``; the listener may block only
   briefly, as back-pressure (the engine waits, bounded, until the previous batch is dispatched).
   Each record carries its size (``Inbound.size``: key + value + headers, bytes), which the
   engine's flow control bounds. A batch holds at most ``batch_size`` records and, judged by the
   previous batch's mean record size, about ``batch_bytes`` (the first batch one record): the
   engine decides to pause only after a batch was dispatched, while this thread already holds
   the next one or two, so up to three batches land beyond its byte bound (500 records of 30 KB
   were 15 MB each; 512 KiB batches keep that overshoot to ~1.5 MiB for any record size).
3. ``on_revoked(partitions) -> {tp: offset}``: called (blocking) inside the revoke callback. The
   listener stops dispatching those partitions, waits (bounded) for their in-flight work, and
   returns the offsets that are safe to commit. This thread commits them *synchronously* before
   the partitions are released, so the next owner starts exactly after the finished prefix.
4. Offsets are never committed for unfinished work: the engine hands the finished prefix
   (offset and metadata) to :meth:`store_offsets`, and this thread commits every partition whose
   offset *or metadata* changed, asynchronously, every ``commit_interval`` (librdkafka's
   auto-commit would not do: it commits an offset only when the offset moved, so the finished
   offsets above a stuck one would never reach the broker); revoke and close commit
   synchronously. A failed asynchronous commit is sent again at the next interval.
5. Flow control (:meth:`set_paused`), stored offsets and stop requests are applied by this thread
   between ``consume()`` calls, so the Consumer object is only ever used from this thread, except
   in the revoke callback which also runs here. When the engine asks to pause *every* assigned
   partition (its in-flight window or byte bound is full, or a circuit is open), this thread
   first only *holds*: it stops calling ``consume()`` (still storing and committing offsets)
   for up to ``pause_hold_s``, and pauses the partitions in librdkafka only if the engine still
   wants them all paused then. librdkafka's pause throws its prefetched records away and its
   resume fetches again only at the broker thread's next wake-up: measured on a local broker
   (librdkafka 2.16), the first record came 0.67-0.71 s after ``resume()`` whatever
   ``fetch.*backoff.ms`` said, so a window filling and draining several times a second starved
   the engine for most of each cycle (issue 16). Holding keeps the prefetched records (bounded
   by ``queued.max.messages.kbytes``) and resumes at once. A rebalance waits for the hold to end
   (rebalance callbacks run inside ``consume()``), at most ``pause_hold_s``; far below
   ``max.poll.interval.ms``. Pausing some partitions only is applied in librdkafka at once.
6. Position jumps: librdkafka moves a partition's position by itself when its offset is out of
   range (the topic was deleted and re-created, retention deleted records not read yet), and
   records stop following each other. This thread knows where each partition should continue
   (the committed offset at assignment, then one past the last record handed over) and checks
   every record: a record *below* it, or a gap over records the log no longer has (the log
   start offset moved past it), is a jump. Then, in order: the records before it are handed
   over, the jump is logged (WARNING: partition, old and new position, offsets skipped),
   ``on_position_jump(tp, old, new, skipped)`` is called (blocking: the listener starts the
   partition afresh at ``new`` and reports the metric), offsets stored for the old position and
   not committed yet are replaced by ``new``, so a stale position is never committed on top of
   the new one, and the records from the jump on are handed over.
7. Transaction markers take an offset but are never returned as records; when a partition is
   idle (everything handed over is finished and stored) and the consumer's position is past
   the stored offset, the position is stored, so a partition ending with a marker commits to
   the end and its lag reaches 0.
8. A partition whose first records after an assignment arrive *below* the committed offset read
   at assignment was not started at that offset by librdkafka (it could not fetch it, e.g.
   while a restarted broker was loading the group's offsets, and reset to the beginning): those
   records are dropped (the group committed past them) and the partition seeks to the committed
   offset, provided that offset lies within the log (else it belongs to a re-created topic's
   old log: a position jump, rule 6). Without this a broker restart could repeat everything ever delivered (issue 13 item 7).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Message, TopicPartition

from processor.engine.ports import TP, Commit, ConsumerListener, Inbound
from processor.kafka.clients import REFUSALS, settings_refused
from processor.kafka.logs import KAFKA_LOGGER

log = logging.getLogger(__name__)
_kafka_log = logging.getLogger(KAFKA_LOGGER)

#: Settings at-least-once depends on; passthrough cannot override them.
SAFETY_SETTINGS = {
    "enable.auto.offset.store": False,
    "enable.partition.eof": False,
}


def client_settings(conf: Mapping[str, Any]) -> dict[str, Any]:
    """The librdkafka settings :class:`ConsumerThread` builds its consumer with (its callbacks
    aside): this module's defaults, ``conf`` over them, the safety settings over both. One place,
    so ``check-config`` and ``run``'s start-up check exactly what the consumer gets."""
    return {
        "auto.offset.reset": "earliest",
        # librdkafka refreshes topic metadata every 5 minutes by default: partitions added to
        # the source topic were consumed only minutes later, and a deleted topic went unnoticed
        # (issue 13). Every 5 s costs one small metadata request per broker. Overridable.
        "topic.metadata.refresh.interval.ms": 5000,
        # librdkafka prefetches up to 64 MB by default, but the engine holds at most
        # max_in_flight events (and max_in_flight_bytes) anyway. With a backlog that buffer
        # costs far more RSS than its size: bench --rss, 30 KB events, engine admitting
        # ~nothing: 270 MB at 16 MB, 131 MB at 2 MB (1 KB events: 308 -> 234 MB from 64 to
        # 16 MB). 2 MB is still ~0.3 s of events at full speed; 60,000 1 KB events, 2 pairs of
        # runs (machine load 4-9): events/s 1,495 / 1,424 at 16 MB, 2,968 / 1,904 at 2 MB,
        # peak RSS 204 -> 155 MB. Overridable.
        "queued.max.messages.kbytes": 2048,
        # Once that buffer is full, librdkafka (2.x) waits fetch.queue.backoff.ms (default
        # 1,000) before it fetches again, even when the engine has emptied the buffer long
        # before: one process was capped at ~11,000 1.2 KB events/s whatever the engine could do
        # (bench/run.py, 100,000 events, 20 ms stub, max_concurrent_requests=1000: 11,158
        # events/s at the default; 16,949 at 100 ms, 18,272 at 50, 19,315 at 20, 17,277 at 1,
        # the same CPU per event). The buffer's bound, so RSS, is unchanged. Overridable.
        "fetch.queue.backoff.ms": 20,
        # The group subscribes to the source topic *and* the retry tiers. The cooperative-sticky
        # assignor balances the total partition count, not each topic (librdkafka #4044): a
        # second member joining got all 8 retry partitions and the first kept all 8 source
        # partitions, so `run --processes 2` did the work of one (bench: 4,800-5,100 events/s
        # for 1 and 2 processes). `range` splits every topic over the members (2 processes:
        # 10,600 events/s). It is an eager protocol: a rebalance revokes everything, and each
        # member drains and commits before the new assignment. Overridable (a group cannot mix
        # eager and cooperative members: see the README, "Scaling out").
        "partition.assignment.strategy": "range",
        **conf,
        **SAFETY_SETTINGS,
        "enable.auto.commit": False,  # rule 4: this thread commits
    }


class ConsumerThread:
    def __init__(
        self,
        conf: dict[str, Any],
        topics: list[str],
        listener: ConsumerListener,
        *,
        batch_size: int = 500,
        batch_bytes: int = 512 * 1024,
        commit_interval_s: float = 1.0,
        poll_timeout_s: float = 0.05,
        pause_hold_s: float = 1.0,
        on_lag: Callable[[TP, int], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        settings = {**client_settings(conf), "on_commit": self._on_commit, "error_cb": self._on_kafka_error}
        try:
            self._consumer = Consumer(settings)
        except REFUSALS as exc:
            raise settings_refused("consumer", exc) from None
        self._strategy = str(settings["partition.assignment.strategy"])  # named when the group refuses it
        self._topics = topics
        self._listener = listener
        self._batch_size = batch_size
        self._batch_bytes = batch_bytes
        self._next_batch = 1  # records to ask for next (rule 2: about batch_bytes; the size is unknown at first)
        self._poll_timeout = poll_timeout_s
        self._pause_hold_s = pause_hold_s
        self._lag_interval = max(commit_interval_s, 1.0)
        self._commit_interval = commit_interval_s
        self._to_commit: dict[TP, Commit] = {}  # latest finished position per partition (rule 4)
        self._sent: dict[TP, Commit] = {}  # what was last sent (or acknowledged) per partition
        self._on_lag = on_lag
        self._on_error = on_error
        self._lock = threading.Lock()
        self._pending_store: dict[TP, Commit] = {}
        self._want_paused: set[TP] | None = None  # a new request of the engine's, not applied yet
        self._wanted: set[TP] = set()  # the engine's latest request
        self._paused: set[TP] = set()  # paused in librdkafka
        self._holding_since: float | None = None  # rule 5: everything to pause, consume() not called
        self._wake = threading.Event()  # a command arrived (ends a hold's wait early)
        self._assigned: set[TP] = set()
        self._stored: dict[TP, int] = {}
        self._position: dict[TP, int] = {}  # where each partition's next record should be (rule 6)
        self._unstarted: set[TP] = set()  # assigned at a committed offset, no record handed over yet (rule 8)
        self._seeked: set[TP] = set()
        self._stop = threading.Event()
        self._fatal: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kafka-consumer", daemon=True)

    # -- called from the engine's thread ------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def store_offsets(self, offsets: dict[TP, int | Commit]) -> None:
        """Offsets (next to read) that are finished, with metadata; committed at the next commit interval."""
        with self._lock:
            for tp, commit in offsets.items():
                self._pending_store[tp] = commit if isinstance(commit, tuple) else (commit, "")

    def set_paused(self, partitions: set[TP]) -> None:
        """The partitions that should be paused from now on (the others are resumed)."""
        with self._lock:
            self._want_paused = set(partitions)
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def fatal_error(self) -> BaseException | None:
        return self._fatal

    @property
    def assignment(self) -> set[TP]:
        return set(self._assigned)

    # -- the consumer thread --------------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._consumer.subscribe(self._topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                     on_lost=self._on_lost)
            next_lag = time.monotonic() + self._lag_interval
            next_commit = time.monotonic() + self._commit_interval
            while not self._stop.is_set():
                self._wake.clear()
                self._apply_commands()
                if self._holding_since is None:
                    self._consume_batch()
                else:
                    self._wake.wait(self._poll_timeout)
                if time.monotonic() >= next_commit:
                    next_commit = time.monotonic() + self._commit_interval
                    self._commit_async()
                if time.monotonic() >= next_lag:
                    next_lag = time.monotonic() + self._lag_interval
                    self._store_past_markers()
                    if self._on_lag is not None:
                        self._report_lag()
            self._close()
        except BaseException as exc:  # noqa: BLE001 - surfaced to the engine, which stops
            log.exception("consumer thread failed")
            self._fatal = exc
            if self._on_error is not None:
                self._on_error(f"consumer thread failed: {exc}")
            try:
                self._consumer.close()
            except Exception:  # noqa: BLE001
                pass

    def _consume_batch(self) -> None:
        """One ``consume()``, handed over; the next asks for about ``batch_bytes`` (rule 2)."""
        messages = self._consumer.consume(self._next_batch, self._poll_timeout)
        if messages:
            nbytes = self._hand_over(messages)
            self._next_batch = max(1, min(self._batch_size, self._batch_bytes * len(messages) // max(1, nbytes)))

    def _hand_over(self, messages: list[Message]) -> int:
        """Records to the listener in batches, with position jumps reported in between (rule 6).

        Returns the bytes of the records handed over (``Inbound.size`` summed)."""
        batch: list[Inbound] = []
        position = self._position
        total = 0
        for m in messages:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    self._on_kafka_error(err)
                continue
            tp = (m.topic(), m.partition())
            offset = m.offset()
            expected = position.get(tp)
            if tp in self._unstarted:
                if expected is not None and offset < expected and self._within_log(tp, expected):
                    self._below_committed(tp, offset, expected)
                    continue  # committed by the group already: never delivered again
                self._unstarted.discard(tp)  # (a committed offset beyond the log's end: a jump, below)
            if expected is not None and offset != expected:
                skipped = self._jump(tp, expected, offset)
                if skipped is not None:
                    if batch:
                        self._listener.on_messages(batch)
                        batch = []
                    self._position_jumped(tp, expected, offset, skipped)
            position[tp] = offset + 1
            ts_type, ts = m.timestamp()
            key, value, headers = m.key(), m.value(), m.headers()
            size = (len(key) if key else 0) + (len(value) if value else 0)
            if headers:
                size += sum(len(k) + (len(v) if v else 0) for k, v in headers)
            total += size
            batch.append(Inbound(tp[0], tp[1], offset, key, value, headers, ts if ts_type else None, size))
        if batch:
            self._listener.on_messages(batch)
        return total

    def _below_committed(self, tp: TP, offset: int, committed: int) -> None:
        """Rule 8: the first records of an assignment arrive below the group's committed offset.

        librdkafka starts a partition at the committed offset it fetched itself; starting below
        the one read at assignment means it could not use it (its fetch failed and
        ``auto.offset.reset`` chose the beginning), which would repeat everything ever
        delivered. Those records are behind the group's commit, so they are dropped and the
        partition is moved to the committed offset.
        """
        if tp not in self._seeked:
            self._seeked.add(tp)
            log.warning("partition %s[%d] started at offset %d, below the group's committed offset %d; "
                        "moving to %d (the records below it were finished before)", tp[0], tp[1], offset,
                        committed, committed)
            try:
                self._consumer.seek(TopicPartition(tp[0], tp[1], committed))
            except KafkaException as exc:
                log.warning("seek of %s[%d] to %d failed; records below it are dropped as they come: %s",
                            tp[0], tp[1], committed, exc)

    def _within_log(self, tp: TP, offset: int) -> bool:
        """True if ``offset`` is a position of the partition's log as the last fetch saw it.

        A committed offset beyond the log's end belongs to another log (the topic was re-created
        while its offsets survived): seeking there would skip the new log's records, so rule 8
        does not apply and the start below it is a position jump (rule 6) instead.
        """
        try:
            _low, high = self._consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
        except KafkaException:
            return False
        return high is not None and high >= offset

    def _jump(self, tp: TP, expected: int, offset: int) -> int | None:
        """Offsets skipped if ``offset`` (after ``expected``) is a position jump, else None (a gap).

        Backwards is always a jump (0 skipped: the offsets are read again, from another log).
        Forwards, gaps are normal (transaction markers, aborted or compacted records); it is a
        jump only over records the log no longer has: its start offset moved past ``expected``.
        """
        if offset < expected:
            return 0
        try:
            low, _high = self._consumer.get_watermark_offsets(TopicPartition(*tp), cached=True)
        except KafkaException:
            return None
        if low is None or low <= expected:
            return None
        return min(offset, low) - expected

    def _position_jumped(self, tp: TP, old: int, new: int, skipped: int) -> None:
        log.warning("partition %s[%d] position jumped from offset %d to %d (%d offsets skipped: %s); "
                    "continuing from %d", tp[0], tp[1], old, new, skipped,
                    "the log no longer has them" if skipped else "the partition starts again below", new)
        self._listener.on_position_jump(tp, old, new, skipped)
        with self._lock:  # stored for the old position and not sent yet: superseded
            self._pending_store.pop(tp, None)
        # librdkafka commits the *stored* offset: replace a stale one so it is not committed
        # on top of the new position (the records below ``new`` are gone or from another log).
        self._store({tp: (new, "")})

    def _apply_commands(self) -> None:
        with self._lock:
            store, self._pending_store = self._pending_store, {}
            want = self._want_paused
            self._want_paused = None
        if store:
            self._store(store)
            self._commit_async()  # at once: the engine hands over once per commit interval already
        if want is not None:
            self._wanted = want
        self._apply_pauses()

    def _apply_pauses(self) -> None:
        """Rule 5: hold while every assigned partition is to pause; pause in librdkafka otherwise,
        or when the hold has lasted ``pause_hold_s``."""
        want = self._wanted & self._assigned
        if want and want == self._assigned and want != self._paused:
            now = time.monotonic()
            if self._holding_since is None:
                self._holding_since = now
            if now - self._holding_since < self._pause_hold_s:
                return
        self._holding_since = None
        to_pause = want - self._paused
        to_resume = self._paused - want
        if to_pause:
            self._consumer.pause([TopicPartition(t, p) for t, p in to_pause])
        if to_resume:
            self._consumer.resume([TopicPartition(t, p) for t, p in to_resume])
        self._paused = want

    def _store(self, offsets: dict[TP, Commit]) -> None:
        """Remember what to commit next (partitions revoked meanwhile are ignored: their final
        offset was committed in the revoke callback)."""
        for tp, commit in offsets.items():
            if tp in self._assigned:
                self._to_commit[tp] = commit
                self._stored[tp] = commit[0]

    def _commit_async(self) -> None:
        """Rule 4: commit every assigned partition whose (offset, metadata) changed since last sent."""
        changed = {tp: c for tp, c in self._to_commit.items() if self._sent.get(tp) != c and tp in self._assigned}
        if not changed:
            return
        try:
            self._consumer.commit(offsets=[TopicPartition(t, p, o, metadata=meta)
                                           for (t, p), (o, meta) in changed.items()], asynchronous=True)
        except KafkaException as exc:
            log.warning("commit failed (retried at the next interval): %s", exc)
            return
        self._sent.update(changed)

    def _on_commit(self, err: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """Result of an asynchronous commit (called on this thread): failures are sent again."""
        failed = [tp for tp in partitions if err is not None or tp.error is not None]
        for tp in failed:
            self._sent.pop((tp.topic, tp.partition), None)
        if failed and not (err is not None and err.code() == KafkaError._NO_OFFSET):
            log.warning("commit of %s failed (retried at the next interval): %s",
                        _fmt([(tp.topic, tp.partition) for tp in failed]), err or failed[0].error)

    def _commit_sync(self, offsets: dict[TP, Commit]) -> None:
        tps = [TopicPartition(t, p, o, metadata=meta) for (t, p), (o, meta) in offsets.items()
               if o is not None and o >= 0]
        if not tps:
            return
        try:
            self._consumer.commit(offsets=tps, asynchronous=False)
            for tp in tps:
                self._stored[(tp.topic, tp.partition)] = tp.offset
                self._sent[(tp.topic, tp.partition)] = (tp.offset, tp.metadata or "")
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return
            log.warning("synchronous commit failed (events will be redelivered): %s", exc)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        self._assigned.update(tps)
        log.info("partitions assigned: %s", _fmt(tps))
        if partitions:
            # librdkafka keeps a partition's pause across an unassign: one paused (flow control)
            # when it was revoked came back paused on re-assignment, and nothing resumed it (this
            # thread forgets its pause state on revoke): the partition stalled for good (seen in
            # the 1 -> 3 -> 1 test under load). The engine decides afresh after the assignment.
            self._consumer.resume([TopicPartition(tp.topic, tp.partition) for tp in partitions])
        committed = self._read_committed(partitions)
        for tp in tps:
            self._position.pop(tp, None)
        for tp, (offset, _meta) in committed.items():
            self._position[tp] = offset  # where the first record should be (rule 6)
            self._unstarted.add(tp)
        self._listener.on_assigned(tps, committed)

    def _read_committed(self, partitions: list[TopicPartition]) -> dict[TP, Commit]:
        """The group's committed offsets and metadata; {} if the coordinator does not answer.

        librdkafka fetches the same offsets itself to start from; reading them here as well
        costs one request per assignment and gives the engine the metadata. Failing is safe:
        without it nothing is skipped (duplicates, never loss).
        """
        try:
            got = self._consumer.committed([TopicPartition(tp.topic, tp.partition) for tp in partitions],
                                           timeout=10)
        except KafkaException as exc:
            log.warning("could not read the committed offsets of %s (events finished above them may be "
                        "delivered again): %s", _fmt([(tp.topic, tp.partition) for tp in partitions]), exc)
            return {}
        return {(tp.topic, tp.partition): (tp.offset, tp.metadata or "") for tp in got
                if tp.error is None and tp.offset is not None and tp.offset >= 0}

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        log.info("partitions revoked: %s", _fmt(tps))
        with self._lock:  # offsets the engine queued for storing are superseded by the final ones
            for tp in tps:
                self._pending_store.pop(tp, None)
        final = self._listener.on_revoked(tps)
        self._commit_sync({tp: o for tp, o in final.items() if tp in self._assigned})
        self._forget(tps)

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Lost, not revoked: another member may already own them, so committing would be wrong.
        tps = [(tp.topic, tp.partition) for tp in partitions]
        log.warning("partitions lost (their uncommitted events will be redelivered): %s", _fmt(tps))
        self._listener.on_revoked(tps)
        self._forget(tps)

    def _forget(self, tps: list[TP]) -> None:
        for tp in tps:
            self._assigned.discard(tp)
            self._paused.discard(tp)
            self._wanted.discard(tp)
            self._stored.pop(tp, None)
            self._position.pop(tp, None)
            self._unstarted.discard(tp)
            self._seeked.discard(tp)
            self._to_commit.pop(tp, None)
            self._sent.pop(tp, None)

    def _close(self) -> None:
        """Shutdown: the engine has drained; commit what it finished and leave the group."""
        assigned = sorted(self._assigned)
        final = self._listener.on_revoked(assigned)
        self._commit_sync({tp: o for tp, o in final.items() if tp in self._assigned})
        self._forget(assigned)  # close() revokes again; nothing left to commit then
        self._consumer.close()

    def _report_lag(self) -> None:
        assert self._on_lag is not None
        for topic, partition in list(self._assigned):
            try:
                _low, high = self._consumer.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            except KafkaException:
                continue
            if high is None or high < 0 or high == OFFSET_INVALID:
                continue
            committed = self._stored.get((topic, partition))
            if committed is None:
                continue
            self._on_lag((topic, partition), max(0, high - committed))

    def _store_past_markers(self) -> None:
        """Rule 7: an idle partition whose position is past its stored offset stores the position.

        Idle: the stored offset is one past the last record handed over, so everything handed
        over is finished and nothing else is in transit; what lies between the stored offset and
        the position is then offsets without a record (transaction markers, aborted records).
        """
        idle = [TopicPartition(t, p) for (t, p), stored in self._stored.items()
                if self._position.get((t, p)) == stored]
        if not idle:
            return
        try:
            positions = self._consumer.position(idle)
        except KafkaException:
            return
        ahead = {(tp.topic, tp.partition): (tp.offset, "") for tp in positions
                 if tp.offset is not None and tp.offset > self._stored.get((tp.topic, tp.partition), tp.offset)}
        if ahead:
            self._store(ahead)
            for tp, (offset, _) in ahead.items():
                self._position[tp] = offset

    def _on_kafka_error(self, err: KafkaError) -> None:
        """librdkafka's errors, from ``error_cb`` and from ``consume()`` (an error in place of a
        record: a refused JoinGroup arrives this way). Transient broker errors (e.g. a broker
        restart) are retried by librdkafka.

        A lost connection is already one of librdkafka's own log lines (``FAIL``); repeating it
        here logged every failure twice, so it is DEBUG. The rest go to the Kafka logger, whose
        RepeatFilter holds back repeats while a broker stays down.
        """
        if err.fatal():
            _kafka_log.error("fatal: %s", err.str())
            if self._on_error is not None:
                self._on_error(f"fatal kafka error: {err.str()}")
        elif err.code() in (KafkaError._TRANSPORT, KafkaError._RESOLVE):
            _kafka_log.debug("%s", err.str())
        elif err.code() == KafkaError.INCONSISTENT_GROUP_PROTOCOL:
            _kafka_log.error(
                "%s: the other members of this consumer group use a partition.assignment.strategy other "
                "than this member's (%s), so this member gets no partitions until they stop (earlier versions "
                "used cooperative-sticky; the default is now range). Stop the other members, or give every "
                "member the same kafka.consumer.partition.assignment.strategy (README, \"Scaling out\")",
                err.str(), self._strategy)
        else:
            _kafka_log.warning("%s", err.str())


def _fmt(tps: list[TP]) -> str:
    return ", ".join(f"{t}[{p}]" for t, p in tps) or "(none)"
