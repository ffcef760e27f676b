"""The benchmark's moving parts as processes: broker, stub, processor, and /proc readings of them.

Each part runs in its own process so the processor's figures (CPU, RSS) are its own and the stub
does not compete with it inside one interpreter. CPU and memory come from ``/proc`` (Linux only)
rather than psutil, which the project does not depend on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from dev.processes import ProcessorProcess

ROOT = Path(__file__).resolve().parents[1]
_TICK = os.sysconf("SC_CLK_TCK")


# -- /proc ---------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process (all its threads), in seconds; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(parts[11]) + int(parts[12])) / _TICK


def runqueue_wait_s(pid: int) -> float:
    """Seconds the process's threads were runnable but waiting for a CPU (/proc/.../schedstat).

    On a shared machine this tells "slow because starved" apart from "slow because busy".
    """
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[1])
    except OSError:
        pass
    return total / 1e9


def status_kb(pid: int, field_name: str) -> int:
    """A ``VmHWM``/``VmRSS``-style field of /proc/PID/status in kB; 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list[int]:
    """Direct children (``--processes N`` runs its members as children of the command)."""
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
    except OSError:
        pass
    return out


def workers(pid: int) -> list[int]:
    """The processes doing the work: the members if the command has children, else itself."""
    return children(pid) or [pid]


# -- the stub --------------------------------------------------------------------------------------


@dataclass
class Stub:
    """``python -m dev.stub`` in its own process, and the control API calls the benchmark needs.

    ``lean`` (the default): its benchmark mode (``--lean``, dev/stub/lean.py), whose per-request
    CPU is a small share of the processor's; False: the full-featured stub (aiohttp, faults).
    """

    latency_ms: float
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    lean: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Stub:
        from dev.kafka_local import free_port

        self.port = free_port()
        cmd = [sys.executable, "-m", "dev.stub", "--port", str(self.port), "--latency-ms", str(self.latency_ms)]
        if self.lean:
            cmd.append("--lean")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        if "listening" not in line:
            raise RuntimeError(f"stub did not start: {line}")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc is not None else 0.0

    def _get(self, path: str) -> Any:
        import urllib.request

        with urllib.request.urlopen(self.url + path, timeout=120) as r:
            return orjson.loads(r.read())

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        import urllib.request

        req = urllib.request.Request(self.url + path, data=orjson.dumps(body or {}), method="POST",
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return orjson.loads(r.read())

    def reset(self) -> None:
        self._post("/_stub/reset")

    def configure(self, **changes: Any) -> None:
        self._post("/_stub/config", changes)

    def total(self) -> int:
        return int(self._get("/_stub/stats")["total"])

    def records(self, page: int = 20_000) -> list[tuple[float, str, int, dict[str, Any] | None]]:
        """Every recorded request as (arrival time, path, status, parsed body), in arrival order."""
        return list(self.iter_records(page))

    def iter_records(self, page: int = 20_000) -> Iterator[tuple[float, str, int, dict[str, Any] | None]]:
        """:meth:`records` one page at a time: a 300,000-event run need not hold them all at once."""
        since = 0
        while True:
            data = self._get(f"/_stub/requests?since={since}&limit={page}")
            batch = data["requests"]
            yield from ((r["time"], r["path"], r["status"], r["json"]) for r in batch)
            since += len(batch)
            if not batch or since >= data["total"]:
                return


# -- the broker ------------------------------------------------------------------------------------


@dataclass
class Broker:
    """A LocalKafka on free ports in a temp dir (removed afterwards), or an existing bootstrap."""

    bootstrap: str = ""
    _close: Callable[[], None] = field(default=lambda: None, repr=False)

    @classmethod
    def start(cls) -> Broker:
        from dev.kafka_local import LocalKafka, free_port

        data_dir = Path(tempfile.mkdtemp(prefix="vp-bench-kafka-"))
        kafka = LocalKafka(free_port(), data_dir, controller_port=free_port(), tie_to_parent=True)
        kafka.start()

        def close() -> None:
            kafka.stop()
            shutil.rmtree(data_dir, ignore_errors=True)

        return cls(kafka.bootstrap, close)

    def close(self) -> None:
        self._close()


# -- the processor ---------------------------------------------------------------------------------


def write_config(path: Path, bootstrap: str, stub_url: str, topic: str, group: str, engine: dict[str, Any],
                 consumer: dict[str, Any] | None = None) -> Path:
    """A processor config for one run: the five presets, its own group, retry and DLQ topics."""
    doc = {
        "destination": {"application_id": "stub-application-id", "secret_key": "stub-secret-key",
                        "custom_url": stub_url},
        "kafka": {"bootstrap_servers": bootstrap, "source_topic": topic, "group_id": group,
                  "retry_topic": f"{topic}.retry", "dead_letter_topic": f"{topic}.dlq",
                  "consumer": consumer or {}},
        "engine": {"retry_delays_s": [2.0], "commit_interval_s": 0.5, **engine},
        "ops": {"http_port": 0, "log_format": "text", "log_level": "WARNING"},
    }
    path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))  # JSON is YAML
    return path


@dataclass(frozen=True)
class ProcessorRoot:
    """A checkout whose processor the benchmark runs (``--processor-root``), and its row label."""

    path: Path
    label: str

    @classmethod
    def of(cls, path: str | Path) -> ProcessorRoot:
        """Resolve ``path``; bootstrap it (its ``./dev/bootstrap``) when it has no ``.venv`` yet.

        The label is the directory name and the commit (``before16@6427c72``; ``+`` when the
        tracked files differ from it). ValueError if it is not a checkout of this project.
        """
        # relative to where ./dev/bench was started (it cd's to its checkout before running this)
        root = (Path(os.environ.get("VP_BENCH_CWD", ".")) / path).resolve()
        if not (root / "processor").is_dir() or not (root / "dev" / "bootstrap").is_file():
            raise ValueError(f"--processor-root {path}: not a voucherify-processor checkout (no processor/ or dev/bootstrap)")
        if not (root / ".venv" / "bin" / "python").exists():
            subprocess.run([str(root / "dev" / "bootstrap")], cwd=root, check=True)
        git = ["git", "-C", str(root)]
        head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run([*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return cls(root, f"{root.name}@{head or '?'}{'+' if dirty else ''}")

    @property
    def is_this(self) -> bool:
        return self.path == ROOT


class Processor(ProcessorProcess):
    """``python -m processor run --config ...`` (one command, N members), with /proc readings of them.

    ``root``: another checkout's processor (its own ``.venv``); default this checkout's.
    """

    def __init__(self, config: Path, processes: int = 1, env: dict[str, str] | None = None,
                 root: Path | None = None) -> None:
        super().__init__(config, config.with_suffix(".log"), env, processes=processes,
                         root=None if root is None or root == ROOT else root)

    def worker_pids(self) -> list[int]:
        return workers(self.pid) if self.processes > 1 else [self.pid]

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in self.worker_pids())

    def runqueue_wait(self) -> float:
        return sum(runqueue_wait_s(p) for p in self.worker_pids())

    def hwm_kb(self) -> list[int]:
        """Peak RSS (VmHWM) of every member."""
        return [status_kb(p, "VmHWM") for p in self.worker_pids()]

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (drain and commit), then wait (SIGKILL after ``timeout``); returns the exit code."""
        return self.terminate(timeout, check=False)


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
