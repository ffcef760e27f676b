"""The composition root: one configuration in, one running processor out.

This is the only module that knows every layer; each layer below it is built here from its
section of the configuration and handed to the next. Building is start-up work: a bad trigger,
mapping, or setting raises here, before anything is consumed.

The layers below never see the configuration object: the functions ending in ``_settings``
turn it, once, into the small typed values each component declares (``EngineSettings``,
``TopicSettings``, ``DlqSettings``, ``DecoderSettings``, plain librdkafka dicts). The operator
commands build their components through the same functions, so ``run`` and ``check-config``
cannot disagree on, say, a topic name or how the HTTP client is sized.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from processor.config import AppConfig
from processor.engine.handoff import Handoff
from processor.engine.ordering import ordering_key_func
from processor.engine.pipeline import Engine, EngineSettings
from processor.kafka.consumer import ConsumerThread, client_settings as consumer_client_settings
from processor.kafka.admin import QUIET, admin_client, create_topics, existing_topics, new_topic_partitions, plan_topics
from processor.kafka.clients import check_client_settings
from processor.kafka.decoders import DecoderSettings, decoder_from_config
from processor.kafka.dlq import DlqSettings
from processor.kafka.producer import AsyncProducer, client_settings as producer_client_settings
from processor.kafka.topics import TopicSettings, retry_topic_names
from processor.ops.gc_tuning import tune_gc
from processor.ops.health import Health
from processor.ops.http_server import start_ops_server
from processor.ops.metrics import Metrics
from processor.ops.observer import MetricsObserver
from processor.reload import MEMBER_ENV, Reloader, ReloadService, Result, config_hash, disabled_names
from processor.voucherify.client import VoucherifyClient
from processor.voucherify.destination import Destination
from processor.voucherify.live import Generation, GoneReason, LiveDestination

log = logging.getLogger(__name__)


def build_destination(cfg: AppConfig) -> Destination:
    """Compile triggers and mappings (raises a ConfigError naming the field)."""
    destination = Destination.from_config(cfg)
    for warning in destination.warnings:
        log.warning("%s", warning)
    return destination


def topic_settings(cfg: AppConfig) -> TopicSettings:
    """Topic names and the retry tiers' retention inputs."""
    return TopicSettings(
        source_topic=cfg.kafka.source_topic,
        retry_topic=cfg.kafka.retry_topic,
        dead_letter_topic=cfg.kafka.dead_letter_topic,
        retry_delays_s=tuple(cfg.engine.retry_delays_s),
        max_age_s=cfg.engine.max_age_s,
    )


def dlq_settings(cfg: AppConfig) -> DlqSettings:
    """What ``dlq list|show|redrive`` needs: clients, the group, the dead-letter topic, tier 0."""
    return DlqSettings(
        consumer=cfg.kafka.librdkafka("consumer"),
        producer=cfg.kafka.librdkafka("producer"),
        group_id=cfg.kafka.group_id,
        dead_letter_topic=cfg.kafka.dead_letter_topic,
        redrive_topic=retry_topic_names(topic_settings(cfg))[0],
    )


def decoder_settings(cfg: AppConfig) -> DecoderSettings:
    i = cfg.input
    return DecoderSettings(
        format=i.format,
        avro_schema=i.avro_schema,
        schema_registry_url=i.schema_registry_url,
        schema_registry=dict(i.schema_registry),
        max_value_bytes=i.max_value_bytes,
    )


def admin_settings(cfg: AppConfig) -> dict[str, Any]:
    """librdkafka settings for an AdminClient (bootstrap + the shared passthrough)."""
    return cfg.kafka.librdkafka("admin")


def consumer_settings(cfg: AppConfig) -> dict[str, Any]:
    """librdkafka settings for ``run``'s consumer (its group, bootstrap, the passthroughs)."""
    return {"group.id": cfg.kafka.group_id, **cfg.kafka.librdkafka("consumer")}


def check_kafka_settings(cfg: AppConfig) -> None:
    """Build the consumer and the producer ``run`` builds, with exactly their settings, and close
    them: :class:`~processor.errors.KafkaSettingsError` (exit 2) for a setting librdkafka refuses,
    alone or with ours (``max.in.flight.requests.per.connection: 10`` against the producer's
    idempotence). ``run`` calls it before it creates any topic; ``check-config`` calls it too."""
    check_client_settings(consumer_client_settings(consumer_settings(cfg)),
                          producer_client_settings(cfg.kafka.librdkafka("producer")))


def startup_warnings(cfg: AppConfig, destination: Destination) -> list[str]:
    """Every warning ``run`` logs at start-up for this configuration, for ``check-config`` to list.

    One list so the commands cannot disagree: the destination's (triggers Segment reads oddly,
    no enabled subscription) and the client's (TLS verification off, logged by the client itself).
    """
    warnings = list(destination.warnings)
    if not cfg.destination.verify_tls:
        warnings.append(f"destination.verify_tls is false: TLS certificates of {cfg.destination.custom_url} are not verified")
    return warnings


def engine_settings(cfg: AppConfig) -> EngineSettings:
    e = cfg.engine
    return EngineSettings(
        max_in_flight=e.max_in_flight,
        max_in_flight_per_partition=e.max_in_flight_per_partition,
        max_in_flight_bytes=int(e.max_in_flight_bytes),
        max_concurrent_requests=e.max_concurrent_requests,
        quick_retries=e.quick_retries,
        quick_retry_backoff_s=e.quick_retry_backoff_s,
        quick_retry_max_wait_s=e.quick_retry_max_wait_s,
        commit_interval_s=e.commit_interval_s,
        drain_timeout_s=e.drain_timeout_s,
        requests_per_minute=cfg.destination.requests_per_minute,
    )


def build_client(
    cfg: AppConfig, *, max_connections: int | None = None, timeout_cap_s: float | None = None
) -> VoucherifyClient:
    """The one place a :class:`VoucherifyClient` is built from the configuration.

    ``run`` sizes the pool for the engine's concurrency; ``check-config`` asks for one
    connection and caps both timeouts at its ``--timeout`` (``max_connections``, ``timeout_cap_s``).
    """
    d = cfg.destination
    cap = timeout_cap_s if timeout_cap_s is not None else float("inf")
    return VoucherifyClient(
        d.custom_url,
        d.secret("application_id"),
        d.secret("secret_key"),
        max_connections=max_connections or max(d.max_connections, cfg.engine.max_concurrent_requests),
        connect_timeout=min(d.connect_timeout_s, cap),
        read_timeout=min(d.read_timeout_s, cap),
        verify_tls=d.verify_tls,
    )


@dataclass
class ReloadOptions:
    """Where the configuration came from, so it can be re-read (see processor/reload.py)."""

    path: str | Path
    watch: bool = False  # ``run --watch-config``: reload when the file changes
    watch_interval_s: float = 1.0
    #: set to ask for a reload (the SIGHUP handler does); created here when not given
    requested: asyncio.Event | None = None


def _show_config(generation: Generation, metrics: Metrics, health: Health) -> None:
    metrics.set_config(generation.number, generation.hash)
    health.set_config(generation.number, generation.hash)


def _gone_reporter(metrics: Metrics) -> Callable[[str, GoneReason, Generation], None]:
    """Count every retry record whose subscription a reload took away; log it once per generation."""
    logged: set[tuple[int, str]] = set()

    def on_gone(name: str, reason: GoneReason, generation: Generation) -> None:
        metrics.retry_subscription_gone.labels(reason).inc()
        if (generation.number, name) not in logged:
            logged.add((generation.number, name))
            log.warning(
                "subscription %r was %s by a configuration reload (generation %d, hash %s): its retry records "
                "are dead-lettered with error class 'config' (logged once; counted in "
                "voucherify_processor_retry_subscription_gone_total)",
                name, reason, generation.number, generation.hash,
                extra={"config_generation": generation.number, "config_hash": generation.hash},
            )

    return on_gone


async def run_processor(
    cfg: AppConfig,
    stop: asyncio.Event,
    *,
    metrics: Metrics | None = None,
    health: Health | None = None,
    reload: ReloadOptions | None = None,
) -> None:
    """Run until ``stop`` is set; drain, commit and close on the way out.

    With ``reload``, the configuration is re-read when ``reload.requested`` is set (and, with
    ``reload.watch``, when the file changes); see :mod:`processor.reload` for what changes live.
    """
    tune_gc()  # per-event allocation made the default GC ~30 % of CPU (see processor/ops/gc_tuning.py)
    destination = build_destination(cfg)
    decoder = decoder_from_config(decoder_settings(cfg))
    metrics = metrics or Metrics()
    health = health or Health()
    observer = MetricsObserver(metrics, health)
    reloader = (Reloader(reload.path, cfg, build=build_destination, member=os.environ.get(MEMBER_ENV))
                if reload is not None else None)
    first = (reloader.first(destination) if reloader is not None
             else Generation(destination, 1, config_hash(cfg), disabled_names(cfg)))
    planner = LiveDestination(first, on_gone=_gone_reporter(metrics))
    _show_config(first, metrics, health)
    log.info("configuration generation 1 (hash %s): %s", first.hash,
             f"{len(destination.subscription_names)} enabled subscription(s)",
             extra={"config_generation": 1, "config_hash": first.hash})
    topics = topic_settings(cfg)
    retry_topics = retry_topic_names(topics)
    check_kafka_settings(cfg)  # a setting librdkafka refuses: exit 2 before any topic is created
    await asyncio.get_running_loop().run_in_executor(None, ensure_internal_topics, admin_settings(cfg), topics)
    async with AsyncExitStack() as stack:
        if cfg.ops.http_port:
            server = await start_ops_server(cfg.ops.http_host, cfg.ops.http_port, metrics, health)
            stack.push_async_callback(server.stop)
            log.info("metrics and health on http://%s:%d", cfg.ops.http_host, server.port)
        client = build_client(cfg)
        stack.push_async_callback(client.close)
        producer = AsyncProducer(cfg.kafka.librdkafka("producer"))
        stack.callback(producer.close)
        handoff = Handoff(
            producer.send,
            retry_topics=retry_topics,
            retry_delays_s=cfg.engine.retry_delays_s,
            dead_letter_topic=cfg.kafka.dead_letter_topic,
            max_age_s=cfg.engine.max_age_s,
        )
        engine = Engine(
            planner=planner,
            sender=client,
            decoder=decoder,
            handoff=handoff,
            key_func=ordering_key_func(list(cfg.engine.ordering_key)),
            retry_topics=retry_topics,
            settings=engine_settings(cfg),
            observer=observer,
            auth_probe_max_interval_s=cfg.engine.auth_probe_max_interval_s,
        )
        consumer = ConsumerThread(
            consumer_settings(cfg),
            [cfg.kafka.source_topic, *retry_topics],
            engine,
            commit_interval_s=cfg.engine.commit_interval_s,
            on_lag=observer.lag,
            on_error=engine.fail,
        )
        engine.bind(consumer)
        log.info("consuming %s (retry tiers: %s) as group %s", cfg.kafka.source_topic,
                 ", ".join(retry_topics), cfg.kafka.group_id)
        if reloader is not None and reload is not None:
            def apply(generation: Generation, new: AppConfig) -> None:  # on the loop, between events
                planner.swap(generation)
                engine.set_requests_per_minute(new.destination.requests_per_minute)
                logging.getLogger().setLevel(new.ops.log_level)
                _show_config(generation, metrics, health)

            def record(result: Result, _: Reloader) -> None:
                metrics.config_reloads.labels(result).inc()

            service = ReloadService(reloader, apply=apply, record=record, requested=reload.requested)
            loop = asyncio.get_running_loop()
            tasks = [loop.create_task(service.run(stop), name="config-reload")]
            if reload.watch:
                tasks.append(loop.create_task(service.watch(stop, reload.watch_interval_s), name="config-watch"))
            stack.callback(lambda: [t.cancel() for t in tasks])
        try:
            await engine.run(stop)
        finally:
            health.set_ready(False, "stopped")


