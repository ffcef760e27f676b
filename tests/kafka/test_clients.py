"""A librdkafka setting the user got wrong is a one-line configuration error, never a traceback."""

from __future__ import annotations

import pytest

from processor.errors import ConfigError, KafkaSettingsError
from processor.kafka.clients import check_client_settings, new_consumer, new_producer

BOOT = {"bootstrap.servers": "127.0.0.1:1"}  # nothing listens: building and closing a client needs no broker


@pytest.mark.parametrize(("setting", "words"), [
    ({"fetch.queue.backoff.ms": "fast"}, 'Invalid value for configuration property "fetch.queue.backoff.ms"'),
    ({"fetch.queue.backoff.ms": -5}, '"fetch.queue.backoff.ms" value -5 is outside allowed range'),
    ({"no.such.property": 1}, 'No such configuration property: "no.such.property"'),
])
def test_a_refused_consumer_setting_names_the_property_and_the_sections(setting: dict, words: str) -> None:
    with pytest.raises(KafkaSettingsError) as refused:
        check_client_settings({**BOOT, "group.id": "g", **setting}, BOOT)
    message = str(refused.value)
    assert isinstance(refused.value, ConfigError)  # exit 2 in every command
    assert message.startswith("kafka consumer settings (kafka.client, kafka.consumer): ") and words in message
    assert "\n" not in message


def test_a_refused_producer_setting_names_the_producer() -> None:
    with pytest.raises(KafkaSettingsError, match=r"^kafka producer settings \(kafka.client, kafka.producer\): .*message.timeout.ms"):
        check_client_settings({**BOOT, "group.id": "g"}, {**BOOT, "message.timeout.ms": "soon"})


def test_settings_librdkafka_takes_pass() -> None:
    check_client_settings({**BOOT, "group.id": "g", "fetch.queue.backoff.ms": 20}, {**BOOT, "linger.ms": 5})
    new_consumer({**BOOT, "group.id": "g"}).close()
    new_producer(BOOT).flush(0)


@pytest.mark.parametrize(("producer", "words"), [
    ({"error_cb": "oops"}, "expected error_cb property as a callable function"),  # confluent-kafka's TypeError
    ({"transactional.id": "tx"}, "transactional.id is not supported"),  # accepted, then every record refused
])
def test_settings_refused_before_librdkafka_or_only_when_producing_are_configuration_errors(
        producer: dict, words: str) -> None:
    """Newcomers' findings: a callback property that is not a function was a TypeError traceback
    in every command; a transactional producer passed every check, then stopped `run`."""
    from processor.kafka.producer import client_settings

    with pytest.raises(KafkaSettingsError, match=words):
        check_client_settings({**BOOT, "group.id": "g"}, client_settings({**BOOT, **producer}))
