"""The edge's disk cache: hard links for whole local blobs, copies
otherwise, the size bound with least-recently-used eviction, invalidation
patterns, refresh, and the clean-up of dead processes' directories."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbox.edge.cache import EdgeCache, Source

T = datetime(2026, 1, 1, tzinfo=UTC)


def blob(tmp_path: Path, name: str, data: bytes) -> Source:
    path = tmp_path / name
    path.write_bytes(data)
    return Source(open=lambda: open(path, "rb"), size=len(data), local_path=str(path))


def unlinkable(source: Source) -> Source:
    return Source(open=source.open, size=source.size, local_path=None)


@pytest.fixture
def cache(tmp_path: Path) -> EdgeCache:
    return EdgeCache(str(tmp_path / "cache"), max_bytes=100, max_object_bytes=60)


def fill(cache: EdgeCache, path: str, sources: list[Source], dist: str = "D", now: float = 0,
         ttl: int = 60) -> object:
    return cache.fill((dist, path, ""), sources, "etag", T, [("content-type", "x")], now, ttl)


def test_a_whole_local_blob_is_hard_linked_not_copied(cache: EdgeCache, tmp_path: Path) -> None:
    source = blob(tmp_path, "b1", b"x" * 10)
    entry = fill(cache, "/a", [source])
    assert os.stat(entry.path).st_ino == os.stat(source.local_path).st_ino
    os.unlink(source.local_path)  # the object is deleted at the origin
    with entry.open() as f:
        assert f.read() == b"x" * 10


def test_several_blobs_are_copied_in_order(cache: EdgeCache, tmp_path: Path) -> None:
    parts = [blob(tmp_path, "p1", b"ab"), blob(tmp_path, "p2", b"cd"), blob(tmp_path, "p3", b"e")]
    entry = fill(cache, "/multi", parts)
    assert Path(entry.path).read_bytes() == b"abcde" and entry.size == 5
    assert not any(name.endswith(".part") for name in os.listdir(os.path.dirname(entry.path)))


def test_a_vanished_blob_raises_and_leaves_nothing(cache: EdgeCache, tmp_path: Path) -> None:
    source = blob(tmp_path, "gone", b"data")
    os.unlink(source.local_path)
    with pytest.raises(FileNotFoundError):
        fill(cache, "/a", [source])
    with pytest.raises(FileNotFoundError):
        fill(cache, "/b", [unlinkable(source)])
    assert len(cache) == 0 and cache.size == 0
    assert os.listdir(cache._dir) == []


def test_a_copy_that_runs_out_of_space_raises_it_and_leaves_nothing(
        cache: EdgeCache, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    parts = [blob(tmp_path, "p1", b"ab"), blob(tmp_path, "p2", b"cd")]

    def full(*_args: object) -> object:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("sealbox.edge.cache.COPY_CHUNK", 1)
    real_open = open

    def opener(path: object, mode: str = "r", *args: object, **kwargs: object) -> object:
        f = real_open(path, mode, *args, **kwargs)  # type: ignore[call-overload]
        if "x" in mode:
            f.write = full  # the copy's writes find the disk full
        return f

    monkeypatch.setattr("builtins.open", opener)
    with pytest.raises(OSError) as caught:
        fill(cache, "/multi", parts)
    assert caught.value.errno == errno.ENOSPC  # the edge serves from the origin on it
    assert len(cache) == 0 and os.listdir(cache._dir) == []


def test_a_cache_started_on_a_full_disk_keeps_nothing(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    real_makedirs = os.makedirs
    root = str(tmp_path / "cache")

    def makedirs(path: str, *args: object, **kwargs: object) -> None:
        if path.startswith(root + os.sep):  # this process's directory: no room for it
            raise OSError(errno.ENOSPC, "No space left on device")
        real_makedirs(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "makedirs", makedirs)
    cache = EdgeCache(root, max_bytes=100)  # the server still starts
    assert not cache.fits(0) and not cache.fits(10)


def test_least_recently_used_go_first_when_over_the_bound(cache: EdgeCache,
                                                           tmp_path: Path) -> None:
    for name in ("a", "b", "c"):
        fill(cache, f"/{name}", [blob(tmp_path, name, b"x" * 40)])
    # 120 bytes > 100: "a" went when "c" arrived.
    assert cache.get(("D", "/a", "")) is None
    assert cache.size == 80
    cache.get(("D", "/b", ""))  # b is now more recent than c
    fill(cache, "/d", [blob(tmp_path, "d", b"x" * 40)])
    assert cache.get(("D", "/c", "")) is None
    assert cache.get(("D", "/b", "")) is not None
    assert cache.fits(60) and not cache.fits(61)


def test_invalidation_patterns_drop_matching_paths_of_one_distribution(
        cache: EdgeCache, tmp_path: Path) -> None:
    source = blob(tmp_path, "s", b"1")
    for path in ("/img/a.png", "/img/b.png", "/index.html"):
        fill(cache, path, [source])
    fill(cache, "/img/a.png", [source], dist="OTHER")
    assert cache.invalidate("D", ["/img/*"]) == 2
    assert cache.get(("D", "/index.html", "")) is not None
    assert cache.get(("OTHER", "/img/a.png", "")) is not None
    assert cache.invalidate("D", ["/*"]) == 1


def test_an_entry_evicted_while_open_stays_readable(cache: EdgeCache, tmp_path: Path) -> None:
    entry = fill(cache, "/a", [unlinkable(blob(tmp_path, "a", b"y" * 50))])
    with entry.open() as f:
        cache.drop(entry.key)
        assert not os.path.exists(entry.path)
        assert f.read() == b"y" * 50


def test_freshness_and_refresh(cache: EdgeCache, tmp_path: Path) -> None:
    entry = fill(cache, "/a", [blob(tmp_path, "a", b"1")], now=100, ttl=10)
    assert entry.fresh(109.9) and not entry.fresh(110)
    renewed = cache.refresh(entry, 200, 10)
    assert renewed.fresh(205) and cache.get(entry.key) == renewed
    # A refresh of an entry replaced meanwhile does not resurrect it.
    newer = fill(cache, "/a", [blob(tmp_path, "b", b"2")], now=300)
    cache.refresh(entry, 400, 10)
    assert cache.get(entry.key) == newer


def test_directories_of_dead_processes_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    first = EdgeCache(str(root))
    dead = Path(first._dir).with_name(Path(first._dir).name.rsplit("-", 1)[0] + "-999999999")
    dead.mkdir()
    (dead / "leftover").write_bytes(b"x")
    foreign = root / "otherhost-1"  # another host's, on a shared file system
    foreign.mkdir()
    EdgeCache(str(root))
    assert not dead.exists() and foreign.exists()
    first.close()
    assert not Path(first._dir).exists()


def test_small_bodies_are_also_kept_in_memory_within_a_budget(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sealbox.edge import cache as edge_cache

    monkeypatch.setattr(edge_cache, "MEMORY_OBJECT_BYTES", 10)
    monkeypatch.setattr(edge_cache, "MEMORY_BYTES", 15)
    cache = EdgeCache(str(tmp_path / "cache"), max_bytes=100, max_object_bytes=60)
    small = fill(cache, "/s", [blob(tmp_path, "s", b"0123456789")])
    large = fill(cache, "/l", [blob(tmp_path, "l", b"x" * 11)])
    over_budget = fill(cache, "/o", [blob(tmp_path, "o", b"abcdefgh")])
    assert small.body == b"0123456789" and large.body is None and over_budget.body is None
    cache.drop(small.key)  # frees its share of the budget
    again = fill(cache, "/o", [blob(tmp_path, "o2", b"abcdefgh")])
    assert again.body == b"abcdefgh"
