"""An asyncio face on confluent-kafka's Producer, keeping per-message headers.

Why not confluent-kafka's own asyncio producer: its batched path drops per-message headers, and
retry / dead-letter records are useless without their headers. So this wraps the plain
``Producer``: ``produce()`` returns an ``asyncio.Future`` resolved by the delivery report, and a
small thread calls ``poll()`` so delivery reports flow without the event loop blocking.

The future resolves only when the broker acknowledged the record (``acks=all`` with
idempotence), which is what "durably handed to the retry topic" means in the engine. ``send``
implements the engine's :class:`~processor.engine.ports.Produce` port; failures raise its
``ProduceError``.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from processor.errors import KafkaSettingsError, ProduceError
from processor.kafka.clients import new_producer

__all__ = ["AsyncProducer", "ProduceError", "DURABILITY_SETTINGS", "durable_producer_settings"]

#: Settings the hand-off guarantee depends on; user passthrough cannot weaken them.
DURABILITY_SETTINGS = {"acks": "all", "enable.idempotence": True}


def durable_producer_settings(conf: dict[str, Any]) -> dict[str, Any]:
    """``conf`` with :data:`DURABILITY_SETTINGS` forced on top: every producer that writes a record
    the at-least-once promise depends on (retry hand-off, dead letters, ``dlq redrive``) is built
    from this, so none of them can be weakened by the user's ``kafka.producer`` passthrough.

    Raises :class:`~processor.errors.KafkaSettingsError` for ``transactional.id``: these producers
    are idempotent, not transactional (they never begin a transaction), and a transactional one
    refuses every record, so the first hand-off stopped ``run`` (a newcomer's finding)."""
    if "transactional.id" in conf:
        raise KafkaSettingsError("kafka producer settings (kafka.client, kafka.producer): transactional.id is not "
                                 "supported: the processor's producers are idempotent, not transactional")
    return {**conf, **DURABILITY_SETTINGS}


def client_settings(conf: dict[str, Any]) -> dict[str, Any]:
    """The librdkafka settings :class:`AsyncProducer` builds its producer with: its defaults,
    ``conf`` over them, the durability settings over both (so ``check-config`` checks these)."""
    return durable_producer_settings({"linger.ms": 5, "compression.type": "lz4", **conf})


class AsyncProducer:
    def __init__(self, conf: dict[str, Any], loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._producer = new_producer(client_settings(conf))  # KafkaSettingsError: a setting librdkafka refuses
        self._loop = loop or asyncio.get_running_loop()
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._poll_forever, name="kafka-producer-poll", daemon=True)
        self._poller.start()

    def _poll_forever(self) -> None:
        while not self._stopping.is_set():
            self._producer.poll(0.05)

    def produce(
        self,
        topic: str,
        value: bytes | None,
        *,
        key: bytes | None = None,
        headers: list[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> asyncio.Future[tuple[int, int]]:
        """Queue a record; the future resolves to ``(partition, offset)`` once acknowledged."""
        loop = self._loop
        future: asyncio.Future[tuple[int, int]] = loop.create_future()

        def on_delivery(err: KafkaError | None, msg: Any) -> None:
            # Runs on the poller thread: hand the outcome to the loop's thread.
            if err is not None:
                loop.call_soon_threadsafe(_set_exception, future, ProduceError(f"{topic}: {err.str()}", err.code()))
            else:
                loop.call_soon_threadsafe(_set_result, future, (msg.partition(), msg.offset()))

        kwargs: dict[str, Any] = {"value": value, "key": key, "headers": headers, "on_delivery": on_delivery}
        if partition is not None:
            kwargs["partition"] = partition
        while True:
            try:
                self._producer.produce(topic, **kwargs)
                return future
            except BufferError:
                # Local queue full: let delivery reports drain it, then try again.
                self._producer.poll(0.01)
            except KafkaException as exc:
                err = exc.args[0] if exc.args else None
                future.set_exception(ProduceError(f"{topic}: {exc}", err.code() if isinstance(err, KafkaError) else None))
                return future

    async def send(self, topic: str, value: bytes | None, **kwargs: Any) -> tuple[int, int]:
        return await self.produce(topic, value, **kwargs)

    def flush(self, timeout: float = 30.0) -> int:
        """Wait for outstanding records; returns how many are still undelivered."""
        return self._producer.flush(timeout)

    def close(self, timeout: float = 30.0) -> int:
        remaining = self.flush(timeout)
        self._stopping.set()
        self._poller.join(timeout=1.0)
        return remaining


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
