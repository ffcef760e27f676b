"""Liquid for ``@liquid``: liquidjs 10.30.1 semantics with actions-core's restrictions."""

from __future__ import annotations

from .engine import CompiledLiquid, compile_liquid, unknown_filters
from .errors import LiquidError

__all__ = ["compile_liquid", "unknown_filters", "CompiledLiquid", "LiquidError"]
