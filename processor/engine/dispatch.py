"""Dispatch and per-key ordering: arriving records become tasks, one key at a time.

For each record of a batch (steps 1-3 of the engine's protocol):

1. A record of a partition that is not assigned, or is being revoked, is skipped: the next
   owner reads it from the committed offset. Otherwise its offset is tracked as in flight (and
   its size counted in flight, for the flow control's byte bound), unless the previous owner
   finished it (committed in the offset's metadata): then it is skipped, finished at once, and
   nothing is sent.
2. A source record is decoded; an undecodable one becomes a dead-letter task (no key).
3. Its ordering key is admitted to the partition's serializer: a free key runs, a busy key waits
   behind the running record. When a keyed record ends, the next waiter of its key runs (also
   while its partition drains, so no hole is left below finished offsets). To run, a source
   record first gets the concurrency slot of its first request
   (:meth:`~processor.engine.concurrency.AdaptiveLimit.acquire_then`): a record waiting for a
   slot is a small object in the limit's queue, not a suspended task. With the slot, it is
   planned; when it triggers one request and the rate and both circuits let it go now (the
   common case), the request is sent at once and the record has no task at all
   (:class:`_Start`, :meth:`~processor.engine.deliver.Deliverer.try_start`); a failed answer
   continues in a task (retries, hand-offs). Any other record becomes a task. Once
   its partition is revoking, a record runs as a task at once (and queues for its slot inside,
   as retries do), and the revoke turns the partition's queued records into tasks too, so the
   drain sees and waits for every one of them.

Records on a retry tier skip 3 (retries are not ordered): they go to the
:class:`~processor.engine.retry_tiers.RetryTierScheduler`, which starts them when due.

A task that ends with an exception (a failed hand-off) is fatal: ``on_fatal`` stops the engine
and the record, never finished, is delivered again after the restart. A cancelled task (drain
timeout) is simply unfinished. Nothing raised while dispatching one record drops the rest of the
batch silently: it stops the engine the same way (the record, unfinished, comes again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from processor.engine.concurrency import AdaptiveLimit
from processor.engine.deliver import Answered, Attempt
from processor.engine.flow import FlowControl
from processor.engine.handoff import RetryContext
from processor.engine.ordering import KeyFunc
from processor.engine.partitions import Partitions, PartitionState
from processor.engine.ports import Decoder, EngineObserver, Inbound
from processor.engine.retry_tiers import RetryTierScheduler
from processor.engine.work import EventWork

log = logging.getLogger(__name__)

__all__ = ["Dispatcher"]


class _Start:
    """A source record waiting in the concurrency limit's queue for its first slot (see step 3),
    then, when its request went without a task, that request in flight (:meth:`answered`)."""

    __slots__ = ("st", "key", "msg", "event", "cancelled", "_dispatcher")

    def __init__(self, dispatcher: Dispatcher, st: PartitionState, key: Hashable, msg: Inbound,
                 event: dict[str, Any]) -> None:
        self._dispatcher = dispatcher
        self.st = st
        self.key = key
        self.msg = msg
        self.event = event
        self.cancelled = False

    def run(self) -> None:
        """It holds the slot now: send its request without a task, or run it as a task that uses
        the slot (or give it back).

        1. Plan; when the event triggers one request and it can go now
           (:meth:`EventWork.start`), it is in flight: ``st.flights`` lists it until
           :meth:`answered`, so a drain waits for it (or abandons it).
        2. Otherwise the record runs as a task, with what was planned. Until the task starts,
           ``st.holding`` lists this start: a drain that cancels the task before it ever ran
           leaves the slot with nobody, and :meth:`Dispatcher.reclaim` gives it back.

        Never raises (it runs inside the limit's release, for whichever record freed the slot):
        a failure here stops the engine, the record unfinished.
        """
        d, st = self._dispatcher, self.st
        if st.released:  # cannot happen after a revoke (it takes the queue's records first); be safe
            d.limit.release()
            return
        try:
            planned = d._work.start(st, self.msg, self.event, self.answered)
            if type(planned) is Attempt:
                st.flights[self] = planned
                self.event = None  # planned and sent: the event's objects can go
                return
            st.holding.add(self)
            d._spawn(st, self.key, d._work.process, st, self.msg, self.event, None, None, True, planned, start=self)
        except Exception as exc:  # noqa: BLE001 - surfaced: the engine stops
            log.error("starting an event failed; stopping so it is redelivered", exc_info=exc)
            d._on_fatal(exc)

    def answered(self, result: Any, answered: Answered | None) -> None:
        """The request of step 1 ended (see :meth:`Deliverer.try_start`): ok: finish (step 6),
        then the key's next record may start; failed: the rest (retries, hand-offs) runs in a
        task, which releases the key when it ends. A partition released meanwhile counts nothing."""
        d, st = self._dispatcher, self.st
        try:
            if st.released:
                return  # unfinished: the next owner delivers it again
            if isinstance(result, BaseException):  # the sender raised: a defect
                log.error("sending an event's request failed; stopping so it is redelivered", exc_info=result)
                d._on_fatal(result)
                return
            if answered is None:
                d._work.finish(st, self.msg)
                d._release_key(st, self.key)
            else:
                d._spawn(st, self.key, d._work.resume, st, self.msg, answered)
        except Exception as exc:  # noqa: BLE001 - surfaced: the engine stops
            log.error("event processing failed; stopping so it is redelivered", exc_info=exc)
            d._on_fatal(exc)
        finally:
            st.landed(self)


class Dispatcher:
    __slots__ = ("tiers", "loop", "limit", "_partitions", "_decoder", "_key_func", "_work", "_flow", "_clock",
                 "_obs", "_on_fatal")

    def __init__(
        self,
        *,
        partitions: Partitions,
        decoder: Decoder,
        key_func: KeyFunc,
        work: EventWork,
        limit: AdaptiveLimit,
        flow: FlowControl,
        clock: Callable[[], float],
        observer: EngineObserver,
        on_fatal: Callable[[BaseException], None],
    ) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None  # set when the engine runs
        self._partitions = partitions
        self._decoder = decoder
        self._key_func = key_func
        self._work = work
        self.limit = limit
        self._flow = flow
        self._clock = clock
        self._obs = observer
        self._on_fatal = on_fatal
        self.tiers = RetryTierScheduler(self.start_retry, clock=clock, on_change=lambda: flow.update(force=True))

    def dispatch(self, batch: list[Inbound]) -> None:
        """Steps 1-3 for a batch from the consumer (on the loop's thread)."""
        by_tp = self._partitions.by_tp
        now_ms = int(self._clock() * 1000)
        counted: dict[str, int] = {}
        skipped: dict[str, int] = {}
        admitted = nbytes = 0
        for msg in batch:
            st = by_tp.get((msg.topic, msg.partition))
            if st is None or st.revoking:
                continue  # not ours any more: the next owner reads it from the committed offset
            try:
                if not st.offsets.track(msg.offset):  # step 1
                    skipped[msg.topic] = skipped.get(msg.topic, 0) + 1
                    continue  # the previous owner finished it
                admitted += 1
                nbytes += msg.size
                st.in_flight_bytes += msg.size
                counted[msg.topic] = counted.get(msg.topic, 0) + 1
                if st.is_retry_tier:
                    self.tiers.arrive(st, msg, now_ms)
                else:
                    self._arrive_source(st, msg)
            except Exception as exc:  # noqa: BLE001 - never drop the rest of a batch silently
                log.error("dispatching %s[%d]@%d failed; stopping so it is redelivered",
                          msg.topic, msg.partition, msg.offset, exc_info=exc)
                self._on_fatal(exc)
                break
        for topic, n in counted.items():
            self._obs.consumed(topic, n)
        for topic, n in skipped.items():
            self._obs.already_finished(topic, n)
        self._flow.admitted(admitted, nbytes)

    def _arrive_source(self, st: PartitionState, msg: Inbound) -> None:
        try:
            event = self._decoder.decode(msg.value, msg.topic)  # step 2
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a decode error
            reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            self._spawn(st, None, self._work.dead_letter_undecodable, st, msg, reason)
            return
        key = (self._key_func(event, msg.key),)  # step 3 (tuple: never None, hashable)
        item = (msg, event, key)
        if st.serializer.admit(key, item):
            self._start_source(st, key, msg, event)

    def _start_source(self, st: PartitionState, key: Hashable, msg: Inbound, event: dict[str, Any]) -> None:
        """Step 3's run: wait for the first request's slot in the limit's queue, then a task."""
        if st.revoking:
            self._spawn(st, key, self._work.process, st, msg, event, None, None)
        else:
            self.limit.acquire_then(_Start(self, st, key, msg, event))

    def start_queued(self, states: list[PartitionState]) -> None:
        """Revoke: the records of ``states`` still queued for a slot become tasks now (in their
        order), so the drain waits for them; each queues for its slot inside, as retries do."""
        revoking = {id(st) for st in states}
        for start in self.limit.withdraw(lambda w: id(w.st) in revoking):  # type: ignore[attr-defined]
            assert isinstance(start, _Start)
            self._spawn(start.st, start.key, self._work.process, start.st, start.msg, start.event, None, None)

    def reclaim(self, states: list[PartitionState]) -> None:
        """After a drain: give back the slots of records whose task was cancelled before it ran."""
        for st in states:
            for _ in st.holding:
                self.limit.release()
            st.holding.clear()

    def start_retry(self, st: PartitionState, ctx: RetryContext, msg: Inbound) -> None:
        """Run a due retry record: only the subscriptions it lists (all when it lists none)."""
        try:
            event = self._decoder.decode(msg.value, ctx.origin_topic)
        except Exception as exc:  # noqa: BLE001
            reason = getattr(exc, "reason", None) or str(exc)
            self._spawn(st, None, self._work.dead_letter_undecodable, st, msg, reason, ctx)
            return
        # No subscription list (e.g. a re-driven undecodable record): plan every subscription.
        self._spawn(st, None, self._work.process, st, msg, event, ctx.subscriptions or None, ctx)

    def _spawn(self, st: PartitionState, key: Hashable | None, work: Callable[..., Awaitable[None]], *args: Any,
               start: _Start | None = None) -> None:
        """Run ``work(*args)`` as a task of ``st`` (drained or cancelled with the partition);
        ``start``: the queued record it runs, holding a slot (see :class:`_Start`)."""
        assert self.loop is not None
        st.running.add(self.loop.create_task(self._guard(st, key, work, args, start)))

    async def _guard(
        self, st: PartitionState, key: Hashable | None, work: Callable[..., Awaitable[None]], args: tuple[Any, ...],
        start: _Start | None = None,
    ) -> None:
        """Run one record's work, then release its key (the next waiter starts) or stop the engine.

        In the task itself rather than a done callback: a callback and its closure per record cost
        ~2 µs of ~7 (task creation included) on the loop's thread (bench/engine_path.py). The work's
        coroutine is created here, so a task cancelled before it ever ran leaves none un-awaited.
        """
        if start is not None:
            st.holding.discard(start)  # started: the record's work owns the slot now
        try:
            await work(*args)
        except asyncio.CancelledError:
            raise  # revoked mid-flight: unfinished, redelivered to the next owner
        except Exception as exc:  # noqa: BLE001 - surfaced: the engine stops
            log.error("event processing failed; stopping so it is redelivered", exc_info=exc)
            self._on_fatal(exc)
            return
        finally:
            st.running.discard(asyncio.current_task(self.loop))
        if key is not None:
            self._release_key(st, key)

    def _release_key(self, st: PartitionState, key: Hashable) -> None:
        """A keyed record ended: the next record of its key (if any) starts (step 3)."""
        if not st.released:
            nxt = st.serializer.release(key)
            if nxt is not None:
                msg, event, k = nxt
                self._start_source(st, k, msg, event)
