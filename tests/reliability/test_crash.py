"""SIGKILL the processor again and again while it works through 20,000 events: nothing is lost.

The processor runs as a real child process (``python -m processor run``); the stub runs in its
own process so it survives every kill and keeps the full record of what reached "Voucherify".
The stub answers 10 % of requests 503 and ~1 % 429, so events also travel through quick
retries and the retry tiers while the kills happen. See docs/reliability.md.
"""

from __future__ import annotations

import random
import statistics
import time

import pytest

from tests.support.kafka_broker import delete_topics
from tests.support.processor import committed_offsets, end_offsets, wait_until
from tests.support.reliability import (
    ProcessorProcess,
    StubProcess,
    account,
    check_duplicates,
    all_requests,
    env_int,
    make_events,
    produce,
    subprocess_config,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability]

PARTITIONS = 4
RETRY_DELAYS = [1.0, 2.0, 4.0]
COMMIT_INTERVAL = 0.5


def _ok_total(ctl) -> int:
    by_path = ctl.stats()["by_path"]
    return sum(n for path, counts in by_path.items() if path != "/segmentio/test-authentication"
               for status, n in counts.items() if status.startswith("2"))


def _all_committed(bootstrap: str, group: str, topics: list[str]) -> bool:
    for topic in topics:
        ends = end_offsets(bootstrap, topic, PARTITIONS)
        done = committed_offsets(bootstrap, group, topic, PARTITIONS)
        for p, end in ends.items():
            if end > 0 and done.get(p) != end:
                return False
    return True


def test_sigkill_at_random_moments_loses_nothing(kafka_bootstrap, make_topic, tmp_path, record_property):
    n_events = env_int("VP_CRASH_EVENTS", 20_000, soak=200_000)
    kills = env_int("VP_CRASH_KILLS", 6, soak=20)
    seed = env_int("VP_CRASH_SEED", 20240611)
    max_in_flight = 1000
    rnd = random.Random(seed)
    source = make_topic(partitions=PARTITIONS)
    retry_topics = [f"{source}.retry.{i}" for i in range(len(RETRY_DELAYS))]
    events = make_events(n_events, users=300, seed=seed)
    started = time.monotonic()
    with StubProcess(tmp_path / "stub.log", "--error-rate-5xx", "0.1", "--error-status", "503",
                     "--rate-429", "0.01", "--retry-after", "0.05",
                     "--latency-ms", "2", "--latency-jitter-ms", "2", "--seed", str(seed)) as ctl:
        doc = subprocess_config(kafka_bootstrap, ctl.url, source,
                                engine={"retry_delays_s": RETRY_DELAYS, "commit_interval_s": COMMIT_INTERVAL,
                                        "max_in_flight": max_in_flight,
                                        "max_in_flight_per_partition": max_in_flight // 2})
        config = write_config(tmp_path / "config.yaml", doc)
        produce(kafka_bootstrap, source, events)
        kill_log = []
        kill_times: list[float] = []
        proc = None
        try:
            for i in range(kills):
                proc = ProcessorProcess(config, tmp_path / f"processor-{i}.log").start()
                # kill at a random moment once it has had time to join and work a little
                proc.wait_for_log(r"partitions assigned", 60)
                delay = rnd.uniform(0.3, 2.5)
                time.sleep(delay)
                before = _ok_total(ctl)
                assert proc.alive, proc.log_text()[-3000:]
                proc.kill()
                kill_times.append(time.time())
                kill_log.append((round(time.monotonic() - started, 1), round(delay, 2), before))
            proc = ProcessorProcess(config, tmp_path / "processor-final.log").start()
            expected = sum(1 for e in events if e.path is not None)
            wait_until(lambda: _ok_total(ctl) >= expected, 300, interval=1.0,
                       message="the stub never saw a 2xx for every event")
            wait_until(lambda: _all_committed(kafka_bootstrap, doc["kafka"]["group_id"], [source, *retry_topics]),
                       120, interval=1.0, message="offsets not committed to the end")
            assert proc.terminate() == 0, proc.log_text()[-3000:]
        finally:
            if proc is not None:
                proc.ensure_stopped()
            delete_topics(kafka_bootstrap, [*retry_topics, f"{source}.dlq"])
        requests = all_requests(ctl)
    out = account(events, requests)
    elapsed = time.monotonic() - started
    report = (f"events={n_events} kills={kills} {out.summary()} elapsed={elapsed:.0f}s "
              f"kills_at(t,delay,ok_before)={kill_log}")
    print(report)
    dups = check_duplicates(requests, kill_times, window_s=2 * COMMIT_INTERVAL + 1.0)
    per_kill = sorted(dups.per_kill)
    ages = sorted(dups.ages)
    summary = (f"re-deliveries per kill={dups.per_kill} median={statistics.median(per_kill):.0f} max={per_kill[-1]} "
               f"2xx in the window before each kill={dups.window_oks} "
               f"first success before the kill of the repeated events: median={_q(ages, 0.5)}s max={_q(ages, 1.0)}s")
    print(summary)
    record_property("crash_report", f"{report} {summary}")
    assert out.lost == [], f"{len(out.lost)} lost, e.g. {out.lost[:20]}"
    assert out.misrouted == []
    # A crash repeats only what it had not committed: what was in flight and what finished since
    # the last commit (the commit window). Finished events behind a slow one are committed in
    # the offset's metadata and skipped by the next owner, so nothing older is ever repeated.
    assert dups.unexplained == [], f"repeated without a crash to explain it: {dups.unexplained[:20]}"
    assert dups.within_bound(max_in_flight) == [], summary
    assert out.order_violations == [], out.order_violations[:20]


def _q(values: list[float], q: float) -> str:
    return f"{values[min(len(values) - 1, int(q * len(values)))]:.1f}" if values else "-"
