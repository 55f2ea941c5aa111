"""Group sync of small blobs: uploads that finish together share one
``syncfs(2)`` instead of an fsync of each file and of its directory.

On the virtual disks we run on, an fsync costs ~0.35 ms and concurrent ones
barely overlap: 32 one-KiB files took 5.9 ms to fsync from 16 threads (8.8 ms
one after another), and 0.8 ms with one syncfs of their file system. A small
upload's blob is written and renamed into place without an fsync, then waits
here: the first writer to find no sync running calls syncfs for everyone who
arrived before it started; writers that arrive during it share the next one.
syncfs writes back every file's data and metadata on that file system, the
renames' directory entries included, so when it returns each waiter's blob
(and its name) is on disk, before any record is committed to point at it.

A writer is released only by a sync that *started* after it arrived, never by
one already running. If syncfs fails (an I/O error: Linux reports writeback
errors to syncfs since 5.8) or does not exist here (not Linux, no libc
symbol), the writer falls back to fsyncing its own file and directory, which
raises the error if it persists.

syncfs also writes back other files' dirty pages on that file system (a
large upload in progress, for one); those would have to reach the disk for
their own fsync anyway, so the work is moved earlier, not added.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
import weakref
from collections.abc import Callable

from sealbox.store.forks import reset_in_child

_KEEP_RESULTS = 64  # results of recent syncs, for waiters not yet woken


def _libc_syncfs() -> Callable[[int], int] | None:
    """libc's syncfs, or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_SYNCFS = _libc_syncfs()


def syncfs(fd: int) -> None:
    """syncfs(2) of the file system holding ``fd``; OSError on failure."""
    if _SYNCFS is None:
        raise OSError("syncfs is not available here")
    if _SYNCFS(fd) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))


class GroupSync:
    """Shared syncfs calls for one file system (``root``: a directory on it)."""

    def __init__(self, root: str) -> None:
        self._fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        weakref.finalize(self, os.close, self._fd)
        self.available = _SYNCFS is not None
        self._cond = threading.Condition()
        self._started = 0  # syncs started so far; the running one's number
        self._done = 0  # the last sync finished
        self._running = False
        self._failed: dict[int, bool] = {}  # recent syncs: number -> it failed
        reset_in_child(self, type(self)._reset_in_child)

    def _reset_in_child(self) -> None:
        """A forked child has no sync running."""
        self._cond = threading.Condition()
        self._running = False
        self._done = self._started

    def sync(self) -> bool:
        """Everything written on this file system before the call is on disk
        when it returns True; False: the sync failed or is unavailable, the
        caller must fsync what it wrote itself."""
        if not self.available:
            return False
        with self._cond:
            # The first sync to start from now on covers us.
            ticket = self._started + 1
            while self._done < ticket:
                if not self._running:
                    self._running = True
                    self._started += 1
                    break
                self._cond.wait()
            else:
                return not self._failed.get(ticket, True)
            number = self._started
        failed = False
        try:
            syncfs(self._fd)
        except OSError:
            failed = True
        with self._cond:
            self._running = False
            self._done = number
            self._failed[number] = failed
            while len(self._failed) > _KEEP_RESULTS:
                del self._failed[next(iter(self._failed))]
            self._cond.notify_all()
        return not failed
