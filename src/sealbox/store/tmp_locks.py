"""Temporary files a dead writer left behind, told apart by their lock.

A blob writer takes an exclusive ``flock`` on its temporary file the moment
it creates it, and holds it until the file is renamed into place or
removed. The kernel drops a process's locks when it ends, however it ends
(SIGKILL and the OOM killer too), so a temporary file that nobody has
locked belongs to no live writer, in this process or in any other sharing
the data dir (``--workers N`` forks or spawns workers that each open the
store). That is why ownership is a lock and not a pid in the file name: a
restarted container reuses its pids, and a pid is alive for as long as an
unrelated process holds it.

A file is created and then locked, two system calls apart. A file found
unlocked while younger than ``GRACE`` seconds may be in between, so it is
looked at again once it is ``GRACE`` old: a writer still alive has locked
it long before.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable

GRACE = 1.0


def hold(fd: int) -> None:
    """Mark the temporary file open on ``fd`` as a live writer's (blocking:
    a sweeper holds the lock only to test it)."""
    fcntl.flock(fd, fcntl.LOCK_EX)


def _unlocked(path: str) -> float | None:
    """The file's mtime when no one holds its lock, else None (or gone)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:  # gone, or not a plain file we may open
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        return os.fstat(fd).st_mtime
    finally:
        os.close(fd)  # drops our lock


def remove_abandoned(directory: str, is_temporary: Callable[[str], bool],
                     clock: Callable[[], float] = time.time,
                     sleep: Callable[[float], None] = time.sleep) -> int:
    """Remove the files of ``directory`` named as ``is_temporary`` says that
    no live writer holds; how many went. May wait up to ``GRACE`` seconds
    for a very young unlocked file (see the module docstring)."""
    with os.scandir(directory) as it:
        names = [e.name for e in it
                 if is_temporary(e.name) and e.is_file(follow_symlinks=False)]
    removed = 0
    young: list[str] = []
    newest = 0.0
    for name in names:
        path = os.path.join(directory, name)
        mtime = _unlocked(path)
        if mtime is None:
            continue
        if clock() - mtime < GRACE:
            young.append(path)
            newest = max(newest, mtime)
            continue
        removed += _unlink(path)
    if young:
        sleep(max(0.0, newest + GRACE - clock()))
        removed += sum(_unlink(path) for path in young if _unlocked(path) is not None)
    return removed


def _unlink(path: str) -> int:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return 0
    return 1
