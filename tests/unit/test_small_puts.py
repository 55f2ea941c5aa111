"""sealbox.store.small_puts: small uploads committed in batches by one
thread; each upload gets its own result, nothing is acknowledged that is not
durable and committed, and a refused upload leaves no blob behind."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealbox.store import fs_sync
from sealbox.store.localfs import LocalBlobStore, LocalBlobWriter
from sealbox.store.meta import Bucket, NoSuchBucket, ObjectRecord, Segment
from sealbox.store.small_puts import SmallPutBatcher
from sealbox.store.sqlite import SqliteMetaStore

pytestmark = pytest.mark.skipif(fs_sync._SYNCFS is None, reason="no syncfs(2) here")

NOW = datetime(2026, 12, 3, tzinfo=UTC)


class Stores:
    def __init__(self, tmp_path: Path) -> None:
        self.meta = SqliteMetaStore(str(tmp_path / "meta.db"))
        self.blobs = LocalBlobStore(str(tmp_path / "objects"))
        self.meta.create_bucket(Bucket("b", NOW, "us-east-1", "arn:aws:iam::000000000000:root"))
        self.batcher = SmallPutBatcher(self.meta, self.blobs)

    def upload(self, key: str, body: bytes, bucket: str = "b") -> tuple[LocalBlobWriter, ObjectRecord]:
        writer = self.blobs.writer()
        writer.write(body)
        record = ObjectRecord(bucket=bucket, key=key, size=len(body), etag="e", last_modified=NOW,
                              segments=(Segment(writer.blob_id, len(body)),))
        return writer, record

    def blob_files(self) -> set[str]:
        return {name for _, _, files in os.walk(self.blobs.blobs_dir) for name in files}


@pytest.fixture
def stores(tmp_path: Path) -> Stores:
    s = Stores(tmp_path)
    assert SmallPutBatcher.applies(s.meta, s.blobs)
    yield s  # type: ignore[misc]
    s.batcher.close()
    s.meta.close()


def test_concurrent_uploads_are_all_committed_and_readable(stores: Stores) -> None:
    async def main() -> None:
        uploads = [stores.upload(f"k{i}", f"body {i}".encode()) for i in range(200)]
        assert all(stores.batcher.takes(w) for w, _ in uploads)
        replaced = await asyncio.gather(*(stores.batcher.commit(w, r) for w, r in uploads))
        assert replaced == [None] * 200

    asyncio.run(main())
    for i in range(200):
        record = stores.meta.get_object("b", f"k{i}")
        assert record is not None
        with stores.blobs.open(record.segments[0].blob_id) as f:
            assert f.read() == f"body {i}".encode()
    assert os.listdir(stores.blobs.tmp_dir) == []


def test_an_overwrite_returns_the_old_record_and_deletes_its_blob(stores: Stores) -> None:
    async def main() -> None:
        w1, r1 = stores.upload("k", b"old")
        assert await stores.batcher.commit(w1, r1) is None
        w2, r2 = stores.upload("k", b"new")
        old = await stores.batcher.commit(w2, r2)
        assert old is not None and old.segments == r1.segments

    asyncio.run(main())
    record = stores.meta.get_object("b", "k")
    assert record is not None
    assert stores.blob_files() == {record.segments[0].blob_id}


def test_a_missing_bucket_fails_that_upload_alone_and_leaves_no_blob(stores: Stores) -> None:
    async def main() -> list[object]:
        good = stores.upload("k", b"kept")
        bad = stores.upload("k", b"lost", bucket="nope")
        return await asyncio.gather(stores.batcher.commit(*good), stores.batcher.commit(*bad),
                                    return_exceptions=True)

    ok, refused = asyncio.run(main())
    assert ok is None and isinstance(refused, NoSuchBucket)
    record = stores.meta.get_object("b", "k")
    assert record is not None
    assert stores.blob_files() == {record.segments[0].blob_id}


def test_a_failed_sync_acknowledges_nothing(stores: Stores,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fs_sync, "syncfs", failing)
    monkeypatch.setattr(os, "fsync", failing)

    async def main() -> list[object]:
        uploads = [stores.upload(f"k{i}", b"x") for i in range(5)]
        return await asyncio.gather(*(stores.batcher.commit(w, r) for w, r in uploads),
                                    return_exceptions=True)

    results = asyncio.run(main())
    assert all(isinstance(r, OSError) for r in results)
    assert len({id(r) for r in results}) == 5  # each request raises its own
    assert all(stores.meta.get_object("b", f"k{i}") is None for i in range(5))


def test_close_finishes_what_was_queued(stores: Stores) -> None:
    async def main() -> None:
        w, r = stores.upload("k", b"x")
        task = asyncio.ensure_future(stores.batcher.commit(w, r))
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, stores.batcher.close)
        assert await task is None

    asyncio.run(main())
    assert stores.meta.get_object("b", "k") is not None
