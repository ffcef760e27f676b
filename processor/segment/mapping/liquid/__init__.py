"""Liquid for ``@liquid``: liquidjs 10.30.1 semantics with actions-core's restrictions."""

from __future__ import annotations

from .engine import compile_liquid, unknown_filters
from .errors import LiquidError

__all__ = ["compile_liquid", "unknown_filters", "LiquidError"]
