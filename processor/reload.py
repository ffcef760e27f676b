"""Configuration reload: re-read the file, validate and compile it off the event loop, then apply
what can change live in one step between events (``SIGHUP``, or ``run --watch-config``).

What changes live, and what does not (README "Reloading the configuration" says the same):

==============================================  ===============================================
live                                            refused (logged by name; restart to apply)
==============================================  ===============================================
``subscriptions`` (names, triggers, actions,    ``kafka.*`` (new clients, new group), ``input.*``
mappings, ``enabled``), the presets when it is  (decoder), ``engine.*`` (windows, retry tiers:
absent, ``destination.requests_per_minute``,    in-flight work depends on them), ``destination.*``
``ops.log_level``                               otherwise (URL, credentials, TLS, timeouts, pool),
                                                ``ops.*`` otherwise (ops server, log format)
==============================================  ===============================================

A refused setting keeps its running value while the live part of the same file is applied;
the configuration's hash is always that of what runs (the *effective* configuration), so two
processors with the same hash behave the same.

The protocol of one reload (:class:`ReloadService`):

1. A request (signal or file change) sets a flag; requests during a reload coalesce into one
   more reload afterwards, so the last file written is always the one that ends up applied.
2. Prepare, on a worker thread (the loop keeps delivering): read the file, fold the
   environment in, validate (:func:`~processor.config.parse_config`), compute the effective
   configuration and the refused settings, compile the subscriptions. Any error -> result
   ``invalid``, the running configuration stays, the reason is logged. Nothing is applied yet.
   An empty document (empty, whitespace or comments only) is ``invalid`` here, although at
   start-up it means the presets: on reload it is a truncated save far more often than a wish.
3. Apply, on the loop, in one synchronous step: swap the planner's generation
   (:class:`~processor.voucherify.live.LiveDestination`), set the rate limit and the log level.
   The engine plans each event in one synchronous call, so no event sees half of a change.
4. Record: ``config_reloads_total{result}``, ``config_generation{hash}``, ``/readyz``'s
   ``config`` and a log line with generation and hash.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from processor.config import (
    AppConfig,
    ConfigFileError,
    EmptyConfigFileError,
    apply_environment,
    parse_config,
    read_document,
)
from processor.segment.errors import ConfigError
from processor.voucherify.destination import Destination
from processor.voucherify.live import Generation

__all__ = [
    "LIVE_SETTINGS",
    "MEMBER_ENV",
    "config_hash",
    "changed_settings",
    "effective_config",
    "Prepared",
    "Reloader",
    "ReloadService",
    "Result",
]

log = logging.getLogger("processor.reload")

#: Settings a reload applies to the running processor (dotted paths; a prefix covers its children).
LIVE_SETTINGS = ("subscriptions", "destination.requests_per_minute", "ops.log_level")

Result = Literal["applied", "partial", "refused", "unchanged", "invalid"]


#: Settings that differ between the members of one ``run --processes N`` by design (each member
#: gets its own ops port): left out of the hash, which says "same configuration" across members.
PER_MEMBER_SETTINGS = (("ops", "http_port"),)

#: Environment variable ``run --processes N`` sets for each member ("1/2"): named in reload logs.
MEMBER_ENV = "VOUCHERIFY_PROCESSOR_MEMBER"


def config_hash(cfg: AppConfig) -> str:
    """12 hex digits of SHA-256 over the configuration as JSON, keys sorted.

    Secrets are dumped masked (``**********``), so the hash reveals nothing about them and
    rotating a credential file does not change it. :data:`PER_MEMBER_SETTINGS` are left out,
    so every member of ``run --processes N`` reading the same file shows the same hash.
    """
    doc = cfg.model_dump(mode="json")
    for section, key in PER_MEMBER_SETTINGS:
        if isinstance(doc.get(section), dict):
            doc[section].pop(key, None)
    return hashlib.sha256(orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)).hexdigest()[:12]


def _diff(old: Any, new: Any, prefix: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict) and prefix != "subscriptions":
        for key in [*old, *(k for k in new if k not in old)]:
            _diff(old.get(key), new.get(key), f"{prefix}.{key}" if prefix else str(key), out)
    elif old != new:
        out.append(prefix)


def changed_settings(old: AppConfig, new: AppConfig) -> list[str]:
    """Dotted paths of the settings that differ (``subscriptions`` as one), in file order.

    Compares the Python dump, where secrets compare by value: a changed secret is a change.
    """
    out: list[str] = []
    _diff(old.model_dump(), new.model_dump(), "", out)
    return out


def _live(path: str) -> bool:
    return any(path == p or path.startswith(p + ".") for p in LIVE_SETTINGS)


def effective_config(running: AppConfig, new: AppConfig) -> tuple[AppConfig, list[str], list[str]]:
    """(the configuration to run, live settings that change, refused settings that differ).

    The running configuration with the live settings taken from ``new``.
    """
    changed = changed_settings(running, new)
    effective = running.model_copy(update={
        "subscriptions": new.subscriptions,
        "destination": running.destination.model_copy(
            update={"requests_per_minute": new.destination.requests_per_minute}),
        "ops": running.ops.model_copy(update={"log_level": new.ops.log_level}),
    })
    return effective, [p for p in changed if _live(p)], [p for p in changed if not _live(p)]


def disabled_names(cfg: AppConfig) -> frozenset[str]:
    return frozenset(s.name for s in cfg.subscriptions or () if not s.enabled)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Step 2's product: a validated, compiled configuration not yet applied."""

    result: Result
    config: AppConfig | None = None  # the effective configuration (None when invalid)
    destination: Destination | None = None  # compiled; None when nothing live changed
    hash: str = ""
    changed: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    error: str = ""


