"""The logger every Kafka client of the processor logs on.

librdkafka's own lines are routed into Python logging by giving each client this logger
(confluent-kafka's ``logger`` setting; see ``KafkaConfig.librdkafka``), and the consumer's error
callback logs there too, so one place (``processor.ops.logging.RepeatFilter``, attached by
``run``) can hold back the repeats a broker outage produces.
"""

from __future__ import annotations

__all__ = ["KAFKA_LOGGER"]

#: The logger name librdkafka's lines and the Kafka error callbacks are logged on.
KAFKA_LOGGER = "librdkafka"
