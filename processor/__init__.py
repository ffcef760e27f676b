"""Self-hosted replacement for Segment's "Voucherify (Actions)" destination.

Layers (data flows one way, top to bottom):

- ``processor.segment``    Segment semantics: event access, FQL triggers, mapping-kit,
                           empty-value removal and payload validation. No Kafka, no HTTP.
- ``processor.voucherify`` The destination: settings, actions, presets, HTTP client.
                           No Kafka.
- ``processor.engine``     The stream engine: ordering-key dispatch, offset tracking,
                           retry and dead-letter routing. Knows no Voucherify field.
- ``processor.kafka``      Thin adapters over confluent-kafka.
- ``processor.ops``        Metrics, health, logging.
- ``processor.cli``        The ``voucherify-processor`` command.
"""

__version__ = "0.1.0"
