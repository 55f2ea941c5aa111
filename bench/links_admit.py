"""The SQLite part of a one-time GET, in process, as the two designs do it:

- ``read-then-use``: the link's record read in a read transaction of its
  own (``get_link``, what the gate did on the event loop before), then the
  use in a batch's group commit (the conditional UPDATE alone);
- ``admit``: the batch's group commit reads each link's terms, judges the
  request and counts the use (``admit_links``, what a one-time GET does now).

CPU time of the calling thread (user and system: the WAL-index locking and
the WAL writes are system time) per request, best of alternating rounds,
batches of ``BATCH`` requests through distinct one-time links:

    PYTHONPATH=src python bench/links_admit.py [BATCH] [ROUNDS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sealbox.links.model import new_link_id
from sealbox.links.store import USE_LINK_SQL
from sealbox.links.terms import LinkRequest
from sealbox.store.sqlite import SqliteMetaStore

PER_ROUND = 2000  # requests per round and design


def main(batch: int = 8, rounds: int = 5) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-admit-") as tmp:
        measure(SqliteMetaStore(str(Path(tmp) / "meta.sqlite3")), batch, rounds)


def measure(meta: SqliteMetaStore, batch: int, rounds: int) -> None:
    ids = [new_link_id() for _ in range(2 * rounds * PER_ROUND)]
    with meta._write() as c:  # one transaction for the set-up
        c.executemany(
            "INSERT INTO links (link_id, access_key, signer, bucket, key, method, created, "
            "expires, max_uses, uses, bind, content_type, max_size, note, fingerprint) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [(i, "AKID", "arn", "b", "k", "GET", 0, 2**40, 1, 0, "", None, None, "", i)
             for i in ids])
    fresh: Iterator[str] = iter(ids)

    def read_then_use() -> None:
        taken = [next(fresh) for _ in range(batch)]
        for link_id in taken:
            assert meta.get_link(link_id) is not None
        used = meta._group.run(
            lambda c: [c.execute(USE_LINK_SQL, (i,)).rowcount for i in taken])
        assert used == [1] * batch

    def admit() -> None:
        asked = [LinkRequest(next(fresh), "AKID", "GetObject", "b", "k", None, "127.0.0.1", {})
                 for _ in range(batch)]
        assert all(refused is None for _, refused in meta.admit_links(asked))

    def cpu_per_request(design: Callable[[], None]) -> float:
        began = time.thread_time_ns()
        for _ in range(PER_ROUND // batch):
            design()
        return (time.thread_time_ns() - began) / (PER_ROUND // batch * batch) / 1000

    best = {"read-then-use": float("inf"), "admit": float("inf")}
    for _ in range(rounds):
        best["read-then-use"] = min(best["read-then-use"], cpu_per_request(read_then_use))
        best["admit"] = min(best["admit"], cpu_per_request(admit))
    meta.close()
    for name, micros in best.items():
        print(f"{name:14s} {micros:6.1f} µs of CPU a request (batches of {batch})")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