def ensure_internal_topics(admin_conf: dict[str, Any], topics: TopicSettings) -> None:
    """Create missing retry tiers and the dead-letter topic (never the source: that is the user's).

    A consumer only notices a topic created after it subscribed at its next metadata refresh
    (minutes), so retry tiers must exist before the group subscribes. New topics get the same
    partition count ``topics create`` gives them (:func:`processor.kafka.admin.new_topic_partitions`).

    Raises ``KafkaUnavailable`` / ``KafkaAuthFailed`` / ``KafkaSettingsError`` (``run`` turns
    each into one line and its exit code).
    """
    admin = admin_client(admin_conf, **QUIET)  # a failure here is one line of ours, not librdkafka's retries
    present = existing_topics(admin)
    partitions = new_topic_partitions(present, topics.source_topic)
    if topics.source_topic not in present:
        log.warning("source topic %s does not exist yet; it is consumed once it appears", topics.source_topic)
    plans = [p for p in plan_topics(topics) if p.role != "source"]
    for name, outcome in create_topics(admin, plans, partitions=partitions).items():
        if outcome == "created":
            log.info("created missing topic %s (%d partitions, as `topics create` would)", name, partitions)
        elif outcome.startswith("failed"):
            log.warning("could not create topic %s: %s", name, outcome)


def install_signal_handlers(stop: asyncio.Event, reload_requested: asyncio.Event | None = None) -> None:
    """First SIGTERM/SIGINT: drain and stop. Second: exit at once (uncommitted work is redelivered).

    SIGHUP: reload the configuration (``reload_requested`` is set; processor/reload.py), never stop.
    """
    loop = asyncio.get_running_loop()
    if reload_requested is not None:
        def on_hangup() -> None:
            log.info("SIGHUP: reloading the configuration")
            reload_requested.set()

        loop.add_signal_handler(signal.SIGHUP, on_hangup)

    def on_signal(signum: int) -> None:
        if stop.is_set():
            log.warning("second %s: exiting without draining", signal.Signals(signum).name)
            import os

            os._exit(130)
        log.info("%s: draining and stopping (send again to exit at once)", signal.Signals(signum).name)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal, sig)


def run_until_signal(
    run: Callable[[asyncio.Event], Awaitable[None]], *, reload_requested: asyncio.Event | None = None
) -> None:
    """Run ``run(stop)`` on a new event loop (uvloop when installed) until SIGTERM/SIGINT sets ``stop``
    (SIGHUP sets ``reload_requested`` when given).

    The one way a long-running command (``run``, ``webhooks``) owns the process's loop and signals.
    """

    async def main() -> None:
        stop = asyncio.Event()
        install_signal_handlers(stop, reload_requested)
        await run(stop)

    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
        return
    uvloop.run(main())


def run_blocking(cfg: AppConfig, *, reload: ReloadOptions | None = None, **kwargs: Any) -> None:
    """Run the processor in this process until a signal; uvloop when available."""
    if reload is not None and reload.requested is None:
        reload.requested = asyncio.Event()  # binds to the loop on first use (Python >= 3.10)
    run_until_signal(lambda stop: run_processor(cfg, stop, reload=reload, **kwargs),
                     reload_requested=reload.requested if reload is not None else None)
