"""The peer in the benchmark: Confluent Parallel Consumer doing the processor's job (bench/peer/).

``./dev/bench --peer`` builds the Java program with Maven (once; cached in ``.cache/peer/``, rebuilt
only when ``bench/peer/pom.xml`` or ``bench/peer/src/`` change) and runs it on the same topic,
backlog and stub as the processor, each run in a fresh consumer group. It is measured like the
processor: requests at the stub, CPU / run-queue wait / peak RSS from ``/proc`` of the ``java``
process (all its threads: JIT, GC, Kafka client, Vert.x), loss/duplicates/order from the stub's
records. On SIGTERM it prints ``{"ok": N, "failed": N, "skipped": N}`` (its own count of answers).

Without ``java`` or ``mvn`` on PATH (or when the build fails, e.g. no access to Maven Central for
the first build) the peer is skipped with one message saying why; the processor runs go on.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import orjson

from bench.procs import cpu_seconds, runqueue_wait_s, status_kb
from dev.processes import sigterm

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "bench" / "peer"
CACHE = ROOT / ".cache" / "peer"
MAIN_CLASS = "anchor.PcAnchor"
LABEL = "peer: Parallel Consumer 0.5.3.3"


class PeerUnavailable(Exception):
    """The peer cannot run here; the message says why (shown once, the processor runs go on)."""


def missing_tools() -> str | None:
    """Why the peer cannot be built or run here (``java``/``mvn`` missing), or None."""
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if not missing:
        return None
    return (f"{' and '.join(missing)} not on PATH: the peer (bench/peer/, Java 17 + Maven) is skipped; "
            f"install a JDK 17+ and Maven to compare against Parallel Consumer")


def _sources(source: Path) -> list[Path]:
    return [source / "pom.xml", *sorted(p for p in (source / "src").rglob("*") if p.is_file())]


def source_digest(source: Path = SOURCE) -> str:
    """sha256 over the build inputs (``pom.xml`` and ``src/``): names and contents."""
    h = hashlib.sha256()
    for path in _sources(source):
        h.update(str(path.relative_to(source)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def build(source: Path = SOURCE, cache: Path = CACHE, log: Path | None = None) -> Path:
    """The built program's ``target/`` (``classes/`` + ``lib/``), building it only when needed.

    Raises PeerUnavailable when Java or Maven is missing or the build fails (the tail of Maven's
    output in the message).
    """
    reason = missing_tools()
    if reason is not None:
        raise PeerUnavailable(reason)
    digest = source_digest(source)
    work = cache / "build"
    target = work / "target"
    stamp = cache / "stamp"
    if stamp.is_file() and stamp.read_text() == digest and (target / "classes").is_dir() and (target / "lib").is_dir():
        return target
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    shutil.copy2(source / "pom.xml", work / "pom.xml")
    shutil.copytree(source / "src", work / "src")
    cmd = ["mvn", "-q", "-B", "-f", str(work / "pom.xml"), "package"]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    except subprocess.TimeoutExpired as exc:
        raise PeerUnavailable("the peer's Maven build took more than 20 minutes; skipped") from exc
    if log is not None:
        log.write_text(done.stdout + done.stderr)
    if done.returncode != 0 or not (target / "classes").is_dir():
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise PeerUnavailable(f"the peer's Maven build failed (exit {done.returncode}); skipped:\n{tail}")
    stamp.write_text(digest)
    return target


class Peer:
    """``java -cp ... anchor.PcAnchor`` for one run, with the same /proc readings as the processor."""

    def __init__(self, target: Path, *, bootstrap: str, topic: str, group: str, url: str, log_path: Path,
                 application_id: str, secret_key: str, args: dict[str, str] | None = None,
                 java_opts: list[str] | None = None) -> None:
        classpath = f"{target / 'classes'}:{target / 'lib'}/*"
        self.cmd = ["java", *(java_opts or []), "-cp", classpath, MAIN_CLASS, "--bootstrap", bootstrap,
                    "--topic", topic, "--group", group, "--url", url, "--app-id", application_id,
                    "--secret", secret_key]
        for key, value in (args or {}).items():
            self.cmd += [f"--{key}", value]
        self.log_path = log_path
        self.out_path = log_path.with_suffix(".out")
        self.proc: subprocess.Popen[bytes] | None = None
        self.processes = 1

    def start(self) -> Peer:
        with open(self.log_path, "wb") as err, open(self.out_path, "wb") as out:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def runqueue_wait(self) -> float:
        return runqueue_wait_s(self.pid)

    def hwm_kb(self) -> list[int]:
        return [status_kb(self.pid, "VmHWM")]

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (its shutdown hook closes Parallel Consumer and prints its counts); SIGKILL after ``timeout``."""
        assert self.proc is not None
        return sigterm(self.proc, timeout)[0]

    def counts(self) -> dict[str, int] | None:
        """``{"ok", "failed", "skipped"}`` as printed on SIGTERM, or None if it printed none."""
        try:
            lines = self.out_path.read_bytes().splitlines()
        except OSError:
            return None
        for line in reversed(lines):
            if line.startswith(b"{"):
                try:
                    return orjson.loads(line)
                except orjson.JSONDecodeError:
                    return None
        return None

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""
