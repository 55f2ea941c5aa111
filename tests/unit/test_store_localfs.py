"""LocalBlobStore: layout, write/finish/abort, reads, deletes, sweep, and
that no input names a file outside the root."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sealbox.store.localfs import MEMORY_BYTES, LocalBlobStore


@pytest.fixture
def blobs(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(str(tmp_path / "data"))


def put(store: LocalBlobStore, data: bytes) -> str:
    w = store.writer()
    w.write(data)
    return w.finish()


def all_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def age(path: str, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_finished_blob_is_fanned_out_by_id_and_readable(blobs: LocalBlobStore) -> None:
    blob_id = put(blobs, b"hello ")
    assert len(blob_id) == 32 and int(blob_id, 16) >= 0
    path = blobs.local_path(blob_id)
    assert path == os.path.join(blobs.root, "blobs", blob_id[:2], blob_id[2:4], blob_id)
    with blobs.open(blob_id) as f:
        assert f.read() == b"hello "
    assert os.listdir(blobs.tmp_dir) == []


def test_write_in_chunks_and_size(blobs: LocalBlobStore) -> None:
    w = blobs.writer()
    chunks = [os.urandom(n) for n in (0, 1, 8191, 8192, 100_000)]
    for c in chunks:
        w.write(c)
    assert w.size == sum(map(len, chunks))
    with blobs.open(w.finish()) as f:
        assert f.read() == b"".join(chunks)


def test_writer_ids_are_fresh(blobs: LocalBlobStore) -> None:
    ids = {put(blobs, b"x") for _ in range(50)}
    assert len(ids) == 50


def test_unfinished_blob_lives_in_tmp_only(blobs: LocalBlobStore) -> None:
    w = blobs.writer()
    w.write(b"partial" * (MEMORY_BYTES // 7 + 1))
    assert os.listdir(blobs.tmp_dir) == [w.blob_id]
    with pytest.raises(FileNotFoundError):
        blobs.open(w.blob_id)
    w.abort()
    w.abort()  # twice is fine
    assert os.listdir(blobs.tmp_dir) == []
    with pytest.raises(ValueError):
        w.write(b"more")


def test_a_small_unfinished_blob_is_only_in_memory_until_finish(blobs: LocalBlobStore) -> None:
    w = blobs.writer()
    w.write(b"small")
    w.write(b"x" * (MEMORY_BYTES - 5))
    assert os.listdir(blobs.tmp_dir) == []
    blob_id = w.finish()
    assert os.listdir(blobs.tmp_dir) == []
    with blobs.open(blob_id) as f:
        assert f.read() == b"small" + b"x" * (MEMORY_BYTES - 5)
    dropped = blobs.writer()
    dropped.write(b"gone")
    dropped.abort()
    assert os.listdir(blobs.tmp_dir) == []
    with pytest.raises(ValueError):
        dropped.finish()


def test_abort_after_finish_keeps_the_blob(blobs: LocalBlobStore) -> None:
    w = blobs.writer()
    w.write(b"data")
    blob_id = w.finish()
    w.abort()
    with blobs.open(blob_id) as f:
        assert f.read() == b"data"


def test_writer_context_manager_aborts_on_error(blobs: LocalBlobStore) -> None:
    with pytest.raises(RuntimeError), blobs.writer() as w:
        w.write(b"x")
        raise RuntimeError
    assert os.listdir(blobs.tmp_dir) == []


def test_failed_finish_removes_the_temp_file(
    blobs: LocalBlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = blobs.writer()
    w.write(b"x")

    def boom(*a: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "rename", boom)
    with pytest.raises(OSError):
        w.finish()
    assert os.listdir(blobs.tmp_dir) == []
    w.abort()


def test_delete_ignores_missing(blobs: LocalBlobStore) -> None:
    blob_id = put(blobs, b"x")
    blobs.delete(blob_id)
    blobs.delete(blob_id)
    with pytest.raises(FileNotFoundError):
        blobs.open(blob_id)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "..",
        "../../../../etc/passwd",
        "/etc/passwd",
        "ab/../../../x" + "0" * 20,
        "0" * 31,
        "0" * 33,
        "A" * 32,
        "0" * 31 + "/",
        "0" * 31 + "\x00",
        "g" * 32,
    ],
)
def test_ids_that_are_not_ours_never_become_paths(blobs: LocalBlobStore, bad: str) -> None:
    for call in (blobs.open, blobs.delete, blobs.local_path):
        with pytest.raises(ValueError):
            call(bad)


def test_nothing_is_written_outside_root(tmp_path: Path) -> None:
    outside_before = all_files(tmp_path)
    store = LocalBlobStore(str(tmp_path / "data"))
    ids = [put(store, os.urandom(10)) for _ in range(5)]
    store.sweep(set(ids[:2]), min_age_seconds=0)
    written = all_files(tmp_path) - outside_before
    assert written and all(p.startswith("data" + os.sep) for p in written)


def test_sweep_removes_old_temps_and_old_orphans_only(blobs: LocalBlobStore) -> None:
    kept = put(blobs, b"referenced")
    orphan = put(blobs, b"orphan")
    young_orphan = put(blobs, b"young orphan")
    stale = blobs.writer()
    stale.write(b"stale temp" * MEMORY_BYTES)  # large enough to be in tmp/ already
    fresh = blobs.writer()
    fresh.write(b"fresh temp" * MEMORY_BYTES)
    stale._file.flush()  # type: ignore[union-attr]
    for blob_id in (kept, orphan):
        age(blobs.local_path(blob_id) or "", 3600)
    age(os.path.join(blobs.tmp_dir, stale.blob_id), 3600)
    foreign = os.path.join(blobs.tmp_dir, "not-a-blob")
    Path(foreign).write_bytes(b"")
    age(foreign, 3600)

    assert blobs.sweep({kept}, min_age_seconds=60) == 2
    with blobs.open(kept) as f:
        assert f.read() == b"referenced"
    with pytest.raises(FileNotFoundError):
        blobs.open(orphan)
    with blobs.open(young_orphan):
        pass
    assert sorted(os.listdir(blobs.tmp_dir)) == sorted([fresh.blob_id, "not-a-blob"])
    fresh.write(b" still writable")
    assert blobs.sweep({kept}, min_age_seconds=0) == 2  # young orphan and fresh temp
    stale.abort()
    fresh.abort()


def test_opening_the_store_removes_temps_no_live_writer_holds(tmp_path: Path) -> None:
    root = str(tmp_path / "data")
    first = LocalBlobStore(root)
    live = first.writer()
    live.write(b"live" * MEMORY_BYTES)  # on disk, and locked by this writer
    age(os.path.join(first.tmp_dir, live.blob_id), 3600)
    # A crashed writer's file: nobody holds its lock. Old, or just made.
    dead_old = os.path.join(first.tmp_dir, "0" * 32)
    dead_young = os.path.join(first.tmp_dir, "1" * 32)
    Path(dead_old).write_bytes(b"x" * 1000)
    age(dead_old, 3600)
    Path(dead_young).write_bytes(b"y")
    foreign = os.path.join(first.tmp_dir, "not-a-blob")
    Path(foreign).write_bytes(b"")
    age(foreign, 3600)

    started = time.monotonic()
    LocalBlobStore(root)  # as another worker, or the next process after a crash
    assert time.monotonic() - started < 2  # the young one waited out its grace, once
    assert sorted(os.listdir(first.tmp_dir)) == sorted([live.blob_id, "not-a-blob"])
    live.write(b" more")
    with first.open(live.finish()) as f:
        assert f.read() == b"live" * MEMORY_BYTES + b" more"


def test_a_temp_file_is_locked_from_creation_until_it_is_in_place(blobs: LocalBlobStore) -> None:
    import fcntl

    def locked(path: str) -> bool:
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    w = blobs.writer()
    w.write(b"z" * (MEMORY_BYTES + 1))
    assert locked(os.path.join(blobs.tmp_dir, w.blob_id))
    path = blobs.local_path(w.finish()) or ""
    assert os.listdir(blobs.tmp_dir) == [] and not locked(path)


def test_store_reopens_existing_root(tmp_path: Path) -> None:
    blob_id = put(LocalBlobStore(str(tmp_path)), b"x")
    with LocalBlobStore(str(tmp_path)).open(blob_id) as f:
        assert f.read() == b"x"
