"""Fetch the Apache Kafka broker jars from Maven Central with Maven.

Why Maven and not the release tarball: only package registries are reachable from
our machines and CI, and Maven Central carries every jar the broker needs
(``org.apache.kafka:kafka_2.13`` and its runtime closure). The jars land in a
version-keyed cache directory; a ``.complete`` stamp written last makes a second
fetch a no-op without asking Maven anything.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import LocalKafkaError

#: Newest Kafka 4.x on Maven Central when this was written (runs on Java 17).
DEFAULT_KAFKA_VERSION = "4.4.0"

REPO_ROOT = Path(__file__).resolve().parents[2]
POM = Path(__file__).with_name("pom.xml")
_STAMP = ".complete"


def default_cache_root() -> Path:
    """Where jars are cached: ``$LOCAL_KAFKA_CACHE`` or ``<repo>/.cache/kafka`` (git-ignored)."""
    env = os.environ.get("LOCAL_KAFKA_CACHE")
    return Path(env) if env else REPO_ROOT / ".cache" / "kafka"


def kafka_version() -> str:
    """The Kafka version to run: ``$LOCAL_KAFKA_VERSION`` or :data:`DEFAULT_KAFKA_VERSION`."""
    return os.environ.get("LOCAL_KAFKA_VERSION", DEFAULT_KAFKA_VERSION)


def libs_dir(version: str | None = None, cache_root: Path | None = None) -> Path:
    """The directory holding every jar of one Kafka version."""
    return (cache_root or default_cache_root()) / (version or kafka_version()) / "libs"


def is_fetched(version: str | None = None, cache_root: Path | None = None) -> bool:
    return (libs_dir(version, cache_root) / _STAMP).exists()


def fetch(
    version: str | None = None,
    cache_root: Path | None = None,
    *,
    maven_args: list[str] | None = None,
    quiet: bool = True,
) -> Path:
    """Make sure the jars of ``version`` are in the cache; return the libs directory.

    Copies into a temporary sibling directory and renames it into place, so an
    interrupted fetch never leaves a half-filled libs directory that looks complete.
    ``maven_args`` is passed through (e.g. ``-Dmaven.repo.local=/tmp/m2``).
    """
    version = version or kafka_version()
    target = libs_dir(version, cache_root)
    if (target / _STAMP).exists():
        return target
    with _lock(target.parent / ".fetch.lock"):  # two test sessions on a fresh checkout
        if (target / _STAMP).exists():
            return target
        return _fetch_locked(version, target, maven_args, quiet)


@contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def _fetch_locked(version: str, target: Path, maven_args: list[str] | None, quiet: bool) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError(
            "Maven (mvn) is not on PATH; it is needed once to fetch the Kafka jars "
            "(apt-get install maven)."
        )
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    cmd = [
        mvn,
        "-B",
        "--no-transfer-progress",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        f"-Dkafka.version={version}",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
        *(maven_args or []),
        "dependency:copy-dependencies",
    ]
    if quiet:
        cmd.insert(1, "-q")
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=quiet, text=True)
    if proc.returncode != 0:
        detail = ((proc.stdout or "") + (proc.stderr or ""))[-4000:] if quiet else ""
        raise LocalKafkaError(
            f"fetching Kafka {version} jars with Maven failed (exit {proc.returncode}).\n{detail}"
        )
    if not any(staging.glob("kafka_2.13-*.jar")):
        raise LocalKafkaError(f"Maven finished but no kafka_2.13 jar is in {staging}")
    (staging / _STAMP).write_text(version + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target
