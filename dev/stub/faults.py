"""Fault configuration and the per-request decision.

Kept apart from the aiohttp handlers so the rules (which fault wins, what headers a 429
carries, how a scripted queue is consumed) can be read and tested without a socket.

Determinism: with a ``seed``, the random draws come from one ``random.Random`` and are
taken in request-arrival order, one draw per *enabled* probabilistic fault, so the same
configuration and the same request sequence produce the same faults.
"""

from __future__ import annotations

import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

__all__ = ["FaultConfig", "ScriptStep", "Outcome", "FaultEngine"]


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Every knob the stub understands; all default to "behave like a healthy Voucherify"."""

    latency_ms: float = 0.0  # added to every /segmentio response
    latency_jitter_ms: float = 0.0  # +/- uniform jitter around latency_ms (clamped at 0)
    error_rate_5xx: float = 0.0  # probability of answering error_status
    error_status: int = 500
    rate_429: float = 0.0  # probability of answering 429
    retry_after: float | None = None  # 429 carries `Retry-After: <seconds>` when set
    rate_limit_retry_in: float | None = None  # 429 carries `X-Rate-Limit-Retry: <now+this, epoch s>`
    slow_response_ms: float = 0.0  # delay (e.g. past the client's read timeout)...
    slow_rate: float = 1.0  # ...applied to this fraction of requests
    reset_rate: float = 0.0  # probability of aborting the TCP connection without a response
    seed: int | None = None  # makes every probabilistic fault reproducible
    record_bodies: bool = True  # False keeps memory flat in very long benchmark runs
    # A real rate limiter (dev/stub/limits.py): a token bucket per application id. None = off.
    rate_limit_per_minute: float | None = None
    rate_limit_burst: float | None = None  # bucket size in requests; None = one second's worth
    rate_limit_retry_after: bool = True  # its 429s carry Retry-After as well as X-Rate-Limit-Retry

    def updated(self, changes: dict[str, Any]) -> FaultConfig:
        """A copy with ``changes`` applied; unknown keys are an error (typos must not pass)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {sorted(unknown)}")
        updated = replace(self, **changes)
        if updated.rate_limit_per_minute is not None and updated.rate_limit_per_minute <= 0:
            raise ValueError("rate_limit_per_minute must be positive (or null: no limit)")
        if updated.rate_limit_burst is not None and updated.rate_limit_burst < 1:
            raise ValueError("rate_limit_burst must be at least 1 (or null: one second's worth)")
        return updated

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ScriptStep:
    """Answer the next ``count`` matching requests exactly like this (FIFO, before auth)."""

    status: int = 500
    count: int = 1
    path: str | None = None  # None matches every /segmentio path
    reset: bool = False  # abort the connection instead of answering
    delay_ms: float = 0.0
    retry_after: float | None = None
    rate_limit_retry_in: float | None = None
    body: Any = None  # JSON body; default is a Voucherify-style error object

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScriptStep:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown script step key(s): {sorted(unknown)}")
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the handler should do: abort, or wait ``delay`` seconds and answer ``status``."""

    status: int  # 0 means "connection reset"
    delay: float = 0.0
    headers: dict[str, str] | None = None
    body: Any = None

    @property
    def reset(self) -> bool:
        return self.status == 0


_OK = Outcome(200)
_RESET = Outcome(0)


def _rate_limit_headers(retry_after: float | None, retry_in: float | None) -> dict[str, str] | None:
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = f"{retry_after:g}"
    if retry_in is not None:
        headers["X-Rate-Limit-Retry"] = str(int(time.time() + retry_in))
    return headers or None


@dataclass(slots=True)
class FaultEngine:
    """Holds the live config, the scripted queue and the RNG; decides per request."""

    config: FaultConfig = field(default_factory=FaultConfig)
    script: deque[ScriptStep] = field(default_factory=deque)
    rng: random.Random = field(default_factory=random.Random)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.config.seed)

    def configure(self, changes: dict[str, Any]) -> None:
        """Apply a partial update. ``script`` appends steps; a new ``seed`` restarts the RNG."""
        changes = dict(changes)
        steps = changes.pop("script", None)
        if changes:
            self.config = self.config.updated(changes)
            if "seed" in changes:
                self.rng = random.Random(self.config.seed)
        if steps is not None:
            self.script.extend(ScriptStep.from_dict(s) for s in steps)

    def reset(self, config: FaultConfig | None = None) -> None:
        """Forget the script and restart the RNG (optionally replacing the config)."""
        if config is not None:
            self.config = config
        self.script.clear()
        self.rng = random.Random(self.config.seed)

    def scripted(self, path: str) -> Outcome | None:
        """Consume one matching script step, if any (scripted faults win over auth)."""
        for step in self.script:
            if step.path is None or step.path == path:
                step.count -= 1
                if step.count <= 0:
                    self.script.remove(step)
                if step.reset:
                    return _RESET
                headers = None
                if step.status == 429 or step.retry_after is not None or step.rate_limit_retry_in is not None:
                    headers = _rate_limit_headers(step.retry_after, step.rate_limit_retry_in)
                return Outcome(step.status, step.delay_ms / 1000.0, headers, step.body)
        return None

    def decide(self) -> Outcome:
        """Random faults and latency for an authenticated request (cheap when all are off)."""
        c = self.config
        rnd = self.rng.random
        if c.reset_rate and rnd() < c.reset_rate:
            return _RESET
        delay = c.latency_ms
        if c.latency_jitter_ms:
            delay = max(0.0, delay + (rnd() * 2.0 - 1.0) * c.latency_jitter_ms)
        if c.slow_response_ms and (c.slow_rate >= 1.0 or rnd() < c.slow_rate):
            delay += c.slow_response_ms
        delay /= 1000.0
        if c.error_rate_5xx and rnd() < c.error_rate_5xx:
            return Outcome(c.error_status, delay)
        if c.rate_429 and rnd() < c.rate_429:
            return Outcome(429, delay, _rate_limit_headers(c.retry_after, c.rate_limit_retry_in))
        if delay:
            return Outcome(200, delay)
        return _OK
