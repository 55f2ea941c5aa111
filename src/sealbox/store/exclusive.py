"""One holder at a time of a named piece of background work, among every
process sharing a SQLite database: an ``flock`` on a file beside it. The
kernel releases it when its holder exits, a crash included, so a worker
that dies never leaves the work unowned. (PostgreSQL's stores use a session
advisory lock instead: ``PostgresMetaStore.exclusive``.)"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def file_lock(path: str) -> Iterator[bool]:
    """True while this process holds ``path``'s lock; False (at once, not
    waiting) when another holder has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock
