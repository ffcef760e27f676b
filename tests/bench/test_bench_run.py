"""``./dev/bench``'s comparison options: labelled rows per processor tree, ``--repeat`` rotations,
the peer paired with each processor run, and the peer skipped without Java. The figures come from
the benchmark itself; these tests check only what it reports, never how fast anything was."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from bench import peer, run
from bench.procs import ROOT, ProcessorRoot


def _run(label: str, rep: int, kind: str, events_per_s: float, cpu: float) -> dict:
    return {"label": label, "rep": rep, "kind": kind, "peak_rss_mb": [200.0],
            "steady": {"events_per_s": events_per_s, "cpu_s_per_1k": cpu, "stub_cpu_utilisation": 0.1,
                       "stub_cpu_s_per_1k": 0.02, "runqueue_wait_per_s": 0.01},
            "check": {"lost": 0, "duplicates": 0, "order_violations": 0}}


def test_each_processor_run_is_paired_with_the_peer_of_its_rotation() -> None:
    runs = [_run("before", 1, "processor", 5000, 0.15), _run("after", 1, "processor", 8000, 0.07),
            _run(peer.LABEL, 1, "peer", 8000, 0.10),
            _run("before", 2, "processor", 4000, 0.16), {"label": "after", "rep": 2, "kind": "processor",
                                                          "error": "RuntimeError: boom"},
            _run(peer.LABEL, 2, "peer", 5000, 0.08)]
    pairs = run.pair_with_peer(runs)
    assert [(p["label"], p["rep"], round(p["events_per_s_ratio"], 3), round(p["cpu_per_1k_ratio"], 3))
            for p in pairs] == [("before", 1, 0.625, 1.5), ("after", 1, 1.0, 0.7), ("before", 2, 0.8, 2.0)]
    table = "\n".join(run.render_runs(runs, pairs))
    assert "x0.62, x1.50" in table and "x1.00, x0.70" in table
    assert "FAILED: RuntimeError: boom" in table


def test_repeated_runs_are_summed_up_by_their_medians() -> None:
    runs = [_run("after", 1, "processor", 9000, 0.09), _run(peer.LABEL, 1, "peer", 9000, 0.15),
            _run("after", 2, "processor", 11000, 0.06), _run(peer.LABEL, 2, "peer", 10000, 0.12),
            _run("after", 3, "processor", 10000, 0.07), _run(peer.LABEL, 3, "peer", 8000, 0.14),
            _run("once", 1, "processor", 5000, 0.2)]
    pairs = run.pair_with_peer(runs)
    [after, theirs] = run.medians(runs, pairs)
    assert (after["label"], after["runs"], after["events_per_s"], after["cpu_s_per_1k"]) == ("after", 3, 10000, 0.07)
    assert after["events_per_s_range"] == [9000, 11000] and after["cpu_s_per_1k_range"] == [0.06, 0.09]
    assert round(after["cpu_per_1k_ratio"], 3) == 0.5 and round(after["events_per_s_ratio"], 3) == 1.1
    assert theirs["label"] == peer.LABEL and "cpu_per_1k_ratio" not in theirs
    table = "\n".join(run.render_runs(runs, pairs))
    assert "medians over the rotations" in table
    assert "CPU s/1k 0.070 (0.060-0.090)  vs peer: x1.10, x0.50" in table


def test_processor_root_is_labelled_by_directory_and_commit() -> None:
    root = ProcessorRoot.of(ROOT)
    assert root.is_this
    assert root.label.startswith(f"{ROOT.name}@")


def test_a_directory_that_is_not_a_checkout_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a voucherify-processor checkout"):
        ProcessorRoot.of(tmp_path)


@pytest.mark.integration
def test_bench_runs_ours_and_skips_the_peer_when_java_is_absent(
        kafka_bootstrap: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = shutil.which
    monkeypatch.setattr(peer.shutil, "which", lambda name, *a, **kw: None if name == "java" else real(name, *a, **kw))
    out = tmp_path / "r.json"
    assert run.main(["--events", "300", "--skip-baselines", "--peer", "--processor-root", str(ROOT),
                     "--bootstrap", kafka_bootstrap, "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "--peer: java not on PATH: the peer (bench/peer/, Java 17 + Maven) is skipped" in printed
    result = orjson.loads(out.read_bytes())
    assert result["params"]["peer"]["skipped"].startswith("java not on PATH")
    [ours] = result["runs"]
    assert ours["label"] == ProcessorRoot.of(ROOT).label and ours["kind"] == "processor"
    assert (ours["check"]["lost"], ours["check"]["duplicates"], ours["check"]["order_violations"]) == (0, 0, 0)
    assert ours["check"]["requests"] == 300
    assert "stub_cpu_s_per_1k" in ours["steady"]


@pytest.mark.integration
def test_the_peer_runs_on_the_same_topic_and_is_checked_like_ours(
        kafka_bootstrap: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        peer.build()
    except peer.PeerUnavailable as exc:
        pytest.skip(str(exc).splitlines()[0])
    out = tmp_path / "r.json"
    assert run.main(["--events", "300", "--skip-baselines", "--peer", "--bootstrap", kafka_bootstrap,
                     "--json", str(out)]) == 0
    result = orjson.loads(out.read_bytes())
    ours, theirs = result["runs"]
    assert (ours["kind"], theirs["kind"], theirs["label"]) == ("processor", "peer", peer.LABEL)
    assert theirs["check"]["requests"] == 300
    assert (theirs["check"]["lost"], theirs["check"]["duplicates"], theirs["check"]["order_violations"]) == (0, 0, 0)
    assert theirs["reported"] == {"ok": 300, "failed": 0, "skipped": 0}
    assert [p["label"] for p in result["pairs"]] == [ours["label"]]
    assert "vs peer" in capsys.readouterr().out


def test_a_run_too_short_for_a_steady_window_still_has_every_figure() -> None:
    from bench.analysis import Sample, steady_state

    steady = steady_state([Sample(0.0, 0, 0.0, 0.0), Sample(0.25, 300, 0.1, 0.01)], 300)
    r = _run("short", 1, "processor", 0, 0)
    r["steady"] = steady
    assert "nan" in "\n".join(run.render_runs([r], []))


def test_the_tenths_are_timed_by_the_arrivals_of_their_requests() -> None:
    """Newcomers saw ``nan`` in "by tenth", then a last tenth at half the rate of a constant run:
    the 0.25 s samples could not say when a tenth began or ended. The stub's arrivals can."""
    from bench.analysis import rate_by_decile

    constant = [i / 10_000 for i in range(20_000)]  # 10,000 requests/s throughout
    assert rate_by_decile(constant, 20_000) == [10_000] * 10
    tail = constant[:19_000] + [1.9 + i / 1_000 for i in range(1_000)]  # the last 1,000 at 1,000/s
    rates = rate_by_decile(tail, 20_000)
    assert rates[:9] == [10_000] * 9 and 1_800 <= rates[9] <= 1_850, rates  # 2,000 in 0.1 + 1 s
    short = rate_by_decile(constant[:15_000], 20_000)  # a run that never reached its total
    assert short[:7] == [10_000] * 7 and all(r != r for r in short[8:]), short
    assert all(r != r for r in rate_by_decile([], 10))
