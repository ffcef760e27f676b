"""The one error type of the local-Kafka helpers.

Every failure a developer can act on (no Java, port taken, broker did not come up)
is raised as :class:`LocalKafkaError` with a message that says what to do, so the
CLI prints it without a traceback and the pytest fixture fails with it verbatim.
"""


class LocalKafkaError(RuntimeError):
    """A local broker could not be fetched, started or stopped."""
