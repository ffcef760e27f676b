"""The stream engine: consumed records in, deliveries out, offsets committed only behind finished work.

Everything here runs on one asyncio loop; the consumer runs on its own thread (the
:class:`~processor.engine.ports.Consumer` port, implemented by ``processor.kafka.consumer``) and
talks to the engine through the :class:`~processor.engine.ports.ConsumerListener` methods.

Life of a source record (the protocol; numbered steps are referred to in comments):

1. Arrival: the partition's offset tracker records the offset as in flight; a record the
   previous owner finished (committed in the offset's metadata) is skipped, finished at once.
2. Decode. Undecodable -> dead-letter topic (error class ``decode``); go to 6.
3. Ordering: the ordering key (userId, else anonymousId, else the message key, by default) is
   admitted to the partition's serializer; a record whose key is busy waits behind it.
4. Plan: the destination says which subscriptions trigger, with a request or a rejection each.
5. Deliver all requests concurrently, each at a slot of the adaptive request rate and of the
   concurrency limit (retries first). Each request gets a few quick in-process retries for
   retryable failures; an auth failure trips the auth circuit and waits for it to close, then
   tries again (never dead-lettered); a throttled answer waits for its Retry-After and goes again
   first; an outage opens the availability circuit and waits for it. Afterwards, still-failing
   retryable subscriptions go to the next retry tier (one record listing them), permanent ones and
   rejections to the dead-letter topic, and the engine awaits the producer acks.
6. Finish: the offset is marked finished; the next waiter of the key is released. Periodically the
   finished prefix of every partition is stored with the finished offsets above it (commit
   metadata, ``finished_offsets``), and the consumer commits what was stored.

A partition whose position jumped (the consumer reports an offset reset: topic re-created,
records deleted before they were read) is restarted: tracked afresh from the new position, so a
stale position is never committed on top of it (``Partitions.restart``).

If step 5's hand-off itself fails (the broker did not acknowledge), the offset is *not* finished
and the engine stops with :class:`HandoffFailed`: the event is redelivered after restart.

Records on a retry tier skip 3 (retries are not ordered), wait in memory until their
``not_before`` time while their partition is paused (a tier holds one delay, so records are in
due order and a later-due record never blocks an earlier-due one), and deliver only the
subscriptions listed in their headers.

Flow control: when in-flight events reach ``max_in_flight`` (or a partition its own limit), or
their bytes (as consumed) reach ``max_in_flight_bytes``, or while the auth or the availability
circuit is open, partitions are paused (retry tiers too); they resume below 80 % of the limit.
A record larger than the byte budget still runs: it is admitted, and pauses everything until
it finishes.

The parts, one job each (as Confluent's Parallel Consumer separates partition state, dispatch
and offset committing); :class:`Engine` only wires them and bridges the consumer's thread:

==============================  =================================================================
``partitions.Partitions``       partition state and lifecycle (assign, revoke, drain, release)
``dispatch.Dispatcher``         steps 1-3: arrival, decode, per-key ordering, a task per record once it has a slot
``retry_tiers``                 records on a retry tier wait until due
``work.EventWork``              steps 4-6 for one record: plan, deliver, hand off, finish
``deliver.Deliverer``           step 5 for one request: rate, concurrency, circuits, quick retries
``quick_retry.QuickRetries``    how long to wait before an in-place retry, and when to give up
``circuit.AuthCircuit``         pause everything while the credentials are rejected
``availability.*``              pause everything while the destination is down (outage signals)
``rate.AdaptiveRate``           request rate: AIMD on throttling, Retry-After, the configured ceiling
``rate_gate.RateGate``          slots at that rate; retries go ahead of fresh work
``concurrency.AdaptiveLimit``   concurrency cap, retries ahead of fresh work (queued as tasks), then fresh records (queued as objects)
``flow.FlowControl``            in-flight records and bytes, which partitions to pause (and why)
``commits.OffsetCommitter``     only finished prefixes go to the consumer for committing
``handoff.Handoff``             routing failures to a retry tier or the dead-letter topic
==============================  =================================================================
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from processor.engine.availability import AvailabilityCircuit
from processor.engine.circuit import AuthCircuit
from processor.engine.commits import OffsetCommitter
from processor.engine.concurrency import AdaptiveLimit
from processor.engine.deliver import Deliverer
from processor.engine.dispatch import Dispatcher
from processor.engine.flow import FlowControl
from processor.engine.handoff import Handoff
from processor.engine.ordering import KeyFunc
from processor.engine.partitions import Partitions
from processor.engine.ports import TP, Commit, Consumer, Decoder, EngineObserver, Inbound, Planner, Sender
from processor.engine.quick_retry import QuickRetries
from processor.engine.rate import AdaptiveRate
from processor.engine.work import EventWork, HandoffFailed

log = logging.getLogger(__name__)

__all__ = ["Engine", "EngineSettings", "EngineObserver", "HandoffFailed"]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    max_in_flight: int = 5000
    max_in_flight_per_partition: int = 5000
    max_in_flight_bytes: int = 12 * 1024 * 1024  # Inbound.size summed (flow.py, rule 1)
    max_concurrent_requests: int = 256
    quick_retries: int = 2
    quick_retry_backoff_s: float = 0.2
    quick_retry_max_wait_s: float = 5.0
    commit_interval_s: float = 1.0
    drain_timeout_s: float = 20.0
    requests_per_minute: float | None = None  # ceiling of the adaptive request rate; None = none
    availability_threshold: int = 20  # outage signals in a row that open the availability circuit
    availability_probe_max_interval_s: float = 5.0
    availability_warn_every_s: float = 30.0


class Engine:
    """Consumer listener + the parts above. Build it, ``bind`` a consumer, then ``await run()``."""

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
        rng: random.Random | None = None,
    ) -> None:
        """``clock``: wall time in seconds (retry records' due times); ``rng``: jitter of backoffs."""
        s = self._s = settings
        obs = self._obs = observer or EngineObserver()
        rng = rng or random.Random()
        loop_clock = LoopClock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._consumer: Consumer | None = None
        self._fatal: BaseException | None = None
        self._fatal_event = asyncio.Event()
        self._partitions = Partitions(retry_topics)
        self._circuit = AuthCircuit(sender.probe_auth, max_interval_s=auth_probe_max_interval_s,
                                    on_change=self._on_circuit_change, rng=rng)
        self._availability = AvailabilityCircuit(
            sender.probe_auth, clock=loop_clock, threshold=s.availability_threshold,
            max_interval_s=s.availability_probe_max_interval_s, warn_every_s=s.availability_warn_every_s,
            on_change=self._on_availability_change, rng=rng)
        ceiling = s.requests_per_minute / 60.0 if s.requests_per_minute else None
        self._rate = AdaptiveRate(clock=loop_clock, ceiling_per_s=ceiling)
        self._flow = FlowControl(self._partitions, max_in_flight=s.max_in_flight,
                                 max_in_flight_per_partition=s.max_in_flight_per_partition,
                                 max_in_flight_bytes=s.max_in_flight_bytes,
                                 hold=lambda: self.circuit_open, observer=obs)
        obs.watch_in_flight(lambda: self._flow.in_flight)
        obs.watch_in_flight_bytes(lambda: self._flow.in_flight_bytes)
        self._commits = OffsetCommitter(self._partitions, observer=obs, interval_s=s.commit_interval_s)
        limit = AdaptiveLimit(s.max_concurrent_requests)
        deliverer = Deliverer(
            sender,
            limit=limit,
            circuit=self._circuit,
            availability=self._availability,
            rate=self._rate,
            quick_retries=QuickRetries(s.quick_retries, s.quick_retry_backoff_s, s.quick_retry_max_wait_s, rng),
            observer=obs,
            rng=rng,
        )
        work = EventWork(planner=planner, deliverer=deliverer, handoff=handoff, observer=obs, finish=self._flow.finish)
        self._dispatcher = Dispatcher(partitions=self._partitions, decoder=decoder, key_func=key_func, work=work,
                                      limit=limit, flow=self._flow, clock=clock, observer=obs, on_fatal=self._on_fatal)
        # Batches handed over by the consumer thread but not yet dispatched on the loop are not
        # counted in flight, so pausing cannot see them: without a bound, a backlog let the
        # consumer thread queue ~50 batches while the loop was busy (bench: 26,000 in flight at
        # max_in_flight=5,000). One slot: the consumer thread still consumes the next batch while
        # the loop dispatches this one (bench: same throughput as two slots, peak 6,400 not 6,900).
        self._undispatched = threading.BoundedSemaphore(1)

    # -- lifecycle ------------------------------------------------------------------------------

    def bind(self, consumer: Consumer) -> None:
        """The consumer this engine listens to (for pause/resume and stored offsets)."""
        self._consumer = consumer
        self._flow.consumer = consumer
        self._commits.consumer = consumer

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set or a fatal error; then drain, commit and close."""
        assert self._consumer is not None, "bind() a consumer first"
        self._loop = self._dispatcher.loop = asyncio.get_running_loop()
        fatal = self._fatal_event
        store_task = self._loop.create_task(self._commits.run(), name="store-offsets")
        rate_task = self._loop.create_task(self._report_rate(), name="report-rate")
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
            rate_task.cancel()
            await self._circuit.close()
            await self._availability.close()
        if self._fatal is not None:
            raise self._fatal
        consumer_error = self._consumer.fatal_error
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
        return self._flow.in_flight

    @property
    def in_flight_bytes(self) -> int:
        """Bytes of the records in flight (``Inbound.size`` summed)."""
        return self._flow.in_flight_bytes

    @property
    def circuit_open(self) -> bool:
        """True while the auth or the availability circuit is open (consumption paused)."""
        return self._circuit.is_open or self._availability.is_open

    def set_requests_per_minute(self, requests_per_minute: float | None) -> None:
        """The ceiling of the adaptive request rate, changed while running (configuration reload)."""
        self._rate.set_ceiling(requests_per_minute / 60.0 if requests_per_minute else None)

    @property
    def allowed_rate(self) -> float | None:
        """Requests/s the adaptive rate allows now (None: not paced)."""
        return self._rate.rate

    async def _report_rate(self) -> None:
        """The allowed rate for the metrics, once per commit interval (not per request)."""
        while True:
            self._obs.allowed_rate(self._rate.rate)
            await asyncio.sleep(self._s.commit_interval_s)

    # -- ConsumerListener (called on the consumer thread) -----------------------------------------

    def on_assigned(self, partitions: list[TP], committed: dict[TP, Commit] | None = None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self.assign, partitions, committed or {})

    def on_messages(self, batch: list[Inbound]) -> None:
        """Back-pressure: blocks (bounded) while the previous batch still waits for the loop."""
        assert self._loop is not None
        self._undispatched.acquire(timeout=1.0)  # a stuck loop must not wedge the consumer thread
        self._loop.call_soon_threadsafe(self.dispatch, batch)

    def on_position_jump(self, tp: TP, old: int, new: int, skipped: int) -> None:
        """Listener step 4: blocks until the partition was restarted on the loop."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self.restart_partition(tp, skipped), self._loop).result(timeout=30)

    def on_revoked(self, partitions: list[TP]) -> dict[TP, Commit]:
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self.revoke(partitions), self._loop)
        try:
            return future.result(timeout=self._s.drain_timeout_s + 10)
        except Exception:  # noqa: BLE001 - committing nothing is always safe
            log.exception("draining revoked partitions failed; their uncommitted events will be redelivered")
            return {}

    # -- the loop side of the listener steps (what the methods above schedule; tests call them) --

    def assign(self, partitions: list[TP], committed: dict[TP, Commit] | None = None) -> None:
        """Listener step 1, on the loop."""
        self._partitions.assign(partitions, committed)
        self._obs.assigned(len(self._partitions))
        self._flow.update(force=True)

    def dispatch(self, batch: list[Inbound]) -> None:
        """Listener step 2, on the loop: steps 1-3 of the protocol for every record."""
        try:
            self._undispatched.release()
        except ValueError:  # the consumer thread gave up waiting for this slot
            pass
        self._dispatcher.dispatch(batch)

    async def restart_partition(self, tp: TP, skipped: int) -> None:
        """Listener step 4, on the loop: the position of ``tp`` jumped; track it afresh.

        See :mod:`processor.engine.partitions` (restart): the old state's records finish, their
        offsets reach no commit; the consumer replaces its stored offset with the new position.
        """
        self._partitions.restart(tp)
        self._obs.position_jumped(tp, skipped)
        self._flow.update(force=True)

    async def revoke(self, partitions: list[TP]) -> dict[TP, Commit]:
        """Listener step 3, on the loop: drain revoked partitions: finish what was consumed (bounded), then report the commit point.

        Events waiting behind a busy key keep flowing while draining: dropping them would leave
        holes below later, finished offsets, and the next owner would deliver those again.
        Records on a retry tier that are not due yet are dropped (they may be due in an hour);
        the commit stays before them and the next owner waits for them instead.
        """
        states = self._partitions.start_revoking(partitions)
        for st in states:
            self._dispatcher.tiers.cancel(st)
        self._dispatcher.start_queued(states)
        await self._partitions.drain(states, self._s.drain_timeout_s)
        self._dispatcher.reclaim(states)
        final: dict[TP, Commit] = {}
        for st in states:
            commit = self._commits.final(st)
            if commit is not None:
                final[st.tp] = commit
            self._partitions.release(st)
            self._flow.forget(st)  # never finished here: redelivered elsewhere
            self._obs.released(st.tp)
        self._obs.assigned(len(self._partitions))
        # What was forgotten no longer holds the others back: with nothing left in flight, no
        # finish would ever re-decide, and the partitions kept would stay paused.
        self._flow.update(force=True)
        return final

    def _on_fatal(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc if isinstance(exc, HandoffFailed) else HandoffFailed(str(exc))
        self._fatal_event.set()

    def _on_circuit_change(self, is_open: bool) -> None:
        self._obs.circuit(is_open)
        self._flow.update(force=True)

    def _on_availability_change(self, is_open: bool, reason: str) -> None:
        self._obs.availability(is_open, reason)
        self._flow.update(force=True)


class LoopClock:
    """The clock of the loop the engine runs on (fake in the engine's unit tests), in seconds.

    Read several times per request (the rate's slots and answers, the availability rule), so the
    loop is looked up once and kept: ``asyncio.get_running_loop()`` costs a ``getpid()`` system
    call on CPython 3.11 (its fork check), which was ~5 % of the engine's CPU per event
    (bench/engine_path.py). Outside a running loop, before the first read inside one, it is the
    monotonic clock.
    """

    __slots__ = ("_time",)

    def __init__(self) -> None:
        self._time: Callable[[], float] | None = None

    def __call__(self) -> float:
        read = self._time
        if read is None:
            try:
                read = self._time = asyncio.get_running_loop().time
            except RuntimeError:
                return time.monotonic()
        return read()
