"""The BlobStore interface: where object bytes are kept.

A blob is written once, under a name made from a fresh id (never from an
object key), and never changed. Writing goes to a temporary file that is
fsynced and renamed into place by ``finish``; only then may metadata
point at it. A blob left behind by a crash between ``finish`` and the
metadata commit is an orphan that ``sweep`` removes; a temporary file left
by a crash or a client that went away is removed by ``sweep`` too.
"""

from __future__ import annotations

from typing import BinaryIO, Protocol


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

    def sweep(self, referenced: set[str], *, min_age_seconds: float) -> int:
        """Remove temporary files and unreferenced blobs older than
        ``min_age_seconds``; returns how many were removed."""
