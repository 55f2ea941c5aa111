"""Out of space: a full disk (or quota, or database) told apart from other
failures, and reported once rather than once per request.

Space runs out where bytes are written: a blob's temporary file (its
writes, its fsync, the fan-out directory made for it), SQLite's WAL on a
commit (``SQLITE_FULL``, "database or disk is full"), PostgreSQL's disk
(SQLSTATE 53100 ``disk_full``), the edge cache's copies. The error may come
wrapped (raised while handling another, or copied to every writer of a
failed group commit), so the whole chain is looked at.

Nothing that reads needs space: objects already stored stay readable, and
the edge serves from the origin when it cannot keep a copy. Deleting needs
some: with SQLite in the full data dir a delete is a commit, whose WAL may
have no room to grow, so deletes can be refused too until space is freed
outside sealbox (or PostgreSQL, on its own disk, holds the metadata).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

log = logging.getLogger("sealbox.store")

_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_FULL = "SQLITE_FULL"
_SQLITE_FULL_TEXT = "database or disk is full"
_PG_DISK_FULL = "53100"  # PostgreSQL's disk_full (psycopg's errors.DiskFull)
REPORT_INTERVAL = 300.0  # seconds between two "the store is full" lines


def out_of_space(error: BaseException | None) -> bool:
    """Whether ``error``, or one it was raised from or while handling, says
    the disk, a quota or the database is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _ERRNOS:
            return True
        if isinstance(error, sqlite3.Error) and (
                getattr(error, "sqlite_errorname", None) == _SQLITE_FULL
                or _SQLITE_FULL_TEXT in str(error)):
            return True
        if getattr(error, "sqlstate", None) == _PG_DISK_FULL:
            return True
        error = error.__cause__ or error.__context__
    return False


class FullNotice:
    """One log line when the store first finds itself full, then at most one
    every ``interval`` seconds while it stays full, counting the failures in
    between: a full disk refuses every upload, and a line (let alone a
    traceback) per refusal would fill what is left of it with logs.
    ``consequence`` says what the server does about it."""

    def __init__(self, consequence: str, interval: float = REPORT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic,
                 logger: logging.Logger = log) -> None:
        self._consequence = consequence
        self._interval = interval
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        self._last: float | None = None
        self._since = 0  # refusals not yet reported

    def report(self, error: BaseException) -> None:
        """Note one failure for lack of space; log it if none was lately."""
        now = self._clock()
        with self._lock:
            self._since += 1
            if self._last is not None and now - self._last < self._interval:
                return
            self._last, count, self._since = now, self._since, 0
        self._log.error("out of space: %s; %s (failures since the last such line: %d)",
                        _describe(error), self._consequence, count)


def _describe(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= 200 else text[:200] + "…"


# Writes of the S3, IAM, CloudFront and admin APIs.
NOTICE = FullNotice("uploads and other changes are refused with 507 InsufficientStorage "
                    "until space is freed; stored objects stay readable")
# The edge's disk cache.
EDGE_CACHE_NOTICE = FullNotice("the edge serves objects from the origin without keeping "
                               "copies until space is freed")
