"""Crash safety of SqliteMetaStore + LocalBlobStore together.

A child process writes objects the way the API does (blob → finish →
put_object, then delete the replaced blobs) and runs multipart uploads
(part blobs → put_part → complete_upload, or leaves them in progress);
the test kills it with SIGKILL at random moments, reopens the store, and
checks that every object and every part points at blobs that exist with
exactly the recorded size and MD5, that reopening the store removes the
temporary files a crash leaves, and that sweep removes the orphans, without
touching a referenced blob.

SIGKILL tests atomicity against a process crash (the page cache
survives); durability across a power cut rests on the fsyncs, which this
test cannot observe.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sealbox.store.localfs import LocalBlobStore
from sealbox.store.sqlite import SqliteMetaStore

CHILD = r"""
import hashlib, os, random, secrets, sys
from datetime import datetime, timezone
from sealbox.store.localfs import LocalBlobStore
from sealbox.store.meta import Bucket, BucketExists, ObjectRecord, Part, Segment, Upload
from sealbox.store.sqlite import SqliteMetaStore

root, seed = sys.argv[1], int(sys.argv[2])
rng = random.Random(seed)
blobs = LocalBlobStore(root)
meta = SqliteMetaStore(os.path.join(root, "meta.db"))
now = lambda: datetime.now(timezone.utc)
try:
    meta.create_bucket(Bucket("b", now(), "us-east-1", "arn:owner"))
except BucketExists:
    pass

def blob(data):
    w = blobs.writer()
    half = len(data) // 2
    w.write(data[:half])
    w.write(data[half:])
    return w.finish()

def drop(old, keep=()):
    for s in old.segments if old else ():
        if s.blob_id not in keep:
            blobs.delete(s.blob_id)

print("ready", flush=True)
while True:
    key = f"k{rng.randrange(20)}"
    r = rng.random()
    if r < 0.55:
        data = rng.randbytes(rng.randrange(0, 30000))
        bid = blob(data)
        rec = ObjectRecord("b", key, len(data), hashlib.md5(data).hexdigest(), now(),
                           (Segment(bid, len(data)),))
        drop(meta.put_object(rec))
    elif r < 0.9:
        uid = secrets.token_hex(8)
        meta.create_upload(Upload(uid, "b", key, now()))
        for n in range(1, rng.randint(2, 4)):
            for _ in range(rng.choice([1, 1, 2])):  # sometimes replace a part
                data = rng.randbytes(rng.randrange(1, 20000))
                p = Part(uid, n, len(data), hashlib.md5(data).hexdigest(), now(), blob(data))
                old = meta.put_part(p)
                if old:
                    blobs.delete(old.blob_id)
        if rng.random() < 0.8:
            parts = meta.list_parts(uid)
            etag = hashlib.md5(b"".join(bytes.fromhex(p.etag) for p in parts)).hexdigest()
            rec = ObjectRecord("b", key, sum(p.size for p in parts), f"{etag}-{len(parts)}",
                               now(), tuple(Segment(p.blob_id, p.size) for p in parts),
                               parts_count=len(parts))
            old, removed = meta.complete_upload(uid, rec)
            drop(old)
        elif rng.random() < 0.5:
            for p in meta.abort_upload(uid):
                blobs.delete(p.blob_id)
    else:
        drop(meta.delete_object("b", key))
"""


def _blob_md5(blobs: LocalBlobStore, blob_id: str, size: int) -> bytes:
    path = blobs.local_path(blob_id)
    assert path is not None and os.path.getsize(path) == size, blob_id
    with blobs.open(blob_id) as f:
        data = f.read()
    assert len(data) == size
    return hashlib.md5(data).digest()


def _check(root: Path) -> tuple[int, int]:
    """Assert every record points at intact blobs; returns (objects, parts)."""
    meta = SqliteMetaStore(str(root / "meta.db"))
    blobs = LocalBlobStore(str(root))
    # Opening the store removed the killed writer's temporary files: no
    # live writer held their locks.
    assert os.listdir(blobs.tmp_dir) == []
    try:
        assert meta._conn().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        has_bucket = meta.get_bucket("b") is not None
        objects = meta.list_objects("b", limit=10_000) if has_bucket else []
        for o in objects:
            assert sum(s.size for s in o.segments) == o.size
            digests = [_blob_md5(blobs, s.blob_id, s.size) for s in o.segments]
            if o.parts_count is None:
                assert digests[0].hex() == o.etag
            else:
                want = hashlib.md5(b"".join(digests)).hexdigest() + f"-{len(digests)}"
                assert o.etag == want
        n_parts = 0
        for u in meta.list_uploads("b", limit=10_000) if has_bucket else []:
            for p in meta.list_parts(u.upload_id):
                assert _blob_md5(blobs, p.blob_id, p.size).hex() == p.etag
                n_parts += 1
        return len(objects), n_parts
    finally:
        meta.close()


def _sweep(root: Path) -> int:
    meta = SqliteMetaStore(str(root / "meta.db"))
    blobs = LocalBlobStore(str(root))
    try:
        referenced = meta.referenced_blob_ids()
        removed = blobs.sweep(referenced, min_age_seconds=0)
        on_disk = {p.name for p in (root / "blobs").rglob("*") if p.is_file()}
        assert on_disk == referenced
        assert os.listdir(blobs.tmp_dir) == []
        return removed
    finally:
        meta.close()


def test_kill_9_at_random_points_leaves_records_pointing_at_intact_blobs(
    tmp_path: Path,
) -> None:
    root = tmp_path / "data"
    src = str(Path(__file__).resolve().parents[2] / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    rng = random.Random()
    seed = rng.randrange(10**6)
    swept = 0
    counts = []
    for round_ in range(6):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(root), str(seed + round_)],
            stdout=subprocess.PIPE,
            env=env,
        )
        try:
            assert child.stdout is not None and child.stdout.readline() == b"ready\n"
            time.sleep(rng.uniform(0.05, 0.4))
            assert child.poll() is None, "the writer died on its own"
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait()
            child.stdout.close()  # type: ignore[union-attr]
        assert child.returncode == -signal.SIGKILL
        counts.append(_check(root))
        # Sweep every other round, so orphans from two crashes meet one sweep.
        if round_ % 2:
            swept += _sweep(root)
            assert _check(root) == counts[-1]
    assert counts[-1][0] > 0, f"the writer made no objects (seed {seed})"
    print(f"seed {seed}: (objects, parts) after each kill {counts}; sweep removed {swept}")
