# voucherify-processor: Kafka -> Voucherify, as Segment's "Voucherify (Actions)" destination.
#
#   docker build -t voucherify-processor .
#   docker run --rm -v $PWD/config/local.yaml:/etc/voucherify-processor/config.yaml:ro \
#       -e VOUCHERIFY_APPLICATION_ID -e VOUCHERIFY_SECRET_KEY -p 9108:9108 \
#       voucherify-processor run --config /etc/voucherify-processor/config.yaml

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
USER 10001
# /metrics, /healthz, /readyz
EXPOSE 9108
ENTRYPOINT ["voucherify-processor"]
CMD ["run", "--config", "/etc/voucherify-processor/config.yaml"]
