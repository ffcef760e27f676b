"""A real Apache Kafka broker for development and tests, without Docker.

The jars come from Maven Central (see ``fetch``); the broker runs as a plain
background ``java`` process in KRaft mode. ``dev/kafka`` is the command line,
``tests/support/kafka_broker.py`` the pytest side; both use :class:`LocalKafka`.
"""

from .broker import LocalKafka
from .config import ScramUser
from .errors import LocalKafkaError
from .fetch import DEFAULT_KAFKA_VERSION, fetch
from .net import free_port

__all__ = ["DEFAULT_KAFKA_VERSION", "LocalKafka", "LocalKafkaError", "ScramUser", "fetch", "free_port"]
