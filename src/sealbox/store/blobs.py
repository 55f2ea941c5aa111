"""The BlobStore interface: where object bytes are kept.

A blob is written once, under a name made from a fresh id (never from an
object key), and never changed. Writing goes to a temporary file that is
fsynced and renamed into place by ``finish``; only then may metadata
point at it. A blob left behind by a crash between ``finish`` and the
metadata commit is an orphan that ``sweep`` removes; a temporary file left
by a crash or a client that went away is removed by ``sweep`` too.

Two stores implement it: local files (``store.localfs``, the default) and
a bucket of an S3-compatible cluster (``store.s3blobs``). A store whose
backend fails raises ``BlobBackendError``, which says whether trying again
later may help; the server turns it into S3's 503 or 500.
"""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator, Iterable
from typing import BinaryIO, Literal, Protocol

# Why a backend failed: "busy" (it answered 503 / SlowDown after our
# retries), "unreachable" (no answer: refused, reset, timed out), "refused"
# (it answered no: credentials, a missing bucket), "failed" (anything else).
BackendFailure = Literal["busy", "unreachable", "refused", "failed"]


class BlobBackendError(Exception):
    """The blob backend could not do what was asked (after the retries that
    were safe). ``kind`` says why; the text is for the server's log only."""

    def __init__(self, kind: BackendFailure, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind

    @property
    def retriable(self) -> bool:
        """Whether a client trying again later may succeed."""
        return self.kind in ("busy", "unreachable")


class PositionedReader:
    """The position of a blob reader that reads at an offset it keeps
    itself (``pread``, a ranged GET, a sealed span) rather than a file's:
    ``seek``, ``tell`` and the answers ``io`` callers ask for. ``_end`` is
    the blob's size, for a seek from the end."""

    __slots__ = ("_position",)

    def _end(self) -> int:
        raise io.UnsupportedOperation("seek from the end of this blob")

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            self._position = offset
        elif whence == os.SEEK_CUR:
            self._position += offset
        else:
            self._position = self._end() + offset
        return self._position

    def tell(self) -> int:
        return self._position

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True


class StreamingBlob:
    """A blob read over the network, not from a file: the server streams it
    with ``chunks`` on its event loop instead of ``pread``/``sendfile``.
    ``start`` sends the first request early, so that a backend failure
    becomes an error answer before any header has gone out.

    A base class, not a runtime-checked Protocol: every GET asks
    ``isinstance(file, StreamingBlob)``, which costs ~0.1 µs for a class
    and microseconds for a Protocol, on a path whose budget is ~50 µs."""

    async def start(self, offset: int, length: int) -> None:
        raise NotImplementedError

    def chunks(self, offset: int, length: int) -> AsyncIterator[bytes]:
        raise NotImplementedError

    def views(self, offset: int, length: int) -> AsyncIterator[bytes | memoryview]:
        """As ``chunks``, but a piece may be a view of a buffer the blob
        fills again for the next one: it is valid only until the iteration
        goes on (the server writes it before asking for more)."""
        return self.chunks(offset, length)


class BlobWriter(Protocol):
    blob_id: str

    def write(self, data: bytes) -> None: ...

    def finish(self) -> str:
        """fsync, rename into place; returns the blob id. Blocking."""

    def abort(self) -> None:
        """Drop the temporary file. Safe to call twice or after finish fails."""


class BlobStore(Protocol):
    def writer(self) -> BlobWriter:
        """A writer for a new blob with a fresh id."""

    def open(self, blob_id: str) -> BinaryIO:
        """Open a finished blob for reading; FileNotFoundError if it is gone."""

    def local_path(self, blob_id: str) -> str | None:
        """The blob's file path where the server can send it zero-copy, or
        None for stores that are not local files."""

    def delete(self, blob_id: str) -> None:
        """Remove a blob; no error if it is already gone."""

    def check_ready(self) -> None:
        """Raise (any exception, its text a short reason) unless the store
        answers and takes writes; called by /_sealbox/ready, on a thread."""

    def delete_many(self, blob_ids: Iterable[str]) -> None:
        """Remove blobs (batched where the backend can); none missing is an error."""

    def sweep(self, referenced: set[str], *, min_age_seconds: float) -> int:
        """Remove temporary files and unreferenced blobs older than
        ``min_age_seconds``; returns how many were removed."""
