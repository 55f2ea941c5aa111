"""LocalBlobStore: blobs as files under one root directory.

Layout::

    root/blobs/ab/cd/abcd…   one file per blob, named by its id (32 hex
                             digits), fanned out by its first two bytes
    root/tmp/<id>            a blob being written

Names come only from fresh random ids, never from object keys, and every
id given back to us is checked to be 32 lower-case hex digits before it
becomes a path, so no input can name a file outside ``root``.

A writer creates its temporary file with ``O_EXCL``; ``finish`` renames it
into place and makes it and its name durable with a syncfs shared with the
blobs finishing at the same time (store.fs_sync; where there is no syncfs:
an fsync of the file, of the directory that received it and of the parents
of fan-out directories it had to create), so a finished blob survives a
power cut before metadata is committed to point at it. A crash before that
leaves at most an unreferenced file in place, which the sweep removes.

A writer holds a lock on its temporary file until the file is in place
(store.tmp_locks), so opening the store removes at once the temporary files
of writers that died (a crash, a kill -9): no process's upload in progress
is touched, and nothing waits for the hourly sweep's day-old rule.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from typing import BinaryIO, Self

from sealbox.store.blob_ids import ID, BlobIds, check_id
from sealbox.store.fs_sync import GroupSync
from sealbox.store.open_blobs import OpenBlobs
from sealbox.store.tmp_locks import hold, remove_abandoned

_FAN = re.compile(r"[0-9a-f]{2}")
_FILE_MODE = 0o600
MEMORY_BYTES = 64 * 1024  # a blob this small is kept in memory until finish
_DIR_MODE = 0o700


def _fsync_dir(path: str) -> None:
    _fsync_file(path, os.O_DIRECTORY)


def _fsync_file(path: str, flags: int = 0) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _ensure_dir(path: str, durable: bool = True) -> None:
    """Create ``path`` (one level) if missing; fsync its parent if we made it
    (unless ``durable`` is False: a syncfs to come covers it)."""
    try:
        os.mkdir(path, _DIR_MODE)
    except FileExistsError:
        return
    if durable:
        _fsync_dir(os.path.dirname(path))


class LocalBlobWriter:
    """Writes one blob to a temporary file; ``finish`` puts it in place.

    A body of up to ``MEMORY_BYTES`` is held in memory and its file made by
    ``finish``: the server calls ``finish`` in its thread pool, so a small
    upload touches the file system (create, write, fsync, rename, fsync)
    in that one trip, and never from the event loop.
    """

    def __init__(self, store: LocalBlobStore, blob_id: str) -> None:
        self.blob_id = blob_id
        self.size = 0
        self._store = store
        self._tmp = os.path.join(store.tmp_dir, blob_id)
        self._file: BinaryIO | None = None
        self._pending: list[bytes] = []
        self._state = "memory"  # then "file"; at the end "finished" or "aborted"

    def _open(self) -> BinaryIO:
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE)
        try:
            hold(fd)  # ours until it is in place (store.tmp_locks)
        except BaseException:
            os.close(fd)
            os.unlink(self._tmp)
            raise
        self._state = "file"
        f = self._file = os.fdopen(fd, "wb")
        pending, self._pending = self._pending, []
        if pending:
            f.write(b"".join(pending))
        return f

    def write(self, data: bytes) -> None:
        state = self._state
        if state == "memory":
            self.size += len(data)
            if self.size <= MEMORY_BYTES:
                self._pending.append(data if type(data) is bytes else bytes(data))
                return
            self.size -= len(data)
            self._open()
        elif state != "file":
            raise ValueError("write to a finished or aborted blob writer")
        assert self._file is not None
        self._file.write(data)
        self.size += len(data)

    def finish(self) -> str:
        """Durable and in place; returns the id.

        The file is written (a body still in memory: now), renamed into
        place, and made durable with its name by a sync of the file system
        shared with the blobs finishing at the same time (store.fs_sync).
        A large file is fsynced first by this thread, so the shared sync
        finds little of it left to write. Without syncfs: fsync the file
        and its directory.

        On failure the temporary file is removed and the error raised.
        """
        if not self._store.group_sync.available:
            _fsync_dir(os.path.dirname(self._place(alone=True)))
        else:
            self._store.sync_placed([self._place(alone=False)])
        return self.blob_id

    @property
    def in_memory(self) -> bool:
        """Nothing of the blob is on disk yet (a small body)."""
        return self._state == "memory"

    def place(self) -> str:
        """Written and renamed into place, not yet durable: a shared sync
        (``LocalBlobStore.sync_placed``) must follow before any record points
        at it. Its path; on failure the temporary file is removed."""
        return self._place(alone=False)

    def _place(self, *, alone: bool) -> str:
        """Write, fsync (a large file, or any file ``alone``: without a
        shared sync to follow) and rename into place; the path."""
        state = self._state
        if state not in ("memory", "file"):
            raise ValueError("finish of a finished or aborted blob writer")
        try:
            f = self._open() if state == "memory" else self._file
            assert f is not None
            f.flush()
            if state == "file" or alone:
                os.fsync(f.fileno())  # a large file's writeback by its own writer
            # A shared sync also makes new fan-out directories durable. The
            # file stays open (and locked) until it has left tmp/.
            dest = self._move_into_place(durable_dirs=alone)
        except BaseException:
            self.abort()
            raise
        f, self._file = self._file, None
        if f is not None:
            f.close()
        return dest

    def _move_into_place(self, *, durable_dirs: bool) -> str:
        store = self._store
        dest = store._path(self.blob_id, create_dirs=True, durable_dirs=durable_dirs)
        try:
            os.rename(self._tmp, dest)
        except FileNotFoundError:  # a fan-out directory removed from outside
            dest = store._path(self.blob_id, create_dirs=True, check=True,
                               durable_dirs=durable_dirs)
            os.rename(self._tmp, dest)
        # From here abort leaves the file: it is in place, and an unfinished
        # one (no record points at it) is the orphan sweep's.
        self._state = "finished"
        return dest

    def abort(self) -> None:
        """Drop the temporary file; idempotent, and a no-op after finish."""
        state = self._state
        if state in ("finished", "aborted"):
            return
        self._state = "aborted"
        self._pending = []
        f, self._file = self._file, None
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
        if state == "file":
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        # A writer left without finish (an error, a client gone) is dropped.
        self.abort()


class LocalBlobStore:
    """The BlobStore on the local file system; see the module docstring."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(os.fspath(root))
        self.blobs_dir = os.path.join(self.root, "blobs")
        self.tmp_dir = os.path.join(self.root, "tmp")
        # The root first: makedirs gives the leaf alone the mode asked for.
        os.makedirs(self.root, _DIR_MODE, exist_ok=True)
        os.makedirs(self.blobs_dir, _DIR_MODE, exist_ok=True)
        os.makedirs(self.tmp_dir, _DIR_MODE, exist_ok=True)
        # What writers that died left (an upload cut by a crash): gone now.
        remove_abandoned(self.tmp_dir, lambda name: ID.fullmatch(name) is not None)
        self._open_blobs = OpenBlobs()
        self._made: set[str] = set()  # fan-out directories known to exist
        self._ids = BlobIds()
        self.group_sync = GroupSync(self.root)

    def check_ready(self) -> None:
        """Raise OSError unless new blobs can be written here (the
        readiness probe, /_sealbox/ready): the directories exist and this
        process may write into them."""
        for path in (self.blobs_dir, self.tmp_dir):
            if not os.access(path, os.W_OK | os.X_OK):
                raise OSError(f"{os.path.basename(path)}/ is missing or not writable")

    def _path(self, blob_id: str, *, create_dirs: bool = False, check: bool = False,
              durable_dirs: bool = True) -> str:
        check_id(blob_id)
        # Plain concatenation: the id is checked hex, and this runs per GET.
        d1 = f"{self.blobs_dir}/{blob_id[0:2]}"
        d2 = f"{d1}/{blob_id[2:4]}"
        # Fan-out directories are never removed: each is made (or found) once
        # per process, not tried with two mkdir calls per upload.
        if create_dirs and (check or d2 not in self._made):
            _ensure_dir(d1, durable_dirs)
            _ensure_dir(d2, durable_dirs)
            self._made.add(d2)
        return f"{d2}/{blob_id}"

    def writer(self) -> LocalBlobWriter:
        return LocalBlobWriter(self, self._ids.next())

    def sync_placed(self, paths: list[str]) -> None:
        """Make blobs put in place by ``LocalBlobWriter.place`` durable, with
        their names: one shared sync (store.fs_sync); if it fails, each
        one's own fsyncs up to the root (for fan-out directories made
        without their parent's fsync), which raise if the error persists."""
        if self.group_sync.sync():
            return
        for path in paths:
            _fsync_file(path)
            d2 = os.path.dirname(path)
            for directory in (d2, os.path.dirname(d2), self.blobs_dir):
                _fsync_dir(directory)

    def open(self, blob_id: str) -> BinaryIO:
        # A shared, cached descriptor (store.open_blobs): blobs never change.
        return self._open_blobs.open(blob_id, self._path(blob_id))

    def local_path(self, blob_id: str) -> str | None:
        return self._path(blob_id)

    def delete(self, blob_id: str) -> None:
        self._open_blobs.forget(blob_id)
        try:
            os.unlink(self._path(blob_id))
        except FileNotFoundError:
            pass

    def delete_many(self, blob_ids: Iterable[str]) -> None:
        for blob_id in blob_ids:
            self.delete(blob_id)

    def sweep(self, referenced: set[str], *, min_age_seconds: float) -> int:
        """Remove temporary files and unreferenced blobs not modified for
        ``min_age_seconds``. The age guards blobs being written or finished
        but not yet committed: choose it well above the longest upload.
        Files whose names are not blob ids are left alone.
        """
        cutoff = time.time() - min_age_seconds
        removed = 0

        def old(entry: os.DirEntry[str]) -> bool:
            try:
                return entry.is_file(follow_symlinks=False) and (
                    entry.stat(follow_symlinks=False).st_mtime <= cutoff
                )
            except FileNotFoundError:
                return False

        def unlink(path: str) -> int:
            try:
                os.unlink(path)
                return 1
            except FileNotFoundError:
                return 0

        with os.scandir(self.tmp_dir) as it:
            for e in it:
                if ID.fullmatch(e.name) and old(e):
                    removed += unlink(e.path)
        for d1 in _subdirs(self.blobs_dir):
            for d2 in _subdirs(d1):
                with os.scandir(d2) as it:
                    for e in it:
                        if ID.fullmatch(e.name) and e.name not in referenced and old(e):
                            removed += unlink(e.path)
        return removed


def _subdirs(path: str) -> list[str]:
    with os.scandir(path) as it:
        return [e.path for e in it if _FAN.fullmatch(e.name) and e.is_dir(follow_symlinks=False)]
