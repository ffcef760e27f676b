"""Sampling profile of the processor subprocess under load (py-spy), summarised as top entries.

py-spy attaches to the running process (no code change, low overhead with ``--nonblocking``)
and writes collapsed stacks; :func:`summarise` turns them into the two lists worth reading:
where the samples *are* (self time, the leaf frame) and which functions they are *under*
(inclusive time), as a share of samples. ``--gil`` samples only the thread holding the GIL, so
threads parked in librdkafka's C waits (consumer, producer poller) do not count as busy.

    python -m bench.profile summarise bench/results/profile.txt   # re-read a saved profile
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path


def py_spy() -> str | None:
    exe = Path(sys.executable).with_name("py-spy")
    return str(exe) if exe.exists() else shutil.which("py-spy")


def start(pid: int, out: Path, seconds: float, rate: int = 200) -> subprocess.Popen[bytes] | None:
    """Record ``pid`` for ``seconds`` into ``out`` (collapsed stacks); None if py-spy is missing."""
    exe = py_spy()
    if exe is None:
        print("[bench] py-spy not installed (pip install py-spy): no profile", flush=True)
        return None
    cmd = [exe, "record", "--pid", str(pid), "--format", "raw", "--output", str(out), "--rate", str(rate),
           "--duration", str(int(seconds)), "--nonblocking", "--threads", "--gil"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"; keep function + file, drop line
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0]
    short = "/".join(file.split("/")[-2:])
    return f"{name} ({short})"


def summarise(path: Path, top: int = 15) -> dict[str, list[tuple[str, float]]]:
    """Top self-time and inclusive-time frames as (name, % of samples), idle samples excluded."""
    self_t: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = [_frame_name(f) for f in stack.split(";")[1:]]  # first entry is the thread
        if not frames:
            continue
        total += n
        self_t[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return {"self": [], "inclusive": [], "samples": []}
    # the entry chain (runpy, cli, uvloop.run, ...) is under every loop sample: not informative
    root = max(incl.values())
    incl = Counter({k: v for k, v in incl.items() if v < root})
    pct = lambda c: [(k, round(100 * v / total, 1)) for k, v in c.most_common(top)]  # noqa: E731
    return {"self": pct(self_t), "inclusive": pct(incl), "samples": [("total", float(total))]}


def render(summary: dict[str, list[tuple[str, float]]]) -> str:
    lines = ["top self time (% of non-idle samples):"]
    lines += [f"  {p:5.1f}%  {name}" for name, p in summary["self"]]
    lines.append("top inclusive time:")
    lines += [f"  {p:5.1f}%  {name}" for name, p in summary["inclusive"]]
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "summarise":
        print(render(summarise(Path(sys.argv[2]))))
    else:
        print(__doc__)
