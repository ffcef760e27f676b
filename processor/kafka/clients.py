"""librdkafka clients built from the configuration's settings, a refused setting named.

librdkafka checks every setting when a client is built and raises ``KafkaException`` for an
unknown property or a value it does not take (``fetch.queue.backoff.ms: -5``). Raised from deep
in ``run``'s start-up, that was a traceback and exit 1 while ``check-config`` said "config ok" (a
newcomer's finding). Here it becomes :class:`~processor.errors.KafkaSettingsError` (a
``ConfigError``: exit 2, one line naming the settings' sections and librdkafka's words, which
name the property), and :func:`check_client_settings` lets ``check-config`` find it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer, KafkaException, Producer

from processor.errors import KafkaSettingsError
from processor.kafka.admin import QUIET, _describe

__all__ = ["new_consumer", "new_producer", "check_client_settings", "settings_refused", "REFUSALS"]

#: What building a client raises for a setting it refuses: librdkafka's ``KafkaException``, and
#: confluent-kafka's own ``TypeError``/``ValueError`` for a callback property that is not a
#: function (``error_cb: oops``, a newcomer's finding) and values it checks itself.
REFUSALS = (KafkaException, TypeError, ValueError)


def new_consumer(conf: Mapping[str, Any]) -> Consumer:
    """A ``Consumer``; raises :class:`KafkaSettingsError` if librdkafka refuses a setting."""
    try:
        return Consumer(dict(conf))
    except REFUSALS as exc:
        raise settings_refused("consumer", exc) from None


def new_producer(conf: Mapping[str, Any]) -> Producer:
    """A ``Producer``; raises :class:`KafkaSettingsError` if librdkafka refuses a setting."""
    try:
        return Producer(dict(conf))
    except REFUSALS as exc:
        raise settings_refused("producer", exc) from None


def check_client_settings(consumer: Mapping[str, Any], producer: Mapping[str, Any]) -> None:
    """Build a consumer and a producer from these settings and close them at once (they may
    start connecting meanwhile); raises :class:`KafkaSettingsError` for the first refusal."""
    new_consumer({**consumer, **QUIET}).close()
    new_producer({**producer, **QUIET}).flush(0)


def settings_refused(role: str, exc: Exception) -> KafkaSettingsError:
    """The error for librdkafka refusing a ``role`` (``consumer``, ``producer``) client's settings."""
    words = _describe(exc, name=False) if isinstance(exc, KafkaException) else str(exc)
    return KafkaSettingsError(f"kafka {role} settings (kafka.client, kafka.{role}): {words.strip()}")
