"""A thread that does a process's background work on a period.

The audit trail's writer, the signature doctor's recorder and the access
logs' delivery each keep a bounded queue that the request path only
appends to, and drain it from a thread of their own: every ``interval``
seconds, or at once when woken. They share this loop: the thread runs at
a lower priority (under a full CPU the event loop goes first; at nice 5
the kernel still gives it about a quarter of a contended core, several
times what the work takes), outlives any one failure of its work, and on
``close`` does the work one last time, so a stopped server loses nothing
it queued.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

NICE = 5  # added to the thread's nice value (Linux: per thread)


class Periodic:
    """``work()`` every ``interval`` seconds, or when ``wake()``d, on its
    own thread, until ``close()``; ``final()`` (default ``work``) once more
    after the thread has stopped."""

    def __init__(self, name: str, work: Callable[[], object], interval: float, *,
                 log: logging.Logger, final: Callable[[], object] | None = None) -> None:
        self.name = name
        self.work = work
        self.interval = interval
        self.final = final or work
        self.log = log
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._stop = False
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
            self._thread.start()

    def wake(self) -> None:
        """Run the work now rather than at the end of the period."""
        self._wake.set()

    def close(self, timeout: float = 30.0) -> None:
        """Stop the thread (after its current work), then ``final()``."""
        self._stop = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            self._thread = None
        self.final()

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
        except (AttributeError, OSError):  # not Linux, or not allowed: run as is
            pass
        while not self._stop:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop:
                break  # close() does the last round
            try:
                self.work()
            except Exception:  # the thread must outlive any one failure
                self.log.exception("%s failed", self.name)
