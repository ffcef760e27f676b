"""A consumer-group member running on its own thread, feeding an asyncio engine.

Why a thread: rebalance callbacks run inside ``consume()``, and on revoke the engine must wait
for in-flight work of the revoked partitions before their offsets are committed. Waiting there
needs the event loop to keep running, so ``consume()`` cannot run on the loop's thread.

This implements the engine's :class:`~processor.engine.ports.Consumer` port and drives its
:class:`~processor.engine.ports.ConsumerListener` (both defined by the engine):

1. ``on_assigned(partitions)``: called (blocking, on this thread) after an incremental assign.
2. ``on_messages(batch)``: every non-empty batch from ``consume(n)``; the listener may block only
   briefly, as back-pressure (the engine waits, bounded, until the previous batch is dispatched).
3. ``on_revoked(partitions) -> {tp: offset}``: called (blocking) inside the revoke callback. The
   listener stops dispatching those partitions, waits (bounded) for their in-flight work, and
   returns the offsets that are safe to commit. This thread commits them *synchronously* before
   the partitions are released, so the next owner starts exactly after the finished prefix.
4. Offsets are never committed for unfinished work: ``enable.auto.offset.store`` is off; the
   engine hands the finished prefix to :meth:`store_offsets` and librdkafka's auto-commit
   commits *stored* offsets every ``commit_interval``; revoke and close commit synchronously.
5. Flow control (:meth:`set_paused`), stored offsets and stop requests are applied by this thread
   between ``consume()`` calls, so the Consumer object is only ever used from this thread, except
   in the revoke callback which also runs here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Message, TopicPartition

from processor.engine.ports import TP, ConsumerListener, Inbound
from processor.kafka.logs import KAFKA_LOGGER

log = logging.getLogger(__name__)
_kafka_log = logging.getLogger(KAFKA_LOGGER)

#: Settings at-least-once depends on; passthrough cannot override them.
SAFETY_SETTINGS = {
    "enable.auto.offset.store": False,
    "partition.assignment.strategy": "cooperative-sticky",
    "enable.partition.eof": False,
}


class ConsumerThread:
    def __init__(
        self,
        conf: dict[str, Any],
        topics: list[str],
        listener: ConsumerListener,
        *,
        batch_size: int = 500,
        commit_interval_s: float = 1.0,
        poll_timeout_s: float = 0.05,
        on_lag: Callable[[TP, int], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        settings = {
            "auto.offset.reset": "earliest",
            # librdkafka prefetches up to 64 MB by default, but the engine holds at most
            # max_in_flight events anyway; with a backlog that buffer was ~75 MB of the peak RSS
            # (bench --rss: 308 -> 234 MB at 16 MB, throughput unchanged). Still overridable.
            "queued.max.messages.kbytes": 16384,
            **conf,
            **SAFETY_SETTINGS,
            "enable.auto.commit": True,
            "auto.commit.interval.ms": int(commit_interval_s * 1000),
            "error_cb": self._on_kafka_error,
        }
        self._consumer = Consumer(settings)
        self._topics = topics
        self._listener = listener
        self._batch_size = batch_size
        self._poll_timeout = poll_timeout_s
        self._lag_interval = max(commit_interval_s, 1.0)
        self._on_lag = on_lag
        self._on_error = on_error
        self._lock = threading.Lock()
        self._pending_store: dict[TP, int] = {}
        self._want_paused: set[TP] | None = None
        self._paused: set[TP] = set()
        self._assigned: set[TP] = set()
        self._stored: dict[TP, int] = {}
        self._stop = threading.Event()
        self._fatal: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="kafka-consumer", daemon=True)

    # -- called from the engine's thread ------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def store_offsets(self, offsets: dict[TP, int]) -> None:
        """Offsets (next to read) that are finished; committed by the next auto-commit."""
        with self._lock:
            self._pending_store.update(offsets)

    def set_paused(self, partitions: set[TP]) -> None:
        """The partitions that should be paused from now on (the others are resumed)."""
        with self._lock:
            self._want_paused = set(partitions)

    def stop(self) -> None:
        self._stop.set()

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
            while not self._stop.is_set():
                self._apply_commands()
                messages = self._consumer.consume(self._batch_size, self._poll_timeout)
                if messages:
                    batch = self._to_inbound(messages)
                    if batch:
                        self._listener.on_messages(batch)
                if self._on_lag is not None and time.monotonic() >= next_lag:
                    next_lag = time.monotonic() + self._lag_interval
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

    def _to_inbound(self, messages: list[Message]) -> list[Inbound]:
        batch: list[Inbound] = []
        for m in messages:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    log.warning("consume error: %s", err.str())
                    if err.fatal() and self._on_error is not None:
                        self._on_error(f"fatal consumer error: {err.str()}")
                continue
            ts_type, ts = m.timestamp()
            batch.append(Inbound(m.topic(), m.partition(), m.offset(), m.key(), m.value(), m.headers(),
                                 ts if ts_type else None))
        return batch

    def _apply_commands(self) -> None:
        with self._lock:
            store, self._pending_store = self._pending_store, {}
            want = self._want_paused
            self._want_paused = None
        if store:
            self._store(store)
        if want is not None:
            want &= self._assigned
            to_pause = want - self._paused
            to_resume = self._paused - want
            if to_pause:
                self._consumer.pause([TopicPartition(t, p) for t, p in to_pause])
            if to_resume:
                self._consumer.resume([TopicPartition(t, p) for t, p in to_resume])
            self._paused = want

    def _store(self, offsets: dict[TP, int]) -> None:
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()
               if (t, p) in self._assigned and self._stored.get((t, p)) != o]
        if not tps:
            return
        try:
            self._consumer.store_offsets(offsets=tps)
        except KafkaException as exc:
            # A partition revoked between the engine's decision and now: harmless, its
            # final offset was committed in the revoke callback.
            log.debug("store_offsets: %s", exc)
            return
        for tp in tps:
            self._stored[(tp.topic, tp.partition)] = tp.offset

    def _commit_sync(self, offsets: dict[TP, int]) -> None:
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items() if o is not None and o >= 0]
        if not tps:
            return
        try:
            # Store them too: with auto-commit on, librdkafka commits the *stored* offsets again
            # when it unassigns the partitions (revoke, close); an older stored offset would
            # move the committed one back and the next owner would repeat finished events.
            self._consumer.store_offsets(offsets=tps)
            self._consumer.commit(offsets=tps, asynchronous=False)
            for tp in tps:
                self._stored[(tp.topic, tp.partition)] = tp.offset
        except KafkaException as exc:
            err = exc.args[0] if exc.args else None
            if isinstance(err, KafkaError) and err.code() == KafkaError._NO_OFFSET:
                return
            log.warning("synchronous commit failed (events will be redelivered): %s", exc)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        tps = [(tp.topic, tp.partition) for tp in partitions]
        self._assigned.update(tps)
        log.info("partitions assigned: %s", _fmt(tps))
        self._listener.on_assigned(tps)

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
            self._stored.pop(tp, None)

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

    def _on_kafka_error(self, err: KafkaError) -> None:
        """Transient broker errors (e.g. a broker restart) are retried by librdkafka.

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
        else:
            _kafka_log.warning("%s", err.str())


def _fmt(tps: list[TP]) -> str:
    return ", ".join(f"{t}[{p}]" for t, p in tps) or "(none)"
