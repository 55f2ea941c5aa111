"""In-process hot paths of SqliteMetaStore, µs per call (min of 5 rounds).

get_object (served from memory while the WAL-index header is unchanged),
get_object after a commit each time (a real SELECT), put_object (group
commit, fsync), and a presigned-GET-like read: access_version, the
credential, a bucket setting and the object. Usage: ``python
scripts/bench_meta.py [N]`` with the tree to measure on PYTHONPATH;
put_object's CPU time leaves out the fsync it waits for (group commit's
leader thread does it).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

from sealbox.store.meta import Bucket, ObjectRecord, Segment
from sealbox.store.secrets import SecretCipher
from sealbox.store.sqlite import SqliteMetaStore

T0 = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)


def best(n: int, fn: Callable[[], None], rounds: int = 5) -> tuple[float, float]:
    """µs per call, min over rounds: wall clock, and this thread's CPU time
    (steadier on a shared machine: time spent descheduled is not counted)."""
    wall, cpu = [], []
    for _ in range(rounds):
        t, c = time.perf_counter(), time.thread_time()
        for _ in range(n):
            fn()
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    return min(wall) / n * 1e6, min(cpu) / n * 1e6


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    d = tempfile.mkdtemp()
    s = SqliteMetaStore(f"{d}/meta.db", cipher=SecretCipher([bytes(32)]))
    s.create_bucket(Bucket("b", T0, "us-east-1", "arn:aws:iam::000:root"))
    o = ObjectRecord("b", "k", 1024, "e", T0, (Segment("blob", 1024),),
                     headers={"content-type": "text/plain"})
    s.put_object(o)
    s.put_bucket_setting("b", "cors", "<x/>")
    s.put_object(ObjectRecord("b", "other", 1, "e", T0, (Segment("x", 1),)))
    cred = s.credential_for

    def presigned() -> None:
        s.access_version()
        cred("AKIDNOTTHERE")
        s.get_bucket_setting("b", "cors")
        s.get_object("b", "k")

    def uncached() -> None:
        s._unchanged.clear()
        s.get_object("b", "k")

    rows = [
        ("get_object (unchanged WAL)", n, lambda: s.get_object("b", "k")),
        ("get_object (SELECT)", n, uncached),
        ("presigned-GET-like reads", n, presigned),
        ("get_bucket_setting", n, lambda: s.get_bucket_setting("b", "cors")),
        ("credential_for (unknown key)", n, lambda: cred("AKIDNOTTHERE")),
        ("put_object (fsync)", max(n // 20, 200), lambda: s.put_object(o)),
    ]
    for name, count, fn in rows:
        wall, cpu = best(count, fn)
        print(f"{name:28s} {wall:8.2f} µs wall {cpu:8.2f} µs cpu")
    s.close()


if __name__ == "__main__":
    main()
