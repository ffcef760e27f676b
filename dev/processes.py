"""``python -m processor run --config FILE`` as a real child process, for the benchmark and the
reliability suite: start, SIGTERM (drain, commit, leave the group), SIGKILL, and its log."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def sigterm(proc: subprocess.Popen[bytes], timeout: float) -> tuple[int, bool]:
    """SIGTERM ``proc`` (if still running) and wait; SIGKILL after ``timeout``: (exit code, killed)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout), False
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait(10), True


class ProcessorProcess:
    """The processor as a child process (``processes`` > 1: one command running N members).

    Its stdout and stderr go to ``log_path``, appended to, so a restarted processor keeps one log.
    ``root``: run the processor of another checkout (its ``.venv``, its ``processor/``), e.g. the
    benchmark's before/after runs (``./dev/bench --processor-root``); default this checkout with
    the running interpreter.
    """

    def __init__(self, config_path: Path | str, log_path: Path, env: dict[str, str] | None = None,
                 *, processes: int = 1, root: Path | None = None) -> None:
        self.config_path = config_path
        self.log_path = log_path
        self.processes = processes
        self.root = root or ROOT
        self.python = sys.executable if root is None else str(root / ".venv" / "bin" / "python")
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> "ProcessorProcess":
        cmd = [self.python, "-m", "processor", "run", "--config", str(self.config_path)]
        if self.processes > 1:
            cmd += ["--processes", str(self.processes)]
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        try:
            self.proc = subprocess.Popen(cmd, cwd=self.root, env=self.env, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        finally:
            log.close()
        self.started_at = time.monotonic()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no drain, no commit, no goodbye to the group."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(30)

    def terminate(self, timeout: float = 60.0, *, check: bool = True) -> int:
        """SIGTERM: drain, commit, leave the group; returns the exit code.

        If it has not stopped within ``timeout`` it is killed; then ``check`` raises an
        AssertionError, otherwise the killed process's exit code is returned.
        """
        assert self.proc is not None
        code, killed = sigterm(self.proc, timeout)
        if killed and check:
            raise AssertionError(f"processor did not stop within {timeout}s after SIGTERM")
        return code

    def ensure_stopped(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(10)

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, n: int = 20) -> str:
        return "\n".join(self.log_text().splitlines()[-n:])

    def wait_for_log(self, pattern: str, timeout: float) -> None:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if rx.search(self.log_text()):
                return
            if not self.alive:
                raise AssertionError(f"processor exited ({self.proc and self.proc.returncode}):\n"
                                     f"{self.log_text()[-3000:]}")
            time.sleep(0.1)
        raise AssertionError(f"processor log never matched {pattern!r} in {timeout}s:\n{self.log_text()[-3000:]}")
