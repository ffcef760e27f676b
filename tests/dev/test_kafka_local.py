"""The local broker's cluster ids are valid arguments for ``kafka-storage format --cluster-id``."""

from __future__ import annotations

from dev.kafka_local.broker import _new_cluster_id


def test_cluster_ids_never_start_with_a_dash() -> None:
    # 1 in 64 raw draws starts with "-"; 10,000 draws without the guard would all but surely hit one.
    ids = [_new_cluster_id() for _ in range(10_000)]
    assert not [i for i in ids if i.startswith("-")]
    assert all(len(i) == 22 for i in ids)
