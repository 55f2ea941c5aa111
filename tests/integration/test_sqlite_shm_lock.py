"""A serving process keeps SQLite's shared lock on the WAL-index (-shm).

SQLite tells whether it is the only process using a database by trying an
exclusive lock on one byte of the -shm file (the "DMS" byte); a process
that gets it resets the file. POSIX locks belong to the process and a
close of *any* descriptor of the file drops them all, so a descriptor the
server opened on -shm and closed (to map the header: store/sqlite_watch)
silently dropped SQLite's lock: the next process to open the database (a
CLI command, a second worker) reset the file under the server, which died
of SIGBUS reading its mapping or went on with a WAL-index nobody else saw.
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

import requests

from sealbox.testing.server import RunningServer

DMS_BYTE = (22 + 8) * 4 + 8  # UNIX_SHM_DMS in SQLite's os_unix.c
_FLOCK = "hh4xqqi4x"  # struct flock on Linux x86-64 / aarch64 (glibc)


def _lock_held(path: Path, offset: int) -> int:
    """The type of a lock another process holds on ``offset`` (F_UNLCK: none)."""
    fd = os.open(path, os.O_RDWR)
    try:
        probe = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, offset, 1, 0)
        answer = fcntl.fcntl(fd, fcntl.F_GETLK, probe)
        return int(struct.unpack(_FLOCK, answer)[0])
    finally:
        os.close(fd)  # this test process holds no SQLite lock on the file


def test_the_server_keeps_sqlites_lock_on_the_wal_index_while_it_serves(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data") as server:
        # Requests that read the store through the commit watch (it maps the
        # -shm header on first use) and write it.
        for _ in range(3):
            assert requests.get(f"{server.endpoint}/_sealbox/health", timeout=5).ok
            assert requests.put(f"{server.endpoint}/b", timeout=5).status_code in (200, 403)
        shm = tmp_path / "data" / "meta.sqlite3-shm"
        assert shm.exists()
        assert _lock_held(shm, DMS_BYTE) == fcntl.F_RDLCK