class Reloader:
    """Owns the running configuration and its generation; prepares and commits reloads.

    ``build`` compiles a configuration's subscriptions (the composition root's, which also logs
    their warnings). ``prepare`` is safe to run on a worker thread; ``commit`` is not.
    """

    def __init__(
        self,
        path: str | Path,
        running: AppConfig,
        *,
        build: Callable[[AppConfig], Destination],
        environ: Mapping[str, str] | None = None,
        member: str | None = None,
    ) -> None:
        self.path = Path(path)
        #: "; member 1/2" at the end of log lines when this process is one member of ``run --processes N``
        self.member = f"; member {member}" if member else ""
        self.running = running
        self.generation = 1
        self.hash = config_hash(running)
        self._build = build
        self._environ = environ

    def first(self, destination: Destination) -> Generation:
        return Generation(destination, self.generation, self.hash, disabled_names(self.running))

    def prepare(self) -> Prepared:
        try:
            raw = read_document(self.path, empty_ok=False)
            apply_environment(raw, os.environ if self._environ is None else self._environ)  # type: ignore[arg-type]
            new = parse_config(raw, source=str(self.path))
            effective, changed, refused = effective_config(self.running, new)
            if not changed:
                return Prepared("refused" if refused else "unchanged", effective, None, self.hash, [], refused)
            destination = self._build(effective)
        except EmptyConfigFileError:
            # At start-up an empty file means "Segment's presets"; on reload it is far more likely a
            # truncated save (an editor, a half-copied ConfigMap), never a reason to swap everything.
            return Prepared("invalid", error=f"{self.path}: empty configuration file; keeping generation {self.generation}")
        except (ConfigFileError, ConfigError) as exc:
            return Prepared("invalid", error=str(exc))
        except Exception as exc:  # noqa: BLE001 - a reload must never take the processor down
            return Prepared("invalid", error=f"{type(exc).__name__}: {exc}")
        return Prepared("partial" if refused else "applied", effective, destination, config_hash(effective),
                        changed, refused)

    def commit(self, prepared: Prepared) -> Generation | None:
        """Make ``prepared`` the running configuration; the new generation, if one was made."""
        if prepared.destination is None or prepared.config is None:
            return None
        self.generation += 1
        self.running = prepared.config
        self.hash = prepared.hash
        return Generation(prepared.destination, self.generation, self.hash, disabled_names(prepared.config))


class ReloadService:
    """Runs reloads on request (signal, file change), one at a time, applying on the loop.

    ``apply`` receives the new generation and the effective configuration on the loop thread
    (swap the planner, set the rate limit and log level); ``record`` receives every outcome
    (metrics, health). Both must be quick and must not raise.
    """

    def __init__(
        self,
        reloader: Reloader,
        *,
        apply: Callable[[Generation, AppConfig], None],
        record: Callable[[Result, Reloader], None],
        requested: asyncio.Event | None = None,
    ) -> None:
        self.reloader = reloader
        self._apply = apply
        self._record = record
        #: set by whoever asks for a reload (the SIGHUP handler holds the same event)
        self._requested = requested if requested is not None else asyncio.Event()
        self.reloads = 0  # completed reloads of any result (tests wait on it)

    def request(self, why: str = "requested") -> None:
        """Ask for a reload (call on the loop; the signal handler and the watcher do)."""
        log.info("configuration reload %s: reading %s%s", why, self.reloader.path, self.reloader.member)
        self._requested.set()

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await self._requested.wait()
            self._requested.clear()  # step 1: a request arriving from here on means one more reload
            started = time.perf_counter()
            prepared = await loop.run_in_executor(None, self.reloader.prepare)  # step 2
            self._finish(prepared, time.perf_counter() - started)

    def _finish(self, prepared: Prepared, prepare_s: float) -> None:
        reloader = self.reloader
        old_generation = reloader.generation
        applied_s = 0.0
        if prepared.result == "invalid":
            log.error("configuration reload refused, still running generation %d (hash %s): %s%s",
                      reloader.generation, reloader.hash, prepared.error, reloader.member,
                      extra={"config_generation": reloader.generation, "config_hash": reloader.hash})
        else:
            generation = reloader.commit(prepared)
            if generation is not None and prepared.config is not None:
                started = time.perf_counter()
                self._apply(generation, prepared.config)  # step 3: the only part the loop waits for
                applied_s = time.perf_counter() - started
            if prepared.refused:
                log.warning("configuration reload: not applied while running, restart to apply: %s%s",
                            ", ".join(prepared.refused), reloader.member)
            if generation is not None:
                log.info("configuration reloaded: generation %d -> %d (hash %s), changed: %s; prepared in %.0f ms "
                         "off the loop, switched in %.3f ms on it%s",
                         old_generation, generation.number, generation.hash, ", ".join(prepared.changed),
                         prepare_s * 1000, applied_s * 1000, reloader.member,
                         extra={"config_generation": generation.number, "config_hash": generation.hash})
            else:
                log.info("configuration reload: nothing to apply, still generation %d (hash %s)%s",
                         reloader.generation, reloader.hash, reloader.member,
                         extra={"config_generation": reloader.generation, "config_hash": reloader.hash})
        self._record(prepared.result, reloader)  # step 4
        self.reloads += 1

    async def watch(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """``--watch-config``: request a reload when the file's content changes (polled).

        Polling the content's digest works everywhere the file does, including a Kubernetes
        ConfigMap (updated by swapping a symlink) and editors that write a new file and rename.
        """
        path = self.reloader.path
        digest = _digest(path)
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval_s)
                return
            except asyncio.TimeoutError:
                pass
            current = _digest(path)
            if current is not None and current != digest:
                digest = current
                self.request(f"(file {path} changed)")


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None  # being replaced: look again next time
