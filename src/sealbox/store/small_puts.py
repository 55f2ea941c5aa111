"""Small uploads made durable in batches by one thread: on SQLite and local
files, the embedded defaults.

A 1 KiB PUT's durable step is a few system calls (create, write, close,
rename), a share of a syncfs and a share of a WAL commit. Run from the
server's thread pool, each PUT took a thread of its own and handed the GIL
back and forth with the event loop and 31 other threads at every call; the
shared syncfs and commit were met by whichever of them happened to wait.
Here one thread takes every upload waiting when it starts a batch: writes
and renames their blobs, makes them durable with one syncfs, commits all
their records in one transaction (one WAL fsync, each record in its own
savepoint), deletes the blobs that the records replaced, and wakes the
event loop once for the whole batch.

Nothing is acknowledged early: an upload's future resolves only after the
commit holding its record has returned; an upload whose blob could not be
written or made durable, or whose record could not be committed
(NoSuchBucket, a failed commit), gets that error and leaves no record
pointing at its blob (a blob in place but unreferenced is the orphan
sweep's). A client that goes away while its upload waits does not stop it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import TypeGuard

from sealbox.store.forks import reset_in_child
from sealbox.store.full import out_of_space
from sealbox.store.localfs import LocalBlobStore, LocalBlobWriter
from sealbox.store.meta import ObjectRecord
from sealbox.store.sqlite import SqliteMetaStore

log = logging.getLogger("sealbox.store")

MAX_BATCH = 256  # uploads per batch, to bound one commit's time


@dataclass(eq=False)
class _Upload:
    writer: LocalBlobWriter
    record: ObjectRecord
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[ObjectRecord | None]
    path: str = ""
    replaced: ObjectRecord | None = None
    error: BaseException | None = field(default=None)


class SmallPutBatcher:
    """One thread committing small uploads in batches; see the module docstring."""

    def __init__(self, meta: SqliteMetaStore, blobs: LocalBlobStore) -> None:
        self._meta = meta
        self._blobs = blobs
        self._queue: queue.SimpleQueue[_Upload | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        reset_in_child(self, type(self)._reset_in_child)

    def _reset_in_child(self) -> None:
        """A forked child starts its own thread."""
        self._queue = queue.SimpleQueue()
        self._thread = None
        self._lock = threading.Lock()

    @staticmethod
    def applies(meta: object, blobs: object) -> bool:
        return (isinstance(meta, SqliteMetaStore) and isinstance(blobs, LocalBlobStore)
                and blobs.group_sync.available)

    @staticmethod
    def takes(writer: object) -> TypeGuard[LocalBlobWriter]:
        """A blob the batch thread can write: a local one still in memory."""
        return isinstance(writer, LocalBlobWriter) and writer.in_memory

    async def commit(self, writer: LocalBlobWriter, record: ObjectRecord) -> ObjectRecord | None:
        """Write the blob, make it durable and commit ``record`` pointing at
        it; the record it replaced (whose other blobs are deleted). The
        store's error (NoSuchBucket…) if it could not."""
        loop = asyncio.get_running_loop()
        upload = _Upload(writer, record, loop, loop.create_future())
        self._start()
        self._queue.put(upload)
        return await upload.future

    def close(self) -> None:
        """Stop the thread after the uploads already queued."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join()

    def _start(self) -> None:
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="sealbox-small-puts",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.append(more)
            try:
                self._commit(batch)
            except BaseException as error:  # every upload of the batch gets it
                if not out_of_space(error):  # that one each request reports (store.full)
                    log.exception("small-upload batch failed")
                for upload in batch:
                    if upload.error is None:
                        upload.error = copy.copy(error)
            self._answer(batch)
            if stop:
                return

    def _commit(self, batch: list[_Upload]) -> None:
        for upload in batch:
            try:
                upload.path = upload.writer.place()
            except BaseException as error:  # noqa: BLE001 - that upload's alone
                upload.error = error
        placed = [upload for upload in batch if upload.error is None]
        if not placed:
            return
        try:
            self._blobs.sync_placed([upload.path for upload in placed])
        except OSError as error:
            for upload in placed:
                upload.error = copy.copy(error)  # each raised in its own request
            return
        results = self._meta.put_objects([upload.record for upload in placed])
        for upload, (replaced, refused) in zip(placed, results, strict=True):
            if refused is not None:
                upload.error = refused
                self._blobs.delete(upload.writer.blob_id)  # no record points at it
                continue
            upload.replaced = replaced
            if replaced is not None:
                keep = {segment.blob_id for segment in upload.record.segments}
                for segment in replaced.segments:
                    if segment.blob_id not in keep:
                        self._blobs.delete(segment.blob_id)

    @staticmethod
    def _answer(batch: list[_Upload]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Upload]] = {}
        for upload in batch:
            by_loop.setdefault(upload.loop, []).append(upload)
        for loop, uploads in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, uploads)
            except RuntimeError:  # that loop is closed: nobody waits
                pass


def _resolve(uploads: list[_Upload]) -> None:
    for upload in uploads:
        if upload.future.done():  # cancelled: the request went away
            continue
        if upload.error is not None:
            upload.future.set_exception(upload.error)
        else:
            upload.future.set_result(upload.replaced)
