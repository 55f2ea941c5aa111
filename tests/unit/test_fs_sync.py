"""sealbox.store.fs_sync: small blobs finishing together share one syncfs;
a writer is released only by a sync that started after it arrived; a
failed or missing syncfs falls back to the blob's own fsyncs."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from sealbox.store import fs_sync
from sealbox.store.fs_sync import GroupSync
from sealbox.store.localfs import LocalBlobStore

pytestmark = pytest.mark.skipif(fs_sync._SYNCFS is None, reason="no syncfs(2) here")


def fsyncs_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What each os.fsync from now on is of ("file" or "dir"), in order;
    the fsyncs still happen."""
    calls: list[str] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    return calls


def test_syncfs_is_called_on_a_real_file_system(tmp_path: Path) -> None:
    group = GroupSync(str(tmp_path))
    (tmp_path / "f").write_bytes(b"x")
    assert group.sync() is True


def test_concurrent_writers_share_syncs_and_none_is_released_by_an_earlier_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = GroupSync(str(tmp_path))
    starts: list[float] = []
    lock = threading.Lock()

    def slow_syncfs(fd: int) -> None:
        with lock:
            starts.append(time.monotonic())
        time.sleep(0.01)

    monkeypatch.setattr(fs_sync, "syncfs", slow_syncfs)
    arrived: dict[int, float] = {}
    released: dict[int, float] = {}
    barrier = threading.Barrier(32)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(5):
            arrived[n * 10 + i] = time.monotonic()
            assert group.sync() is True
            released[n * 10 + i] = time.monotonic()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(released) == 160
    assert len(starts) < 160 / 4  # shared: far fewer syncs than writers
    # Every writer saw a sync start after it arrived and before it left.
    for key, at in arrived.items():
        assert any(at <= s <= released[key] for s in starts), key


def test_a_failed_sync_reports_failure_to_its_waiters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    group = GroupSync(str(tmp_path))

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fs_sync, "syncfs", failing)
    assert group.sync() is False


def test_small_blob_falls_back_to_its_own_fsyncs_when_the_shared_sync_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = LocalBlobStore(str(tmp_path / "blobs"))
    monkeypatch.setattr(fs_sync, "syncfs", lambda fd: (_ for _ in ()).throw(OSError(5, "EIO")))
    fsynced = fsyncs_seen(monkeypatch)
    w = blobs.writer()
    w.write(b"small")
    blob_id = w.finish()
    assert fsynced.count("file") == 1 and fsynced[-1] == "dir"  # the blob, then its directory
    with blobs.open(blob_id) as f:
        assert f.read() == b"small"


def test_small_blob_uses_the_shared_sync_and_no_fsync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = LocalBlobStore(str(tmp_path / "blobs"))
    synced: list[int] = []
    monkeypatch.setattr(fs_sync, "syncfs", synced.append)
    real_fsync = os.fsync

    def dirs_only(fd: int) -> None:  # a new fan-out directory's parent is fsynced
        assert stat.S_ISDIR(os.fstat(fd).st_mode), "fsync of a small blob"
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", dirs_only)
    for _ in range(3):
        w = blobs.writer()
        w.write(b"x" * 1024)
        w.finish()
    assert len(synced) == 3


def test_a_large_blob_is_fsynced_by_its_writer_before_the_shared_sync(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = LocalBlobStore(str(tmp_path / "blobs"))
    calls = fsyncs_seen(monkeypatch)
    monkeypatch.setattr(fs_sync, "syncfs", lambda fd: calls.append("syncfs"))
    w = blobs.writer()
    w.write(b"x" * (1 << 20))
    blob_id = w.finish()
    assert calls == ["file", "syncfs"]
    assert os.path.getsize(blobs.local_path(blob_id) or "") == 1 << 20


def test_without_syncfs_each_blob_and_its_directory_are_fsynced(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fs_sync, "_SYNCFS", None)
    blobs = LocalBlobStore(str(tmp_path / "blobs"))
    calls = fsyncs_seen(monkeypatch)
    for body in (b"small", b"x" * (1 << 20)):
        calls.clear()
        w = blobs.writer()
        w.write(body)
        w.finish()
        assert calls.count("file") == 1 and calls[-1] == "dir"
        assert calls.index("file") < len(calls) - 1
