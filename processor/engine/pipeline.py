"""The stream engine: consumed records in, deliveries out, offsets committed only behind finished work.

Everything here runs on one asyncio loop; the Kafka consumer runs on its own thread
(``processor.kafka.consumer``, implementing the engine's ``Consumer`` port) and talks to the
engine through the ``ConsumerListener`` methods (see :mod:`processor.engine.ports`).

Life of a source record (the protocol; numbered steps are referred to in comments):

1. Arrival: the partition's offset tracker records the offset as in flight.
2. Decode. Undecodable -> dead-letter topic (error class ``decode``); go to 6.
3. Ordering: the ordering key (userId, else anonymousId, else the message key, by default) is
   admitted to the partition's serializer; a record whose key is busy waits behind it.
4. Plan: the destination says which subscriptions trigger, with a request or a rejection each.
5. Deliver all requests concurrently (global adaptive concurrency limit). Each request gets a few
   quick in-process retries for retryable failures; an auth failure trips the circuit and waits
   for it to close, then tries again (never dead-lettered). Afterwards, still-failing retryable
   subscriptions go to the next retry tier (one record listing them), permanent ones and
   rejections to the dead-letter topic, and the engine awaits the producer acks.
6. Finish: the offset is marked finished; the next waiter of the key is released. Periodically the
   finished prefix of every partition is stored, and librdkafka commits stored offsets.

If step 5's hand-off itself fails (the broker did not acknowledge), the offset is *not* finished
and the engine stops with :class:`HandoffFailed`: the event is redelivered after restart.

Records on a retry tier skip 3 (retries are not ordered), wait in memory until their
``not_before`` time while their partition is paused (a tier holds one delay, so records are in
due order and a later-due record never blocks an earlier-due one), and deliver only the
subscriptions listed in their headers.

Flow control: when in-flight events reach ``max_in_flight`` (or a partition its own limit), or
while the auth circuit is open, partitions are paused; they resume below 80 % of the limit.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from processor.engine.circuit import AuthCircuit
from processor.engine.concurrency import AdaptiveLimit
from processor.engine.handoff import Failure, Handoff, RetryContext
from processor.engine.offsets import PartitionOffsets
from processor.engine.ordering import KeyedSerializer, KeyFunc
from processor.engine.ports import (
    AUTH,
    DECODE,
    PERMANENT,
    RETRYABLE,
    TP,
    VALIDATION,
    Decoder,
    EngineObserver,
    Inbound,
    Planner,
    Sender,
)

log = logging.getLogger(__name__)


class HandoffFailed(RuntimeError):
    """A failed event could not be handed to the retry or dead-letter topic: stop, redeliver later."""


@dataclass(frozen=True, slots=True)
class EngineSettings:
    max_in_flight: int = 5000
    max_in_flight_per_partition: int = 5000
    max_concurrent_requests: int = 256
    quick_retries: int = 2
    quick_retry_backoff_s: float = 0.2
    quick_retry_max_wait_s: float = 5.0
    commit_interval_s: float = 1.0
    drain_timeout_s: float = 20.0


@dataclass(slots=True, eq=False)
class _Partition:
    tp: TP
    is_retry_tier: bool
    offsets: PartitionOffsets = field(default_factory=PartitionOffsets)
    serializer: KeyedSerializer[Any] = field(default_factory=KeyedSerializer)
    running: set[asyncio.Task[None]] = field(default_factory=set)
    delayed: deque[tuple[RetryContext, Inbound]] = field(default_factory=deque)
    timer: asyncio.TimerHandle | None = None
    revoking: bool = False  # no new records accepted; what was consumed drains (bounded)
    released: bool = False  # handed back to the group: nothing about it counts any more
    stored: int | None = None


class Engine:
    """Consumer listener + dispatcher. Build it, hand it to a ConsumerThread, then ``await run()``."""

    def __init__(
        self,
        *,
        planner: Planner,
        sender: Sender,
        decoder: Decoder,
        handoff: Handoff,
        key_func: KeyFunc,
        retry_topics: Sequence[str],
        settings: EngineSettings = EngineSettings(),
        observer: EngineObserver | None = None,
        auth_probe_max_interval_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._planner = planner
        self._sender = sender
        self._decoder = decoder
        self._handoff = handoff
        self._key_func = key_func
        self._retry_topics = frozenset(retry_topics)
        self._s = settings
        self._obs = observer or EngineObserver()
        self._clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Any = None
        self._partitions: dict[TP, _Partition] = {}
        self._in_flight = 0
        self._paused_all = False
        self._paused: set[TP] = set()
        self._limit = AdaptiveLimit(settings.max_concurrent_requests)
        self._circuit: AuthCircuit | None = None
        self._auth_probe_max = auth_probe_max_interval_s
        self._fatal: BaseException | None = None
        self._fatal_event = asyncio.Event()
        self._resume_below = int(settings.max_in_flight * 0.8)
        # Batches handed over by the consumer thread but not yet dispatched on the loop are not
        # counted in _in_flight, so pausing cannot see them: without a bound, a backlog let the
        # consumer thread queue ~50 batches while the loop was busy (bench: 26,000 in flight at
        # max_in_flight=5,000). One slot: the consumer thread still consumes the next batch while
        # the loop dispatches this one (bench: same throughput as two slots, peak 6,400 not 6,900).
        self._undispatched = threading.BoundedSemaphore(1)
        self._partition_resume_below = int(settings.max_in_flight_per_partition * 0.8)

    # -- lifecycle ------------------------------------------------------------------------------

    def bind(self, consumer: Any) -> None:
        """The ConsumerThread this engine listens to (for pause/resume and stored offsets)."""
        self._consumer = consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set or a fatal error; then drain, commit and close."""
        self._loop = asyncio.get_running_loop()
        self._circuit = AuthCircuit(self._sender.probe_auth, max_interval_s=self._auth_probe_max,
                                    on_change=self._on_circuit_change)
        fatal = self._fatal_event
        store_task = self._loop.create_task(self._store_offsets_periodically(), name="store-offsets")
        self._consumer.start()
        try:
            waiters = [self._loop.create_task(stop.wait()), self._loop.create_task(fatal.wait())]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        finally:
            log.info("stopping: draining in-flight events")
            self._consumer.stop()
            await self._loop.run_in_executor(None, self._consumer.join)
            store_task.cancel()
            await self._circuit.close()
        if self._fatal is not None:
            raise self._fatal
        consumer_error = getattr(self._consumer, "fatal_error", None)
        if consumer_error is not None:
            raise consumer_error

    def fail(self, reason: str | BaseException) -> None:
        """Stop the engine because of an error it cannot handle (thread-safe)."""
        exc = reason if isinstance(reason, BaseException) else RuntimeError(reason)
        loop = self._loop
        if loop is None:
            return

        def _set() -> None:
            if self._fatal is None:
                self._fatal = exc
            self._fatal_event.set()

        loop.call_soon_threadsafe(_set)

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def circuit_open(self) -> bool:
        return self._circuit is not None and self._circuit.is_open

    # -- ConsumerListener (called on the consumer thread) -----------------------------------------

    def on_assigned(self, partitions: list[TP]) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._assign, partitions)

    def on_messages(self, batch: list[Inbound]) -> None:
        """Back-pressure: blocks (bounded) while the previous batch still waits for the loop."""
        assert self._loop is not None
        self._undispatched.acquire(timeout=1.0)  # a stuck loop must not wedge the consumer thread
        self._loop.call_soon_threadsafe(self._dispatch_batch, batch)

    def on_revoked(self, partitions: list[TP]) -> dict[TP, int]:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._revoke(partitions), self._loop)
        try:
            return future.result(timeout=self._s.drain_timeout_s + 10)
        except Exception:  # noqa: BLE001 - committing nothing is always safe
            log.exception("draining revoked partitions failed; their uncommitted events will be redelivered")
            return {}

    # -- the loop side ------------------------------------------------------------------------

    def _assign(self, partitions: list[TP]) -> None:
        for tp in partitions:
            self._partitions[tp] = _Partition(tp, tp[0] in self._retry_topics)
        self._obs.assigned(len(self._partitions))
        self._update_flow(force=True)

    async def _revoke(self, partitions: list[TP]) -> dict[TP, int]:
        """Drain revoked partitions: finish what was consumed (bounded), then report the commit point.

        Events waiting behind a busy key keep flowing while draining: dropping them would leave
        holes below later, finished offsets, and the next owner would deliver those again.
        Records on a retry tier that are not due yet are dropped (they may be due in an hour);
        the commit stays before them and the next owner waits for them instead.
        """
        assert self._loop is not None
        states = [st for tp in partitions if (st := self._partitions.get(tp)) is not None]
        for st in states:
            st.revoking = True
            if st.timer is not None:
                st.timer.cancel()
            st.delayed.clear()
        deadline = self._loop.time() + self._s.drain_timeout_s
        while running := set().union(*(st.running for st in states)):
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                log.warning("%d events still in flight after %.0fs drain; they will be redelivered",
                            len(running), self._s.drain_timeout_s)
                for task in running:
                    task.cancel()
                await asyncio.wait(running, timeout=5)
                break
            await asyncio.wait(running, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
        for st in states:
            st.serializer.drop_all()  # only left when the drain timed out
        final: dict[TP, int] = {}
        for st in states:
            committable = st.offsets.committable()
            if committable is not None:
                final[st.tp] = committable
                self._obs.committed(st.tp, committable)
            st.released = True
            self._in_flight -= st.offsets.in_flight  # never finished here: redelivered elsewhere
            self._partitions.pop(st.tp, None)
            self._paused.discard(st.tp)
        self._obs.assigned(len(self._partitions))
        self._obs.in_flight(self._in_flight)
        return final

    def _dispatch_batch(self, batch: list[Inbound]) -> None:
        try:
            self._undispatched.release()
        except ValueError:  # the consumer thread gave up waiting for this slot
            pass
        partitions = self._partitions
        now_ms = int(self._clock() * 1000)
        counted: dict[str, int] = {}
        for msg in batch:
            st = partitions.get((msg.topic, msg.partition))
            if st is None or st.revoking:
                continue  # not ours any more: the next owner reads it from the committed offset
            st.offsets.track(msg.offset)  # step 1
            self._in_flight += 1
            counted[msg.topic] = counted.get(msg.topic, 0) + 1
            if st.is_retry_tier:
                self._arrive_retry(st, msg, now_ms)
            else:
                self._arrive_source(st, msg)
        for topic, n in counted.items():
            self._obs.consumed(topic, n)
        self._obs.in_flight(self._in_flight)
        self._update_flow()

    def _arrive_source(self, st: _Partition, msg: Inbound) -> None:
        try:
            event = self._decoder.decode(msg.value, msg.topic)  # step 2
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a decode error
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            self._spawn(st, self._dead_letter_undecodable(st, msg, reason), None)
            return
        key = (self._key_func(event, msg.key),)  # step 3 (tuple: never None, hashable)
        item = (msg, event, key)
        if st.serializer.admit(key, item):
            self._spawn(st, self._process(st, msg, event, None, RetryContext.from_source(msg)), key)

    def _arrive_retry(self, st: _Partition, msg: Inbound, now_ms: int) -> None:
        ctx = RetryContext.from_headers(msg)
        if st.delayed or ctx.not_before_ms > now_ms:
            st.delayed.append((ctx, msg))
            self._schedule_delayed(st)
            return
        self._start_retry(st, ctx, msg)

    def _start_retry(self, st: _Partition, ctx: RetryContext, msg: Inbound) -> None:
        try:
            event = self._decoder.decode(msg.value, ctx.origin_topic)
        except Exception as exc:  # noqa: BLE001
            reason = getattr(exc, "reason", None) or str(exc)
            self._spawn(st, self._dead_letter_undecodable(st, msg, reason, ctx), None)
            return
        # No subscription list (e.g. a re-driven undecodable record): plan every subscription.
        self._spawn(st, self._process(st, msg, event, ctx.subscriptions or None, ctx), None)

    def _schedule_delayed(self, st: _Partition) -> None:
        if st.timer is not None or not st.delayed:
            return
        assert self._loop is not None
        delay = max(0.0, st.delayed[0][0].not_before_ms / 1000 - self._clock())
        st.timer = self._loop.call_later(delay, self._release_delayed, st)
        self._update_flow(force=True)

    def _release_delayed(self, st: _Partition) -> None:
        st.timer = None
        if st.revoking:
            return
        now_ms = int(self._clock() * 1000)
        while st.delayed and st.delayed[0][0].not_before_ms <= now_ms:
            ctx, msg = st.delayed.popleft()
            self._start_retry(st, ctx, msg)
        self._schedule_delayed(st)
        self._update_flow(force=True)

    def _spawn(self, st: _Partition, coro: Any, key: Hashable | None) -> None:
        assert self._loop is not None
        task = self._loop.create_task(coro)
        st.running.add(task)
        task.add_done_callback(lambda t: self._done(st, t, key))

    def _done(self, st: _Partition, task: asyncio.Task[None], key: Hashable | None) -> None:
        st.running.discard(task)
        if task.cancelled():
            return  # revoked mid-flight: unfinished, redelivered to the next owner
        exc = task.exception()
        if exc is not None:
            log.error("event processing failed; stopping so it is redelivered", exc_info=exc)
            if self._fatal is None:
                self._fatal = exc if isinstance(exc, HandoffFailed) else HandoffFailed(str(exc))
            self._fatal_event.set()
            return
        if key is not None and not st.released:
            nxt = st.serializer.release(key)
            if nxt is not None:
                msg, event, k = nxt
                self._spawn(st, self._process(st, msg, event, None, RetryContext.from_source(msg)), k)

    def _finish(self, st: _Partition, msg: Inbound) -> None:
        """Step 6: everything for this record is delivered or durably handed off."""
        if st.released:
            return
        st.offsets.finish(msg.offset)
        self._in_flight -= 1
        if (self._paused_all and self._in_flight <= self._resume_below) or (
            st.tp in self._paused and st.offsets.in_flight <= self._partition_resume_below
        ):
            self._update_flow()

    # -- per-event work -------------------------------------------------------------------------

    async def _process(
        self, st: _Partition, msg: Inbound, event: dict[str, Any], only: Sequence[str] | None, ctx: RetryContext
    ) -> None:
        planned = self._planner.plan(event) if only is None else self._planner.plan_only(event, only)  # step 4
        if not planned:
            self._finish(st, msg)
            return
        obs = self._obs
        deliveries = []
        handoffs = []
        for item in planned:
            obs.triggered(item.action)
            if hasattr(item, "message"):  # a rejection: the payload is invalid for this event
                obs.dead_lettered(VALIDATION)
                handoffs.append(self._handoff.dead_letter(
                    msg, ctx, [item.subscription], Failure(VALIDATION, item.status, item.message)))
            else:
                deliveries.append(item)
        if len(deliveries) == 1:  # step 5
            results = [await self._deliver(deliveries[0])]
        elif deliveries:
            results = await asyncio.gather(*(self._deliver(d) for d in deliveries))
        else:
            results = []
        retry_subs: list[str] = []
        retry_failure: Failure | None = None
        for delivery, result in zip(deliveries, results):
            if result.ok:
                continue
            failure = Failure(result.error_class or PERMANENT, result.status, result.message)
            if failure.error_class == RETRYABLE:
                retry_subs.append(delivery.subscription)
                retry_failure = retry_failure or failure
                obs.retried(delivery.action)
            else:
                obs.dead_lettered(failure.error_class)
                handoffs.append(self._handoff.dead_letter(msg, ctx, [delivery.subscription], failure))
        if retry_failure is not None:
            handoffs.append(self._handoff.retry(msg, ctx, retry_subs, retry_failure))
        if handoffs:
            try:
                await asyncio.gather(*handoffs)
            except Exception as exc:  # noqa: BLE001
                raise HandoffFailed(f"{msg.topic}[{msg.partition}]@{msg.offset}: {exc}") from exc
        self._finish(st, msg)  # step 6

    async def _deliver(self, delivery: Any) -> Any:
        circuit = self._circuit
        assert circuit is not None
        s = self._s
        attempt = 0
        while True:
            if circuit.is_open:
                await circuit.wait_closed()
            await self._limit.acquire()
            started = time.perf_counter()
            result = None
            try:
                result = await self._sender.send(delivery)
            finally:
                self._limit.release(throttled=result is not None and result.status == 429)
            elapsed = time.perf_counter() - started
            if result.ok:
                self._obs.sent(delivery.action, elapsed)
                return result
            self._obs.failed(delivery.action, result.error_class or PERMANENT, elapsed)
            if result.error_class == AUTH:
                circuit.trip(result.message)
                continue
            if result.error_class != RETRYABLE or attempt >= s.quick_retries:
                return result
            wait = result.retry_after
            if wait is None:
                wait = s.quick_retry_backoff_s * (2**attempt) * random.uniform(0.5, 1.5)
            if wait > s.quick_retry_max_wait_s:
                return result  # the server asked for a long pause: let the retry tier wait
            attempt += 1
            await asyncio.sleep(wait)

    async def _dead_letter_undecodable(
        self, st: _Partition, msg: Inbound, reason: str, ctx: RetryContext | None = None
    ) -> None:
        try:
            await self._handoff.dead_letter(msg, ctx or RetryContext.from_source(msg), [], Failure(DECODE, None, reason))
        except Exception as exc:  # noqa: BLE001
            raise HandoffFailed(f"{msg.topic}[{msg.partition}]@{msg.offset}: {exc}") from exc
        self._obs.dead_lettered(DECODE)
        self._finish(st, msg)

    # -- flow control and offsets -----------------------------------------------------------------

    def _on_circuit_change(self, is_open: bool) -> None:
        self._obs.circuit(is_open)
        self._update_flow(force=True)

    def _update_flow(self, force: bool = False) -> None:
        if self._in_flight >= self._s.max_in_flight:
            self._paused_all = True
        elif self._in_flight <= self._resume_below:
            self._paused_all = False
        pause_all = self._paused_all or self.circuit_open
        want: set[TP] = set()
        limit = self._s.max_in_flight_per_partition
        resume_below = self._partition_resume_below
        for tp, st in self._partitions.items():
            n = st.offsets.in_flight
            if pause_all or st.delayed or n >= limit or (tp in self._paused and n > resume_below):
                want.add(tp)
        if force or want != self._paused:
            self._paused = want
            if self._consumer is not None:
                self._consumer.set_paused(want)

    async def _store_offsets_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._s.commit_interval_s)
            self.store_finished()

    def store_finished(self) -> None:
        """Hand every partition's finished prefix to the consumer (committed by auto-commit)."""
        offsets: dict[TP, int] = {}
        for tp, st in self._partitions.items():
            committable = st.offsets.committable()
            if committable is not None and committable != st.stored and not st.revoking:
                offsets[tp] = committable
                st.stored = committable
                self._obs.committed(tp, committable)
        if offsets and self._consumer is not None:
            self._consumer.store_offsets(offsets)
