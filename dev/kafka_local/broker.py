"""LocalKafka: one single-node KRaft broker as a background Java process.

Everything about one broker lives in its data directory::

    <data_dir>/server.properties   regenerated on every start
    <data_dir>/log4j2.xml
    <data_dir>/kraft/              the log dir (formatted once)
    <data_dir>/state.json          cluster id, controller port, SCRAM user (what formatting fixed)
    <data_dir>/kafka.pid           present while the broker runs
    <data_dir>/kafka.log           broker stdout+stderr of the latest start

so ``dev/kafka start`` in one shell and ``dev/kafka stop`` in another find the
same broker, and a pytest session's broker (in a temp dir) never meets a
developer's one.
"""

from __future__ import annotations

import base64
import ctypes
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import asdict
from pathlib import Path

from . import fetch as fetching
from .config import BrokerLayout, ScramUser, log4j2_xml, server_properties
from .errors import LocalKafkaError
from .java import find_java
from .net import LOOPBACK, broker_answers, free_port, port_is_free

MAIN_CLASS = "kafka.Kafka"
STORAGE_TOOL = "kafka.tools.StorageTool"


class LocalKafka:
    """A local Apache Kafka broker+controller bound to 127.0.0.1.

    >>> kafka = LocalKafka(port=19092, data_dir=Path("/tmp/k")).start()
    >>> kafka.bootstrap
    '127.0.0.1:19092'
    >>> kafka.stop()

    ``sasl=True`` adds a SASL_PLAINTEXT listener (SCRAM-SHA-256) on ``sasl_port``
    (default ``port + 1``) with :attr:`scram_user` created when the log dir is formatted.
    ``tie_to_parent=True`` makes the kernel SIGTERM the broker if the starting
    process dies, so a killed test run leaves no orphan broker behind.
    """

    def __init__(
        self,
        port: int = 9092,
        data_dir: Path | str | None = None,
        *,
        controller_port: int | None = None,
        sasl: bool = False,
        sasl_port: int | None = None,
        scram_user: ScramUser = ScramUser(),
        version: str | None = None,
        cache_root: Path | None = None,
        heap: str = "512m",
        start_timeout: float = 90.0,
        tie_to_parent: bool = False,
    ) -> None:
        self.port = port
        self.data_dir = Path(data_dir) if data_dir else fetching.default_cache_root() / "data" / str(port)
        self.data_dir = self.data_dir.resolve()
        self._controller_port = controller_port
        self.sasl = sasl
        self.sasl_port = (sasl_port or port + 1) if sasl else None
        self.scram_user = scram_user
        self.version = version or fetching.kafka_version()
        self.cache_root = cache_root
        self.heap = heap
        self.start_timeout = start_timeout
        self.tie_to_parent = tie_to_parent
        self._proc: subprocess.Popen[bytes] | None = None

    # ----------------------------------------------------------------- paths
    @property
    def bootstrap(self) -> str:
        """``bootstrap.servers`` for the PLAINTEXT listener."""
        return f"{LOOPBACK}:{self.port}"

    @property
    def sasl_bootstrap(self) -> str | None:
        """``bootstrap.servers`` for the SASL_PLAINTEXT/SCRAM-SHA-256 listener, if enabled."""
        return None if self.sasl_port is None else f"{LOOPBACK}:{self.sasl_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def pid_path(self) -> Path:
        return self.data_dir / "kafka.pid"

    @property
    def _props_path(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def _state_path(self) -> Path:
        return self.data_dir / "state.json"

    @property
    def _log_dir(self) -> Path:
        return self.data_dir / "kraft"

    # ---------------------------------------------------------------- status
    def pid(self) -> int | None:
        """Pid of this data dir's running broker, or None (stale pid files are ignored)."""
        try:
            pid = int(self.pid_path.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if _is_our_broker(pid, self._props_path) else None

    def is_running(self) -> bool:
        return self.pid() is not None

    def answers(self, timeout: float = 2.0) -> bool:
        return broker_answers(self.bootstrap, timeout)

    def tail_log(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log file)"
        return "\n".join(text.splitlines()[-lines:])

    # ----------------------------------------------------------------- fetch
    def fetch(self, maven_args: list[str] | None = None) -> Path:
        """Download the jars into the cache if they are not there yet; return the libs dir."""
        return fetching.fetch(self.version, self.cache_root, maven_args=maven_args)

    # ----------------------------------------------------------------- start
    def start(self) -> LocalKafka:
        """Start the broker and wait until it answers a metadata request.

        Idempotent: if this data dir's broker already runs, only waits for it to answer.
        """
        if self.is_running():
            self._wait_until_ready(self.pid())
            return self
        java = find_java()
        libs = self.fetch()
        state = self._load_state()
        self._check_ports(state)
        layout = BrokerLayout(LOOPBACK, self.port, state["controller_port"], self.sasl_port, self._log_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._props_path.write_text(server_properties(layout))
        (self.data_dir / "log4j2.xml").write_text(log4j2_xml())
        if not (self._log_dir / "meta.properties").exists():
            self._format(java, libs, state)
        self._save_state(state)
        self._launch(java, libs)
        self._wait_until_ready(self._proc.pid if self._proc else None)
        return self

    def _load_state(self) -> dict:
        """What formatting fixed (cluster id, controller port, SCRAM user), or fresh choices."""
        formatted = (self._log_dir / "meta.properties").exists()
        state: dict = {}
        if formatted and self._state_path.exists():
            state = json.loads(self._state_path.read_text())
        if formatted and self.sasl and state.get("scram_user") != asdict(self.scram_user):
            raise LocalKafkaError(
                f"{self.data_dir} was formatted without this SCRAM user; "
                "SCRAM users are created at format time: stop the broker and remove the "
                "data dir (dev/kafka start --reset) to re-format with --sasl"
            )
        if formatted and not state:
            raise LocalKafkaError(f"{self._log_dir} is formatted but {self._state_path} is missing; use --reset")
        state.setdefault("cluster_id", _new_cluster_id())
        state.setdefault("version", self.version)
        state.setdefault("scram_user", asdict(self.scram_user) if self.sasl else None)
        if self._controller_port is not None:
            state["controller_port"] = self._controller_port
        state.setdefault("controller_port", free_port())
        return state

    def _save_state(self, state: dict) -> None:
        self._state_path.write_text(json.dumps(state, indent=2) + "\n")

    def _check_ports(self, state: dict) -> None:
        wanted = {"broker": self.port, "controller": state["controller_port"]}
        if self.sasl_port is not None:
            wanted["SASL"] = self.sasl_port
        for role, port in wanted.items():
            if not port_is_free(port):
                raise LocalKafkaError(
                    f"{role} port {LOOPBACK}:{port} is already in use by another process "
                    f"(not the broker of {self.data_dir}); pick another with --port "
                    "or stop whatever listens there (ss -ltnp)"
                )

    def _format(self, java: str, libs: Path, state: dict) -> None:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            java, "-Xmx256m", "-cp", f"{libs}/*",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.xml'}",
            STORAGE_TOOL, "format", "--config", str(self._props_path),
            # one argument with '=': an id after a separate option word that starts with '-' (one
            # saved in state.json before ids were drawn again) is read by argparse4j as an option
            f"--cluster-id={state['cluster_id']}",
        ]  # fmt: skip
        if self.sasl:
            cmd += ["--add-scram", self.scram_user.format_arg()]
        proc = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if proc.returncode != 0:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            raise LocalKafkaError(f"formatting {self._log_dir} failed:\n{proc.stdout}{proc.stderr}")

    def _launch(self, java: str, libs: Path) -> None:
        cmd = [
            java, f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.xml'}",
            f"-Dkafka.logs.dir={self.data_dir}",
            "-cp", f"{libs}/*", MAIN_CLASS, str(self._props_path),
        ]  # fmt: skip
        with open(self.log_path, "wb") as log:
            self._proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # survives the shell that ran `dev/kafka start`
                preexec_fn=_die_with_parent if self.tie_to_parent else None,
            )
        self.pid_path.write_text(f"{self._proc.pid}\n")

    def _wait_until_ready(self, pid: int | None) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if pid is None or not _alive(pid):
                self.pid_path.unlink(missing_ok=True)
                raise LocalKafkaError(
                    f"Kafka exited during start-up; last lines of {self.log_path}:\n{self.tail_log()}"
                )
            if self.answers(timeout=1.0):
                return
            time.sleep(0.3)
        self.stop()
        raise LocalKafkaError(
            f"Kafka did not answer on {self.bootstrap} within {self.start_timeout:.0f}s "
            f"(stopped it); last lines of {self.log_path}:\n{self.tail_log()}"
        )

    # ------------------------------------------------------------------ stop
    def stop(self, timeout: float = 30.0) -> bool:
        """Stop the broker: SIGTERM, wait up to ``timeout`` s, then SIGKILL.

        Returns False if it was not running (which is not an error).
        """
        pid = self.pid()
        if pid is None:
            self.pid_path.unlink(missing_ok=True)
            return False
        _signal(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            _signal(pid, signal.SIGKILL)
            self._wait_exit(pid, 10.0)
        self.pid_path.unlink(missing_ok=True)
        return True

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout)
                return True
            except subprocess.TimeoutExpired:
                return False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                return True
            time.sleep(0.1)
        return False

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _new_cluster_id() -> str:
    """A Kafka ``Uuid`` string: 16 random bytes, URL-safe base64 without padding.

    Never one starting with ``-`` (1 in 64 do): ``kafka-storage format --cluster-id -x...`` reads it
    as an option and fails, which is also why Kafka's own ``Uuid.randomUuid()`` draws again then.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _is_our_broker(pid: int, props: Path) -> bool:
    """Guard against pid reuse: the process must be kafka.Kafka run on our server.properties."""
    if not _alive(pid):
        return False
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return MAIN_CLASS.encode() in args and str(props).encode() in args


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _die_with_parent() -> None:
    """In the child, before exec: ask Linux to SIGTERM us when our parent dies."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
