"""Blob files kept open between reads, shared by the readers of a blob.

Serving a small object costs more in ``open``/``fstat``/``close`` than in
reading it. A blob never changes once written (an overwrite makes a new
blob), so one descriptor can serve every reader: each gets a ``SharedBlob``
that reads with ``pread`` at its own position, and the descriptor closes
when it has left the cache and its last reader is done.

A blob deleted here leaves the cache at once. One deleted by another
process (a worker, a node sharing the files) stays readable through a cached
descriptor for at most ``max_age`` seconds, which is what a reader that
opened it a moment earlier would see anyway; only then is its space freed.
This is nginx's ``open_file_cache``, for files that are never rewritten.
"""

from __future__ import annotations

import os
import threading
import time
from typing import BinaryIO, Self, cast

from sealbox.store.blobs import PositionedReader
from sealbox.store.forks import reset_in_child


class _Descriptor:
    __slots__ = ("dropped", "fd", "opened", "readers")

    def __init__(self, fd: int, opened: float) -> None:
        self.fd = fd
        self.opened = opened
        self.readers = 1  # the cache's own hold
        self.dropped = False


class SharedBlob(PositionedReader):
    """One reader's view of a cached descriptor: what readers of a blob use
    of a binary file (``read``, ``seek``, ``tell``, ``fileno``, ``close``)."""

    __slots__ = ("_cache", "_descriptor", "closed")  # and PositionedReader's

    def __init__(self, cache: OpenBlobs, descriptor: _Descriptor) -> None:
        self._cache = cache
        self._descriptor = descriptor
        self._position = 0
        self.closed = False

    def fileno(self) -> int:
        return self._descriptor.fd

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = os.fstat(self._descriptor.fd).st_size - self._position
        data = os.pread(self._descriptor.fd, max(0, size), self._position)
        self._position += len(data)
        return data

    def _end(self) -> int:
        return os.fstat(self._descriptor.fd).st_size

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._cache.release(self._descriptor)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class OpenBlobs:
    """Descriptors of recently read blobs, by blob id; bounded in number and age."""

    def __init__(self, max_open: int = 256, max_age: float = 10.0) -> None:
        self._max_open = max_open
        self._max_age = max_age
        self._lock = threading.Lock()
        self._open: dict[str, _Descriptor] = {}
        reset_in_child(self, type(self)._reset_in_child)

    def _reset_in_child(self) -> None:
        """A forked child starts with none (its copies close)."""
        self._lock = threading.Lock()
        for descriptor in self._open.values():
            os.close(descriptor.fd)
        self._open = {}

    def open(self, blob_id: str, path: str) -> BinaryIO:
        """A reader of the blob at ``path``; ``FileNotFoundError`` if it is gone."""
        now = time.monotonic()
        with self._lock:
            descriptor = self._open.get(blob_id)
            if descriptor is not None:
                if now - descriptor.opened <= self._max_age:
                    descriptor.readers += 1
                    return cast(BinaryIO, SharedBlob(self, descriptor))
                self._drop(blob_id)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # outside the lock: may block
        descriptor = _Descriptor(fd, now)
        descriptor.readers += 1  # the caller's
        with self._lock:
            if blob_id not in self._open:
                if len(self._open) >= self._max_open:
                    self._drop(next(iter(self._open)))  # the oldest
                self._open[blob_id] = descriptor
            else:  # another thread opened it meanwhile: this one is the caller's alone
                descriptor.readers -= 1
                descriptor.dropped = True
        return cast(BinaryIO, SharedBlob(self, descriptor))

    def forget(self, blob_id: str) -> None:
        """The blob is being deleted: no new reader gets its descriptor."""
        with self._lock:
            self._drop(blob_id)

    def _drop(self, blob_id: str) -> None:
        descriptor = self._open.pop(blob_id, None)
        if descriptor is not None and not descriptor.dropped:
            descriptor.dropped = True
            self._release_locked(descriptor)  # the cache's own hold

    def release(self, descriptor: _Descriptor) -> None:
        with self._lock:
            self._release_locked(descriptor)

    def _release_locked(self, descriptor: _Descriptor) -> None:
        descriptor.readers -= 1
        if descriptor.readers == 0:
            os.close(descriptor.fd)

    def close(self) -> None:
        with self._lock:
            for blob_id in list(self._open):
                self._drop(blob_id)
