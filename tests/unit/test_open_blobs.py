"""sealbox.store.open_blobs: blob descriptors shared by readers, closed when
they leave the cache and their last reader is done; never leaked."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sealbox.store.open_blobs import OpenBlobs


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture()
def blob(tmp_path: Path) -> Path:
    path = tmp_path / "b"
    path.write_bytes(b"0123456789")
    return path


def test_readers_share_one_descriptor_and_keep_their_own_positions(blob: Path) -> None:
    cache = OpenBlobs()
    a, b = cache.open("b", str(blob)), cache.open("b", str(blob))
    assert a.fileno() == b.fileno()
    assert a.read(3) == b"012" and b.read(5) == b"01234" and a.read(2) == b"34"
    a.seek(8)
    assert (a.tell(), a.read(), b.tell()) == (8, b"89", 5)
    a.close()
    b.close()
    cache.close()


def test_descriptor_closes_when_forgotten_and_its_last_reader_is_done(blob: Path) -> None:
    before = open_fds()
    cache = OpenBlobs()
    with cache.open("b", str(blob)) as reader:
        cache.forget("b")
        os.unlink(blob)
        assert reader.read() == b"0123456789"  # a reader in progress finishes
        assert open_fds() == before + 1
    assert open_fds() == before
    with pytest.raises(FileNotFoundError):
        cache.open("b", str(blob))


def test_descriptors_are_bounded_in_number_and_age(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    before = open_fds()
    cache = OpenBlobs(max_open=3, max_age=10.0)
    paths = []
    for i in range(6):
        path = tmp_path / f"b{i}"
        path.write_bytes(b"x")
        paths.append(path)
        cache.open(f"b{i}", str(path)).close()
    assert open_fds() == before + 3
    clock = [1000.0]
    monkeypatch.setattr("sealbox.store.open_blobs.time.monotonic", lambda: clock[0])
    first = cache.open("late", str(paths[0]))
    first.close()
    paths[0].write_bytes(b"rewritten in place")  # (blobs never are; shows a reopen)
    clock[0] += 11
    with cache.open("late", str(paths[0])) as again:
        assert again.read() == b"rewritten in place"
    cache.close()
    assert open_fds() == before


def test_closing_twice_releases_once(blob: Path) -> None:
    before = open_fds()
    cache = OpenBlobs()
    reader = cache.open("b", str(blob))
    reader.close()
    reader.close()
    other = cache.open("b", str(blob))
    assert other.read(1) == b"0"
    other.close()
    cache.close()
    assert open_fds() == before
