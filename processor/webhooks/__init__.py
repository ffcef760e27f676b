"""Voucherify webhooks in, Segment ``track`` events out to Kafka (the Segment-source direction).

Written from Voucherify's webhook payload format **v2024-01-01** (``reference/OpenAPIWebhooks.json``
in voucherifyio/voucherify-openapi, ``info.version`` "2024-01-01"; docs.voucherify.io
"Introduction to webhooks") and Segment's "Voucherify Source" page (event names, ``userId`` from
the customer's ``source_id``, no anonymous events).

Modules, each with one job:

- ``signature``   the ``x-voucherify-signature`` HMAC-SHA256 check (pure)
- ``translation`` the table Voucherify event type -> Segment track event, and the translation (pure:
                  knows nothing of HTTP or Kafka)
- ``dedupe``      the bounded window of event ids already produced (pure)
- ``settings``    the ``webhooks:`` configuration section (start-up only)
- ``kafka_io``    the producer adapter and the reader that rebuilds/follows the window from the topic
- ``receiver``    the aiohttp handler: the delivery protocol (verify, translate, dedupe, produce, answer)
- ``service``     the composition root of ``voucherify-processor webhooks``
"""
