"""sealbox.store.sqlite_group: writers share commits, each gets its own
result or error, and nothing is acknowledged that a commit did not keep."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sealbox.store.sqlite_group import GroupCommit


class Db:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")
        self.commits = 0
        self.fail_commit = False
        self.lock = threading.Lock()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                if self.fail_commit:
                    raise sqlite3.OperationalError("disk I/O error")
                self.conn.execute("COMMIT")
                self.commits += 1
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def rows(self) -> dict[int, str]:
        return dict(self.conn.execute("SELECT k, v FROM t").fetchall())


def insert(k: int, v: str | None):  # type: ignore[no-untyped-def]
    def work(c: sqlite3.Connection) -> int:
        c.execute("INSERT INTO t VALUES (?, 'first')", (k,))
        c.execute("UPDATE t SET v = ? WHERE k = ?", (v, k))  # NULL: fails after a write
        return k
    return work


def test_concurrent_writers_share_commits_and_each_gets_its_result(tmp_path: Path) -> None:
    db = Db(tmp_path / "g.db")
    group = GroupCommit(db.transaction)
    results: dict[int, object] = {}
    start = threading.Barrier(32)

    def writer(k: int) -> None:
        start.wait()
        for i in range(20):
            key = k * 100 + i
            try:
                results[key] = group.run(insert(key, None if key % 7 == 0 else f"v{key}"))
            except sqlite3.IntegrityError as error:
                results[key] = error

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    rows = db.rows()
    for key, result in results.items():
        if key % 7 == 0:  # failed after its first statement: rolled back alone
            assert isinstance(result, sqlite3.IntegrityError) and key not in rows
        else:
            assert result == key and rows[key] == f"v{key}"
    assert len(results) == 640
    assert db.commits < 640  # some commits were shared


def test_a_failed_commit_fails_every_writer_in_it_and_keeps_nothing(tmp_path: Path) -> None:
    db = Db(tmp_path / "g.db")
    group = GroupCommit(db.transaction)
    db.fail_commit = True
    with pytest.raises(sqlite3.OperationalError):
        group.run(insert(1, "one"))
    db.fail_commit = False
    assert db.rows() == {}
    assert group.run(insert(2, "two")) == 2
    assert db.rows() == {2: "two"}
