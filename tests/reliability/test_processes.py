"""``run --processes N``: the members die with the command, and the command can be started again.

Issue 13 item 4: SIGKILL of the parent used to leave the members consuming (2,659 requests in the
next 3 s) and holding the metrics ports, so a second start failed with "address already in use".
"""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from dev.kafka_local.net import free_port
from tests.support.kafka_broker import delete_topics
from tests.support.processor import wait_until
from tests.support.reliability import (
    ProcessorProcess,
    StubProcess,
    make_events,
    ok_eids,
    all_requests,
    produce,
    subprocess_config,
    write_config,
)

pytestmark = [pytest.mark.integration, pytest.mark.reliability]


def _children(pid: int) -> list[int]:
    """Live (not zombie) direct children of ``pid``, from /proc."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"


def _metrics_up(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find the members")
def test_members_die_with_a_killed_parent_and_a_second_start_works(kafka_bootstrap, make_topic, tmp_path):
    source = make_topic(partitions=4)
    port = free_port()
    events = make_events(400, users=40, seed=13)
    with StubProcess(tmp_path / "stub.log", "--latency-ms", "5") as ctl:
        doc = subprocess_config(kafka_bootstrap, ctl.url, source, ops_port=port)
        config = write_config(tmp_path / "config.yaml", doc)
        first = ProcessorProcess(config, tmp_path / "first.log", processes=2).start()
        second = None
        try:
            wait_until(lambda: len(_children(first.pid)) == 2, 30, message="members never started")
            members = _children(first.pid)
            wait_until(lambda: _metrics_up(port) and _metrics_up(port + 1), 60, message="members' ports never up")
            produce(kafka_bootstrap, source, events[:200])
            wait_until(lambda: len(ok_eids(all_requests(ctl))) > 0, 60, message="nothing delivered")

            os.kill(first.pid, signal.SIGKILL)
            first.proc.wait(10)
            wait_until(lambda: not any(_alive(m) for m in members), 10,
                       message=f"members outlived their parent: {[m for m in members if _alive(m)]}")
            seen = len(all_requests(ctl))
            time.sleep(1.0)  # nothing may still be sending (a member stuck half-dead would)
            assert len(all_requests(ctl)) == seen

            second = ProcessorProcess(config, tmp_path / "second.log", processes=2).start()
            wait_until(lambda: _metrics_up(port) and _metrics_up(port + 1), 60,
                       message="second start did not serve both ports:\n" + second.log_tail(40))
            produce(kafka_bootstrap, source, events[200:])
            expected = {e.eid for e in events if e.path is not None}
            wait_until(lambda: ok_eids(all_requests(ctl)) >= expected, 120, interval=0.5,
                       message="the second start did not deliver everything")
            assert "address already in use" not in second.log_text().lower()
            assert second.terminate() == 0, second.log_tail(40)
        finally:
            first.ensure_stopped()
            if second is not None:
                second.ensure_stopped()
            delete_topics(kafka_bootstrap, [f"{source}.retry.{i}" for i in range(3)] + [f"{source}.dlq"])


def test_a_member_that_stops_on_its_own_stops_the_command(kafka_bootstrap, make_topic, tmp_path):
    """A newcomer's finding: member 2 could not bind its metrics port and exited, member 1 carried
    on alone, and the command said nothing, so a pod stayed Ready at half its capacity. Now the
    command stops the other members (they drain) and exits non-zero."""
    import socket

    source = make_topic(partitions=2)
    port = free_port()
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", port + 1))
    taken.listen()
    with StubProcess(tmp_path / "stub.log", "--latency-ms", "5") as ctl:
        doc = subprocess_config(kafka_bootstrap, ctl.url, source, ops_port=port)
        config = write_config(tmp_path / "config.yaml", doc)
        command = ProcessorProcess(config, tmp_path / "run.log", processes=2).start()
        try:
            assert command.proc is not None
            command.proc.wait(120)
            text = command.log_text()
            assert command.proc.returncode != 0, text[-2000:]
            assert "member 2/2 stopped while the command was not stopping (exit code 1" in text, text[-2000:]
            assert command.proc.returncode == 1
        finally:
            taken.close()
            command.ensure_stopped()
            delete_topics(kafka_bootstrap, [f"{source}.retry.{i}" for i in range(3)] + [f"{source}.dlq"])
