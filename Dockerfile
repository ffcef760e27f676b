# voucherify-processor: Kafka -> Voucherify, as Segment's "Voucherify (Actions)" destination.
#
#   docker build -t voucherify-processor .
#   docker run --rm -p 9108:9108 \
#       -e VP__KAFKA__BOOTSTRAP_SERVERS=broker-1:9092 \
#       -e VP__DESTINATION__CUSTOM_URL=https://us1.segmentio.voucherify.io \
#       -e VOUCHERIFY_APPLICATION_ID -e VOUCHERIFY_SECRET_KEY \
#       voucherify-processor
#
# The default configuration is config/container.yaml (metrics on 0.0.0.0, addresses from the
# environment); mount your own at /etc/voucherify-processor/config.yaml to replace it.

FROM python:3.11-slim AS build
WORKDIR /src
# confluent-kafka ships manylinux wheels with librdkafka bundled: no compiler needed.
COPY pyproject.toml README.md* ./
COPY processor ./processor
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[speed]"

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin processor
COPY --from=build /wheels /wheels
RUN pip install --no-index --find-links=/wheels voucherify-processor[speed] && rm -rf /wheels
# Avro writer schema and config schema, for input.format: avro and editors.
COPY schemas /opt/voucherify-processor/schemas
COPY config/example.yaml /etc/voucherify-processor/config.example.yaml
COPY config/container.yaml /etc/voucherify-processor/config.yaml
USER 10001
# /metrics, /healthz, /readyz
EXPOSE 9108
ENTRYPOINT ["voucherify-processor"]
CMD ["run", "--config", "/etc/voucherify-processor/config.yaml"]
