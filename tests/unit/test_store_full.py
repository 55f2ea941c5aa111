"""store.full: what counts as out of space, and the rate-limited notice."""

from __future__ import annotations

import copy
import errno
import logging
import sqlite3
from pathlib import Path

import pytest

from sealbox.store.full import FullNotice, out_of_space


def sqlite_full(tmp_path: Path) -> sqlite3.Error:
    """A real SQLITE_FULL: a database not allowed to grow."""
    conn = sqlite3.connect(tmp_path / "tiny.db")
    conn.execute("CREATE TABLE t (v BLOB)")
    conn.execute("PRAGMA max_page_count = 3")
    try:
        with pytest.raises(sqlite3.OperationalError) as caught:
            for _ in range(100):
                conn.execute("INSERT INTO t VALUES (?)", (b"x" * 4000,))
    finally:
        conn.close()
    return caught.value


class _DiskFull(Exception):
    sqlstate = "53100"  # as psycopg.errors.DiskFull carries it


def test_a_full_disk_a_quota_or_a_full_database_is_out_of_space(tmp_path: Path) -> None:
    full = sqlite_full(tmp_path)
    assert getattr(full, "sqlite_errorname", "SQLITE_FULL") == "SQLITE_FULL"
    for error in (OSError(errno.ENOSPC, "No space left on device"),
                  OSError(errno.EDQUOT, "Disk quota exceeded"), full, copy.copy(full),
                  sqlite3.OperationalError("database or disk is full"), _DiskFull()):
        assert out_of_space(error), error


def test_other_failures_are_not(tmp_path: Path) -> None:
    for error in (OSError(errno.EIO, "I/O error"), FileNotFoundError(2, "gone"),
                  sqlite3.OperationalError("database is locked"), ValueError("full"), None):
        assert not out_of_space(error), error


def test_the_chain_is_followed_and_a_cycle_ends() -> None:
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device")
        except OSError:
            # raised while handling it, as a failed ROLLBACK would be
            raise sqlite3.OperationalError("cannot rollback - no transaction is active")
    except sqlite3.OperationalError as masked:
        assert out_of_space(masked)
    loop = RuntimeError("a")
    other = RuntimeError("b")
    loop.__context__, other.__context__ = other, loop
    assert not out_of_space(loop)


def test_the_notice_is_logged_once_per_interval_with_a_count(
        caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    notice = FullNotice("uploads are refused", interval=300, clock=lambda: now[0])
    error = OSError(errno.ENOSPC, "No space left on device")
    with caplog.at_level(logging.ERROR, logger="sealbox.store"):
        for _ in range(1000):
            notice.report(error)
        now[0] = 299.0
        notice.report(error)
        assert len(caplog.records) == 1
        now[0] = 300.0
        notice.report(error)
    assert len(caplog.records) == 2
    first, second = (r.getMessage() for r in caplog.records)
    assert "No space left on device" in first and "uploads are refused" in first
    assert first.endswith("line: 1)") and second.endswith("line: 1001)")
    assert all(r.exc_info is None for r in caplog.records)  # no traceback per refusal
