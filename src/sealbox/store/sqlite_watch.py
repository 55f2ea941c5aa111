"""Knowing, without a query, that nothing was committed to a SQLite database
since a given moment: what lets the hottest point reads be served from memory.

In WAL mode every connection to a database, in every process, shares the
WAL-index (the ``-shm`` file, mapped into memory), and a commit is published
by rewriting the 48-byte header at its start: ``mxFrame`` (the last valid
frame) grows with every commit and the salts change when the WAL restarts
(https://www.sqlite.org/walformat.html, "The WAL-Index Format"). So while
the header reads the same, no transaction has committed; a value read
*after* the header was read is still current as long as the header stays
equal. This is how SQLite itself tells that its page cache is still good,
read here with no lock and no system call.

SQLite writes the header twice (the second copy first, then the first) and
a reader takes it only when both copies agree; so do we, and any doubt (a
torn read, an uninitialised or unknown-version index, no ``-shm`` file)
means "cannot tell" and the caller reads the database. The watch keeps a
connection of its own open, so the ``-shm`` file is never reset (SQLite
truncates it only when a first connection opens it) while it is mapped.
"""

from __future__ import annotations

import mmap
import os
import sqlite3
import sys
import threading

from sealbox.store.forks import reset_in_child

_HEADER = 48  # sizeof(WalIndexHdr); two copies at offsets 0 and 48
_VERSION = (3007000).to_bytes(4, sys.byteorder)  # iVersion, native byte order
_IS_INIT = 12  # offset of the isInit byte


class CommitWatch:
    """The WAL-index header of one database, as a token: two equal tokens
    mean that nothing was committed between the two readings."""

    def __init__(self, db_path: str) -> None:
        self._path = db_path
        self._lock = threading.Lock()
        self._map: mmap.mmap | None = None
        self._conn: sqlite3.Connection | None = None
        self._fd: int | None = None
        self._tried = False
        self._inherited: list[object] = []
        reset_in_child(self, type(self)._reset_in_child)

    def _reset_in_child(self) -> None:
        """A forked child maps and connects on its own."""
        self._inherited.extend((self._map, self._conn))
        self._map = self._conn = None
        self._fd = None  # the parent's: never closed here (see _open)
        self._tried = False
        self._lock = threading.Lock()

    def token(self) -> bytes | None:
        """The header now, or None when it cannot be trusted."""
        header = self._map
        if header is None:
            if self._tried:
                return None
            header = self._open()
            if header is None:
                return None
        both = header[: 2 * _HEADER]  # one copy out of the shared page
        first = both[:_HEADER]
        if first != both[_HEADER:] or first[:4] != _VERSION or first[_IS_INIT] != 1:
            return None
        return first

    def _open(self) -> mmap.mmap | None:
        with self._lock:
            if self._tried:
                return self._map
            self._tried = True
            try:
                conn = sqlite3.connect(self._path, check_same_thread=False)
                # A read makes sure the -shm file exists and is initialised.
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
                if str(mode).lower() != "wal":
                    conn.close()
                    return None
                fd = os.open(self._path + "-shm", os.O_RDONLY | os.O_CLOEXEC)
                # Never closed while the store is open: closing any descriptor
                # of a file drops every POSIX lock this process holds on it,
                # SQLite's shared lock on the -shm file included. Another
                # process (a CLI command, a bench) then took the file for
                # unused, reset it, and the server died of SIGBUS reading
                # its mapping (seen with bench/links.py).
                self._fd = fd
                if os.fstat(fd).st_size < 2 * _HEADER:
                    conn.close()
                    return None
                self._map = mmap.mmap(fd, 2 * _HEADER, flags=mmap.MAP_SHARED,
                                      prot=mmap.PROT_READ)
            except (OSError, sqlite3.Error, ValueError):
                return None
            self._conn = conn  # held open: the -shm file is not reset under the map
            return self._map

    def close(self) -> None:
        """Unmap and close (after the store's own connections: see ``_open``)."""
        with self._lock:
            self._tried = True  # never again
            if self._map is not None:
                self._map.close()
                self._map = None
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
