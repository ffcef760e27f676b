"""Find a Java runtime able to run a Kafka 4.x broker (Java 17 or newer)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .errors import LocalKafkaError

MIN_JAVA = 17


def find_java() -> str:
    """Path of ``java``: ``$JAVA_HOME/bin/java`` if set, else the one on PATH.

    Raises :class:`LocalKafkaError` when there is none or it is older than Java 17,
    because the broker would otherwise die with an unhelpful class-version error.
    """
    home = os.environ.get("JAVA_HOME")
    candidate = str(Path(home) / "bin" / "java") if home else None
    if not candidate or not os.access(candidate, os.X_OK):
        candidate = shutil.which("java")
    if candidate is None:
        raise LocalKafkaError(
            f"no Java runtime found (set JAVA_HOME or put java on PATH); "
            f"Kafka 4.x needs Java {MIN_JAVA}+ (e.g. apt-get install openjdk-17-jre-headless)"
        )
    major = java_major_version(candidate)
    if major is not None and major < MIN_JAVA:
        raise LocalKafkaError(f"{candidate} is Java {major}; Kafka 4.x needs Java {MIN_JAVA}+")
    return candidate


def java_major_version(java: str) -> int | None:
    """The major version ``java -version`` reports, or None if it cannot be read."""
    try:
        out = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL
        ).stderr
    except (OSError, subprocess.TimeoutExpired):
        return None
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major  # "1.8.0" means Java 8
