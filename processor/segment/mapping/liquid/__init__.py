"""Placeholder: the Liquid engine is being ported (see processor.segment.mapping.liquid)."""

from __future__ import annotations


class LiquidError(Exception):
    """A Liquid parse or render error, worded as liquidjs words it."""


def compile_liquid(template: str):  # pragma: no cover - replaced by the real engine
    raise LiquidError("@liquid is not supported yet")
