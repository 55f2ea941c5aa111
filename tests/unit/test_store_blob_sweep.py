"""The blob sweep's lease, cursor and upload records on SQLite and
PostgreSQL (store/sql/blob_sweep.py, blob_uploads.py), and one tick of the
sweep over local files (store/blob_sweep.py): one process at a time holds
the lease, a holder's cursor is left for the next one, a lapsed lease is
taken over, and a pass is not started again before its interval."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.store.blob_sweep import LEASE_SECONDS, sweep_tick
from sealbox.store.localfs import LocalBlobStore


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        from sealbox.store.sqlite import SqliteMetaStore

        meta: Any = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    else:
        from sealbox.store.postgres import PostgresMetaStore

        meta = PostgresMetaStore(request.getfixturevalue("postgres_dsn"))
    yield meta
    meta.close()


def test_one_holder_at_a_time_and_the_cursor_passes_on(store: Any) -> None:
    first = store.claim_blob_sweep("s3://b", "node0:1", 1000, 60)
    assert (first.cursor, first.pass_finished) == ("", 0)
    assert store.claim_blob_sweep("s3://b", "node1:7", 1001, 60) is None
    # Another store's sweep is its own.
    assert store.claim_blob_sweep("s3://other", "node1:7", 1001, 60) is not None
    assert store.release_blob_sweep("s3://b", "node0:1", "blobs/ab", 0)
    taken = store.claim_blob_sweep("s3://b", "node1:7", 1002, 60)
    assert taken.cursor == "blobs/ab"
    # A holder that died: its lease runs out and another takes over.
    assert store.claim_blob_sweep("s3://b", "node2:3", 1002 + 59, 60) is None
    assert store.claim_blob_sweep("s3://b", "node2:3", 1002 + 60, 60).cursor == "blobs/ab"
    # The one that lost it cannot write over the new holder's cursor.
    assert not store.release_blob_sweep("s3://b", "node1:7", "blobs/zz", 0)
    assert store.release_blob_sweep("s3://b", "node2:3", "", 1100)
    assert store.claim_blob_sweep("s3://b", "node0:1", 1200, 60).pass_finished == 1100


def test_many_threads_claiming_at_once_get_one_lease(store: Any) -> None:
    won: list[str] = []
    barrier = threading.Barrier(8)

    def claim(n: int) -> None:
        barrier.wait()
        if store.claim_blob_sweep("s3://race", f"p{n}", 5000, 60) is not None:
            won.append(f"p{n}")

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


def test_upload_records_are_kept_until_ended_and_found_when_stale(store: Any) -> None:
    store.begin_blob_upload("b", "p/blobs/" + "a" * 32, "node1", 100)
    store.begin_blob_upload("b", "p/blobs/" + "b" * 32, "node2", 200)
    store.begin_blob_upload("other", "blobs/" + "c" * 32, "node1", 50)
    stale = store.stale_blob_uploads("b", 150, 10)
    assert [(r.backend_key, r.node_id, r.started) for r in stale] == [
        ("p/blobs/" + "a" * 32, "node1", 100)]
    store.end_blob_upload("b", "p/blobs/" + "a" * 32)
    assert store.stale_blob_uploads("b", 1000, 10)[0].backend_key == "p/blobs/" + "b" * 32
    assert len(store.stale_blob_uploads("b", 1000, 10)) == 1


def test_a_tick_sweeps_local_files_once_per_interval(store: Any, tmp_path: Path) -> None:
    blobs = LocalBlobStore(str(tmp_path / "objects"))
    writer = blobs.writer()
    writer.write(b"nobody names me")
    orphan = writer.finish()
    path = blobs.local_path(orphan)
    assert path is not None and os.path.exists(path)
    now = 10_000_000
    done = sweep_tick(store, blobs, "p1", now, min_age_seconds=0)
    assert done is not None and done.removed == 1 and done.cursor == ""
    assert not os.path.exists(path)
    # The pass is done: the next tick, by anyone, within the hour does nothing.
    writer = blobs.writer()
    writer.write(b"a later orphan")
    later = writer.finish()
    assert sweep_tick(store, blobs, "p2", now + 60, min_age_seconds=0).removed == 0
    assert os.path.exists(blobs.local_path(later) or "")
    assert sweep_tick(store, blobs, "p2", now + 3600, min_age_seconds=0).removed == 1
    # A holder's lease keeps the others out while it lasts.
    assert store.claim_blob_sweep("file://" + blobs.root, "p3", now + 4000, LEASE_SECONDS)
    assert sweep_tick(store, blobs, "p1", now + 4100, min_age_seconds=0) is None
