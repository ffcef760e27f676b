"""Warnings about a mapping that Segment accepts but that most likely does not do what its author meant.

A mapping that cannot work is refused by :func:`compile_mapping`; this module only finds what
works, as in Segment, yet deserves a line at start-up (and in ``import-segment``'s report):

- a ``@liquid`` template using a filter liquidjs does not know: liquidjs (``strictFilters`` off,
  as actions-core configures it) passes the value through unchanged, so ``{{ name | upcse }}``
  sends the name as it is.
"""

from __future__ import annotations

from typing import Any, Iterator

from .liquid import LiquidError, unknown_filters

__all__ = ["mapping_warnings"]


def _liquid_templates(node: Any, where: str) -> Iterator[tuple[str, str]]:
    """(location such as ``/event/@liquid``, template) of every ``@liquid`` string in ``node``."""
    if type(node) is dict:
        for key, value in node.items():
            if key == "@liquid" and type(value) is str:
                yield f"{where}/@liquid", value
            else:
                yield from _liquid_templates(value, f"{where}/{key}")
    elif type(node) is list:
        for index, value in enumerate(node):
            yield from _liquid_templates(value, f"{where}/{index}")


def mapping_warnings(mapping: Any) -> list[str]:
    """One line per oddity, each starting with the location in the mapping (``/event/@liquid``).

    Never raises: a template that does not parse is :func:`compile_mapping`'s to refuse.
    """
    warnings: list[str] = []
    for where, template in _liquid_templates(mapping, ""):
        try:
            names = unknown_filters(template)
        except LiquidError:
            continue
        for name in names:
            warnings.append(
                f'{where}: filter "{name}" is not a Liquid filter; Segment passes the value through it unchanged'
            )
    return warnings
