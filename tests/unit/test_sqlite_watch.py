"""sealbox.store.sqlite_watch and the reads SqliteMetaStore serves from
memory while nothing is committed: a commit by any connection, in any
process, is seen by the very next read."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sealbox.store.meta import Bucket, ObjectRecord, Segment
from sealbox.store.sqlite import SqliteMetaStore
from sealbox.store.sqlite_watch import CommitWatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def wal_db(tmp_path: Path) -> tuple[str, sqlite3.Connection]:
    path = str(tmp_path / "w.db")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")
    return path, conn


def test_token_is_stable_across_reads_and_rollbacks_and_moves_on_commit(tmp_path: Path) -> None:
    path, conn = wal_db(tmp_path)
    watch = CommitWatch(path)
    first = watch.token()
    assert first is not None
    conn.execute("SELECT * FROM t").fetchall()
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (1, 'uncommitted')")
    assert watch.token() == first
    conn.execute("ROLLBACK")
    assert watch.token() == first
    conn.execute("INSERT INTO t VALUES (1, 'a')")
    assert watch.token() not in (None, first)


def test_a_database_not_in_wal_mode_cannot_be_watched(tmp_path: Path) -> None:
    path = str(tmp_path / "rollback.db")
    sqlite3.connect(path).execute("CREATE TABLE t (k)").connection.commit()
    assert CommitWatch(path).token() is None


def test_a_closed_watch_tells_nothing(tmp_path: Path) -> None:
    path, _ = wal_db(tmp_path)
    watch = CommitWatch(path)
    assert watch.token() is not None
    watch.close()
    assert watch.token() is None


def _record(key: str, etag: str) -> ObjectRecord:
    return ObjectRecord("bkt", key, 1, etag, NOW, (Segment("0" * 32, 1),))


def _overwrite(path: str, etag: str) -> None:  # another process, another store
    store = SqliteMetaStore(path)
    store.put_object(_record("k", etag))
    store.close()


def test_an_object_overwritten_by_another_process_is_read_anew(tmp_path: Path) -> None:
    path = str(tmp_path / "meta.db")
    store = SqliteMetaStore(path)
    store.create_bucket(Bucket("bkt", NOW, "us-east-1", "owner"))
    store.put_object(_record("k", "one"))
    assert store.get_object("bkt", "k").etag == "one"  # type: ignore[union-attr]
    assert store.get_object("bkt", "k").etag == "one"  # type: ignore[union-attr]  (from memory)
    process = multiprocessing.get_context("spawn").Process(target=_overwrite, args=(path, "two"))
    process.start()
    process.join(30)
    assert process.exitcode == 0
    assert store.get_object("bkt", "k").etag == "two"  # type: ignore[union-attr]
    assert store.get_object("bkt", "missing") is None
    store.put_object(_record("missing", "three"))
    assert store.get_object("bkt", "missing").etag == "three"  # type: ignore[union-attr]


def test_access_version_moved_by_another_connection_is_seen_at_once(tmp_path: Path) -> None:
    path = str(tmp_path / "meta.db")
    store = SqliteMetaStore(path)
    before = store.access_version()
    assert store.access_version() == before
    other = SqliteMetaStore(path)
    other.put_server_setting("public-access-block", "{}")
    assert store.access_version() > before
