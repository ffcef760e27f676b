"""Garbage-collector thresholds for a process that allocates a lot and keeps a large window alive.

Why: every event allocates hundreds of objects (decoded dict tree, task, request/response
objects), and up to ``max_in_flight`` events are alive at once. With CPython's default gen-0
threshold (700) the collector ran ~330 times a second and took ~30 % of the processor's CPU
(bench/run.py, 60,000 events, GC time measured with ``gc.callbacks``: 2.6 s of 8.3 s CPU).
A gen-0 threshold of 20,000 cut that to a few collections a second (0.196 -> ~0.16 CPU s per
1,000 events), but the collections (every tenth one through the middle generation, where the
window's live events sit) still took 17 µs per event of 82 (bench/engine_path.py, 50,000 events, 5,000 in flight). At 100,000 it is
under 1 µs per event. The cost is bounded: at most ~100,000 extra young objects wait for a
collection (~10-20 MB; peak RSS is measured by ``./dev/bench --rss``).
"""

from __future__ import annotations

import gc

#: (gen0, gen1, gen2) thresholds; gen1/gen2 keep CPython's defaults' proportions.
THRESHOLDS = (100_000, 10, 10)


def tune_gc() -> None:
    """Raise the young-generation threshold (idempotent; never lowers a higher setting)."""
    current = gc.get_threshold()
    if current[0] and current[0] < THRESHOLDS[0]:
        gc.set_threshold(*THRESHOLDS)
