"""The benchmark's peer (bench/peer.py): skipped with one clear message without Java or Maven, built
once and rebuilt only when its sources change."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from bench import peer


def _hide(monkeypatch: pytest.MonkeyPatch, *tools: str) -> None:
    real = shutil.which
    monkeypatch.setattr(peer.shutil, "which", lambda name, *a, **kw: None if name in tools else real(name, *a, **kw))


def test_peer_is_skipped_with_a_clear_message_when_java_is_absent(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "java")
    with pytest.raises(peer.PeerUnavailable) as err:
        peer.build()
    message = str(err.value)
    assert message.startswith("java not on PATH: the peer (bench/peer/, Java 17 + Maven) is skipped")
    assert "\n" not in message


def test_both_missing_tools_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _hide(monkeypatch, "java", "mvn")
    assert (peer.missing_tools() or "").startswith("java and mvn not on PATH")


def test_the_copied_program_is_in_the_repository() -> None:
    assert (peer.SOURCE / "pom.xml").is_file()
    assert (peer.SOURCE / "src/main/java/anchor/PcAnchor.java").is_file()
    assert "shared/anchors/parallel-consumer" in (peer.SOURCE / "NOTE.md").read_text()
    assert not (peer.SOURCE / "target").exists()


def _fake_tools(tmp_path: Path) -> Path:
    """``java`` and ``mvn`` stand-ins: mvn counts its calls and makes target/classes and target/lib."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "java").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "mvn").write_text(
        '#!/bin/sh\necho built >> "$MVN_CALLS"\n'
        'pom="$4"; dir="$(dirname "$pom")"; mkdir -p "$dir/target/classes" "$dir/target/lib"\n')
    for tool in ("java", "mvn"):
        (bin_dir / tool).chmod(stat.S_IRWXU)
    return bin_dir


def test_build_is_cached_and_redone_only_when_sources_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "peer"
    shutil.copytree(peer.SOURCE, source)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{_fake_tools(tmp_path)}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MVN_CALLS", str(calls))
    cache = tmp_path / "cache"

    target = peer.build(source, cache)
    assert (target / "classes").is_dir()
    assert peer.build(source, cache) == target
    assert calls.read_text().count("built") == 1

    java = source / "src/main/java/anchor/PcAnchor.java"
    java.write_text(java.read_text() + "\n// changed\n")
    peer.build(source, cache)
    assert calls.read_text().count("built") == 2


def test_a_failed_build_skips_the_peer_with_maven_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = _fake_tools(tmp_path)
    (bin_dir / "mvn").write_text("#!/bin/sh\necho 'Could not resolve dependencies' >&2\nexit 1\n")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(peer.PeerUnavailable, match=r"(?s)Maven build failed \(exit 1\); skipped.*Could not resolve"):
        peer.build(peer.SOURCE, tmp_path / "cache")


def test_counts_are_read_from_what_it_printed_on_sigterm(tmp_path: Path) -> None:
    p = peer.Peer(tmp_path, bootstrap="b:1", topic="t", group="g", url="http://u", log_path=tmp_path / "p.log",
                  application_id="a", secret_key="s", args={"pool": "256"}, java_opts=["-Xmx1g"])
    assert p.cmd[:2] == ["java", "-Xmx1g"] and p.cmd[-2:] == ["--pool", "256"]
    assert p.counts() is None
    p.out_path.write_bytes(b'noise\n{"ok": 9, "failed": 1, "skipped": 0}\n')
    assert p.counts() == {"ok": 9, "failed": 1, "skipped": 0}


def test_without_java_the_bench_says_it_needs_a_broker_instead_of_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A newcomer's finding: with Java hidden, ``./dev/bench --peer`` printed the peer's clean skip
    line, then a LocalKafkaError traceback: the throw-away broker is Apache Kafka, Java too."""
    from bench import run
    from dev.kafka_local.errors import LocalKafkaError

    def no_java() -> None:
        raise LocalKafkaError("no Java runtime found (set JAVA_HOME or put java on PATH)")

    monkeypatch.setattr(run.Broker, "start", staticmethod(no_java))
    _hide(monkeypatch, "java")
    assert run.main(["--events", "10", "--peer", "--skip-baselines"]) == 2
    err = capsys.readouterr().err
    assert "cannot start the benchmark's own Kafka broker: no Java runtime found" in err
    assert "--bootstrap HOST:PORT" in err and "Traceback" not in err
