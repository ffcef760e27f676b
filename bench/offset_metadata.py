"""How large and how costly is the finished-offsets commit metadata?

For a partition with 5,000 events in flight (``max_in_flight_per_partition``'s default) in the
shapes that occur, prints the metadata size (characters, against Kafka's 4,096-byte default
``offset.metadata.max.bytes``), what did not fit, and the CPU time of one encode and one decode
(best of N). The engine encodes each partition whose set changed once per ``commit_interval_s``.

    python bench/offset_metadata.py
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from processor.engine.finished_offsets import decode, encode  # noqa: E402

BASE = 987_654_321


def shapes(in_flight: int, rnd: random.Random) -> dict[str, list[int]]:
    """Finished offsets above BASE (the lowest unfinished) with ``in_flight`` still unfinished."""
    span = 4 * in_flight
    slow_every = 300  # one busy user among 300 holding its waiters back
    return {
        # the case: one stuck event holds back the commit of 12,900 finished ones
        "one stuck, 12,900 behind": list(range(BASE + 1, BASE + 12_901)),
        # a slow key: every 300th offset waits, everything else finished, 5,000 waiting in all
        "slow key (1 in 300 waits)": [BASE + i for i in range(1, in_flight * slow_every) if i % slow_every],
        # a burst in flight: the 5,000 unfinished scattered over the top of a 20,000-offset span
        "5,000 scattered in 20,000": sorted(set(range(BASE + 1, BASE + span)) -
                                            set(rnd.sample(range(BASE + 1, BASE + span), in_flight))),
        # worst case: finished and unfinished alternate one by one
        "alternating": list(range(BASE + 2, BASE + 2 * in_flight, 2)),
        # random half finished over 10,000 offsets
        "random half of 10,000": sorted(rnd.sample(range(BASE + 1, BASE + 2 * in_flight + 1), in_flight)),
    }


def best_of(fn: Callable[[], object], n: int = 20) -> float:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    rnd = random.Random(13)
    print(f"{'shape':<28} {'finished':>9} {'chars':>6} {'left out':>9} {'encode ms':>10} {'decode ms':>10}")
    for name, finished in shapes(5000, rnd).items():
        enc = encode(BASE, finished)
        t_enc = best_of(lambda: encode(BASE, finished))
        t_dec = best_of(lambda: decode(enc.text, BASE))
        print(f"{name:<28} {len(finished):>9,} {len(enc.text):>6} {enc.left_out:>9,} "
              f"{t_enc * 1000:>10.2f} {t_dec * 1000:>10.2f}")


if __name__ == "__main__":
    main()
