"""One record's work once it may run: plan (step 4), deliver (5), hand failures off, finish (6).

Routing of the outcomes of one record (all in one hand-off round, awaited together):

- a rejection (the payload is invalid for this event): dead letter, error class ``validation``
  (or the rejection's own ``error_class``: ``config`` when a reload removed the subscription,
  ``internal`` when our own Segment semantics failed for that event and subscription); also
  ``internal`` when the planner raised for the whole event (never a stop: see ``_planning_failed``);
- a delivery that still fails retryably after quick retries: one record on the next retry tier
  listing every such subscription;
- any other failure (permanent): dead letter, one record per subscription;
- an undecodable value: dead letter, error class ``decode``, nothing planned.

The record finishes only after every hand-off was acknowledged. A hand-off that fails raises
:class:`HandoffFailed`, which stops the engine with the offset unfinished: the record is
delivered again after the restart, never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from processor.engine.deliver import Answered, Attempt, Deliverer
from processor.engine.handoff import Failure, Handoff, RetryContext
from processor.engine.partitions import PartitionState
from processor.engine.ports import (
    DECODE,
    INTERNAL,
    PERMANENT,
    RETRYABLE,
    VALIDATION,
    EngineObserver,
    Inbound,
    Planner,
)
from processor.errors import HandoffFailed

log = logging.getLogger(__name__)

__all__ = ["EventWork", "HandoffFailed"]

Finish = Callable[[PartitionState, int, int], None]  # (partition, offset, Inbound.size)

#: :meth:`EventWork.start`'s answer when the planner raised: :meth:`EventWork.process` plans again.
NOT_PLANNED: list[Any] = []


class EventWork:
    __slots__ = ("_planner", "_deliver", "_try_start", "_give_back", "_handoff", "_obs", "_finish")

    def __init__(
        self, *, planner: Planner, deliverer: Deliverer, handoff: Handoff, observer: EngineObserver, finish: Finish
    ) -> None:
        self._planner = planner
        self._deliver = deliverer.deliver
        self._try_start = deliverer.try_start
        self._give_back = deliverer.limit.release  # a slot taken for a record that makes no request
        self._handoff = handoff
        self._obs = observer
        self._finish = finish

    def start(self, st: PartitionState, msg: Inbound, event: dict[str, Any],
              on_answer: Callable[[Any, Answered | None], None]) -> Attempt | list[Any]:
        """Step 4 and the start of step 5 without a task, for a source record holding its first
        concurrency slot (the common case: one triggered subscription whose request can go now).

        Returns the :class:`Attempt` when that request is on its way: ``on_answer`` follows
        (:meth:`Deliverer.try_start`), and then the caller finishes the record (:meth:`finish`,
        when the result is ok) or runs :meth:`resume` in a task. Otherwise nothing was sent and
        the slot is still held: returns what was planned, for :meth:`process` ``(planned=...)``
        in a task (:data:`NOT_PLANNED` when the planner raised: ``process`` plans again and
        dead-letters the event).
        """
        try:
            planned = self._planner.plan(event)  # step 4
        except Exception:  # noqa: BLE001 - process() plans again and dead-letters it
            return NOT_PLANNED
        if len(planned) == 1 and not hasattr(planned[0], "message"):
            attempt = self._try_start(planned[0], on_answer)
            if attempt is not None:
                self._obs.triggered(planned[0].action)
                return attempt
        return planned

    def finish(self, st: PartitionState, msg: Inbound) -> None:
        """Step 6 for a record whose request :meth:`start` sent succeeded."""
        self._finish(st, msg.offset, msg.size)

    async def resume(self, st: PartitionState, msg: Inbound, answered: Answered) -> None:
        """Steps 5-6 for a record whose request :meth:`start` sent failed (``answered``)."""
        await self._deliver_one(st, msg, None, answered[0], False, answered)

    async def process(
        self,
        st: PartitionState,
        msg: Inbound,
        event: dict[str, Any],
        only: Sequence[str] | None,
        ctx: RetryContext | None,
        held: bool = False,
        planned: list[Any] | None = None,
    ) -> None:
        """Steps 4-6 for a decoded record; ``only``: the subscriptions a retry record lists.

        ``ctx``: the retry context of a retry-tier record; ``None`` for a source record (built
        only when a hand-off needs it: most records never do). ``held``: the dispatcher took a
        concurrency slot for this record before starting it: its first request uses it, and a
        record that makes no request gives it back at once. ``planned``: step 4's outcome,
        when :meth:`start` planned already.
        """
        if planned is None or planned is NOT_PLANNED:
            try:
                planned = self._planner.plan(event) if only is None else self._planner.plan_only(event, only)  # step 4
            except Exception as exc:  # noqa: BLE001 - an event must never stop the stream
                if held:
                    self._give_back()
                await self._planning_failed(st, msg, ctx or RetryContext.from_source(msg), only, exc)
                return
        if not planned:
            if held:
                self._give_back()
            self._finish(st, msg.offset, msg.size)
            return
        if len(planned) == 1 and not hasattr(planned[0], "message"):
            # The common case (one triggered subscription, a request to make) without the lists
            # and the loops below: ~1 µs of the loop thread's ~73 per event (native profile).
            delivery = planned[0]
            self._obs.triggered(delivery.action)
            await self._deliver_one(st, msg, ctx, delivery, held)
            return
        obs = self._obs
        handoff = self._handoff
        deliver = self._deliver
        deliveries = []
        handoffs = []
        for item in planned:
            obs.triggered(item.action)
            if hasattr(item, "message"):  # a rejection: invalid payload, a subscription a reload removed, internal
                ctx = ctx or RetryContext.from_source(msg)
                error_class = getattr(item, "error_class", VALIDATION)
                obs.dead_lettered(error_class)
                handoffs.append(handoff.dead_letter(
                    msg, ctx, [item.subscription], Failure(error_class, item.status, item.message)))
            else:
                deliveries.append(item)
        retry = st.is_retry_tier  # a retry-tier record's requests go ahead of fresh work
        if len(deliveries) == 1:  # step 5
            results = [await deliver(deliveries[0], retry, held)]
        elif deliveries:
            first, *rest = deliveries
            results = await asyncio.gather(deliver(first, retry, held), *(deliver(d, retry) for d in rest))
        else:
            if held:
                self._give_back()
            results = []
        await self._route(st, msg, ctx, deliveries, results, handoffs)

    async def _deliver_one(self, st: PartitionState, msg: Inbound, ctx: RetryContext | None, delivery: Any,
                           held: bool, answered: Answered | None = None) -> None:
        result = await self._deliver(delivery, st.is_retry_tier, held, answered)  # step 5
        if result.ok:
            self._finish(st, msg.offset, msg.size)  # step 6
            return
        await self._route(st, msg, ctx, [delivery], [result], [])

    async def _route(
        self,
        st: PartitionState,
        msg: Inbound,
        ctx: RetryContext | None,
        deliveries: Sequence[Any],
        results: Sequence[Any],
        handoffs: list[Any],
    ) -> None:
        """Hand off what failed (``handoffs``: the rejections' already), await every hand-off, finish."""
        obs = self._obs
        handoff = self._handoff
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
                ctx = ctx or RetryContext.from_source(msg)
                handoffs.append(handoff.dead_letter(msg, ctx, [delivery.subscription], failure))
        if retry_failure is not None:
            handoffs.append(handoff.retry(msg, ctx or RetryContext.from_source(msg), retry_subs, retry_failure))
        if handoffs:
            try:
                await asyncio.gather(*handoffs)
            except Exception as exc:  # noqa: BLE001
                raise HandoffFailed(f"{msg.topic}[{msg.partition}]@{msg.offset}: {exc}") from exc
        self._finish(st, msg.offset, msg.size)  # step 6

    async def _planning_failed(
        self, st: PartitionState, msg: Inbound, ctx: RetryContext, only: Sequence[str] | None, exc: Exception
    ) -> None:
        """The planner raised for the whole event: dead-letter it (``internal``), then finish.

        The destination turns one subscription's failure into that pair's rejection itself; this
        is the last line. Stopping instead would bring the event back after the restart, and it
        would stop the processor again: one event would wedge the partition forever.
        """
        log.error("planning %s[%d]@%d failed; dead-lettered (error class internal)",
                  msg.topic, msg.partition, msg.offset, exc_info=exc)
        self._obs.dead_lettered(INTERNAL)
        failure = Failure(INTERNAL, None, f"internal error: {type(exc).__name__}: {exc}"[:1000])
        try:
            await self._handoff.dead_letter(msg, ctx, list(only or ()), failure)
        except Exception as handoff_exc:  # noqa: BLE001
            raise HandoffFailed(f"{msg.topic}[{msg.partition}]@{msg.offset}: {handoff_exc}") from handoff_exc
        self._finish(st, msg.offset, msg.size)

    async def dead_letter_undecodable(
        self, st: PartitionState, msg: Inbound, reason: str, ctx: RetryContext | None = None
    ) -> None:
        """Step 2's failure branch: dead-letter the value as it is, then finish."""
        try:
            await self._handoff.dead_letter(msg, ctx or RetryContext.from_source(msg), [], Failure(DECODE, None, reason))
        except Exception as exc:  # noqa: BLE001
            raise HandoffFailed(f"{msg.topic}[{msg.partition}]@{msg.offset}: {exc}") from exc
        self._obs.dead_lettered(DECODE)
        self._finish(st, msg.offset, msg.size)
