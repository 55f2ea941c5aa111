"""S3BlobStore: blobs as objects in a bucket of an S3-compatible cluster.

Layout: ``[PREFIX/]blobs/<id>``, one object per blob, named by its id (32
hex digits, checked before it becomes a key), never by an object key.

The client is obstore (the Python binding of Rust's ``object_store``): its
blocking calls let go of the GIL, so the thread pool that runs the local
store's file I/O runs these too, and its async calls stream GET bodies on
the event loop. bench/blob_backends.py measured it against aiobotocore.

The guarantees are the local store's:

- A blob exists in the bucket only once it is whole: a body of up to
  ``MEMORY_BYTES`` is sent by ``finish`` in one PUT; a larger one streams
  as a multipart upload in ``PART_BYTES`` parts (at most ``PART_CONCURRENCY``
  in flight, so an upload holds at most ~3 parts in memory, whatever its
  size) that CompleteMultipartUpload makes visible in ``finish``. S3 answers
  a PUT or a completion only once the object is durable, and the record
  that points at it is committed after that.
- ``abort`` (a body that failed its checks, a client gone) aborts the
  multipart upload. A blob finished but never recorded (a crash between the
  two) is an orphan: ``sweep`` deletes objects under ``blobs/`` that no
  record names and that are older than the grace period, so no upload in
  flight, here or on another node, is touched. A process killed during a
  multipart upload leaves an incomplete upload that is no object: its key
  is in the metadata store's ``blob_uploads`` from before its first part
  until it completes or is aborted, and the sweep aborts those left older
  than the grace period (store/s3_uploads.py).
- Requests are retried by the client where that is safe (every request
  here is idempotent: PUTs of a fresh key, GETs, DELETEs), for at most
  ``RETRY_SECONDS``; what still fails becomes ``BlobBackendError``.
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Self, cast

import obstore
from obstore.exceptions import BaseError, PermissionDeniedError, UnauthenticatedError
from obstore.store import S3Store

from sealbox.store.blob_ids import ID, BlobIds, check_id
from sealbox.store.blob_location import S3Location
from sealbox.store.blobs import (
    BackendFailure,
    BlobBackendError,
    PositionedReader,
    StreamingBlob,
)
from sealbox.store.localfs import MEMORY_BYTES
from sealbox.store.s3_uploads import UploadLedger, UploadRequests, abort_stale_uploads

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

log = logging.getLogger("sealbox.blobs")
# What the client raises: its own errors, and OSError (FileNotFoundError for
# a missing object, connection errors).
_CLIENT_ERRORS = (BaseError, OSError)
KEY_DIR = "blobs/"
PART_BYTES = 8 * 1024 * 1024  # S3's smallest part is 5 MiB
PART_CONCURRENCY = 2
READ_CHUNK = 1024 * 1024  # what a GET stream gathers before it yields
DELETE_BATCH = 1000  # DeleteObjects' limit
# Keys of the listing one sweep tick looks at (a hundred ListObjectsV2
# pages): bounded work and memory per tick, whatever the bucket holds.
SWEEP_PAGE_KEYS = 100_000
RETRIES = 3
RETRY_SECONDS = 10.0
CONNECT_SECONDS = 5.0
# No byte for this long while a request is under way: the backend is gone.
READ_IDLE_SECONDS = 30.0
# ... except for a multipart upload's requests: S3 may take minutes to
# answer CompleteMultipartUpload ("Processing of a Complete Multipart Upload
# request could take several minutes", its API reference); moto took over
# 30 s for 128 parts of 8 MiB here.
UPLOAD_IDLE_SECONDS = 600.0
# A whole request (a GET of a large object streams to a slow client for
# as long as it takes): only a bound against a leak, not a timeout.
REQUEST_SECONDS = 24 * 3600.0


def open_s3(location: S3Location, *, idle_seconds: float = READ_IDLE_SECONDS) -> S3Store:
    """The client for ``location``: path-style requests to an endpoint (what
    every S3-compatible cluster accepts), bounded retries and timeouts."""
    config: S3Config = {"region": location.region}
    # Over HTTPS, TLS already guards the bytes: no SHA-256 of every body in
    # the signature (UNSIGNED-PAYLOAD), as botocore does for S3 over HTTPS.
    # Over plain HTTP the signature covers the payload. (Signing halved PUT
    # throughput to moto in bench/blob_backends.py.)
    config["unsigned_payload"] = not location.endpoint.startswith("http://")
    if location.endpoint:
        config["endpoint"] = location.endpoint
        config["virtual_hosted_style_request"] = False
    if location.access_key_id:
        config["access_key_id"] = location.access_key_id
        config["secret_access_key"] = location.secret_access_key
    client: ClientConfig = {
        "allow_http": location.endpoint.startswith("http://"),
        "connect_timeout": timedelta(seconds=CONNECT_SECONDS),
        "read_timeout": timedelta(seconds=idle_seconds),
        "timeout": timedelta(seconds=REQUEST_SECONDS),
    }
    retry: RetryConfig = {"max_retries": RETRIES, "retry_timeout": timedelta(seconds=RETRY_SECONDS),
                  "backoff": {"init_backoff": timedelta(milliseconds=100),
                              "max_backoff": timedelta(seconds=2), "base": 2}}
    return S3Store(location.bucket, prefix=location.prefix or None, config=config,
                   client_options=client, retry_config=retry)


def _key(blob_id: str) -> str:
    return KEY_DIR + check_id(blob_id)


def backend_error(error: BaseException) -> BlobBackendError:
    """What ``error`` (raised by the client) means for a client of ours."""
    if isinstance(error, BlobBackendError):
        return error
    text = str(error)
    detail = text.split("\n", 1)[0][:500]
    kind: BackendFailure
    if isinstance(error, (PermissionDeniedError, UnauthenticatedError)):
        kind = "refused"
    elif " 503 " in text or "SlowDown" in text:
        kind = "busy"
    elif any(s in text for s in ("error sending request", "timed out", "timeout",
                                 "onnection")):
        kind = "unreachable"
    elif isinstance(error, FileNotFoundError):  # on a write: the bucket is gone
        kind = "refused"
    else:
        kind = "failed"
    return BlobBackendError(kind, detail)


class _Aborted(Exception):
    """Given to the client's writer to make it abort its multipart upload."""


class UploadRecords:
    """The rows of ``blob_uploads`` this store writes: one per multipart
    upload, from before its first part until it completes or is aborted."""

    def __init__(self, ledger: UploadLedger, location: S3Location, node_id: str) -> None:
        self.ledger = ledger
        self.bucket = location.bucket
        self._prefix = f"{location.prefix}/" if location.prefix else ""
        self.node_id = node_id

    def backend_key(self, blob_id: str) -> str:
        return self._prefix + _key(blob_id)

    def begin(self, blob_id: str) -> None:
        self.ledger.begin_blob_upload(self.bucket, self.backend_key(blob_id), self.node_id,
                                      int(time.time()))

    def end(self, blob_id: str) -> None:
        """Drop the row; a failure leaves it to the sweep (which finds the
        upload gone and drops it then)."""
        try:
            self.ledger.end_blob_upload(self.bucket, self.backend_key(blob_id))
        except Exception as error:  # noqa: BLE001 - the upload itself went well
            log.info("the record of blob %s's upload stays: %s", blob_id, error)


class S3BlobWriter:
    """Writes one blob: in memory up to ``MEMORY_BYTES``, then as a
    multipart upload; ``finish`` makes it whole and visible."""

    def __init__(self, client: S3Store, upload_client: S3Store, blob_id: str,
                 records: UploadRecords | None = None) -> None:
        self.blob_id = blob_id
        self.size = 0
        self._client = client
        self._upload_client = upload_client
        self._records = records
        self._recorded = False  # a row in blob_uploads names this upload
        self._pending: list[bytes] = []
        self._upload: Any = None  # obstore's WritableFile, once past memory
        self._state = "memory"  # then "upload"; at the end "finished" or "aborted"

    def write(self, data: bytes) -> None:
        state = self._state
        if state == "memory":
            if self.size + len(data) <= MEMORY_BYTES:
                # Memory only, no I/O: the event loop may call this.
                self._pending.append(bytes(data))
                self.size += len(data)
                return
            self._start_upload()
        elif state != "upload":
            raise ValueError("write to a finished or aborted blob writer")
        if (self._records is not None and not self._recorded
                and self.size + len(data) >= PART_BYTES):
            # The client begins the backend's multipart upload once its
            # buffer holds a part: recorded first, so a kill cannot hide it.
            try:
                self._records.begin(self.blob_id)
            except BaseException:
                self.abort()
                raise
            self._recorded = True
        try:
            self._upload.write(data)
        except _CLIENT_ERRORS as error:
            self.abort()
            raise backend_error(error) from None
        self.size += len(data)

    def _start_upload(self) -> None:
        try:
            self._upload = obstore.open_writer(self._upload_client, _key(self.blob_id),
                                               buffer_size=PART_BYTES,
                                               max_concurrency=PART_CONCURRENCY)
            self._state = "upload"
            pending, self._pending = self._pending, []
            if pending:
                self._upload.write(b"".join(pending))
        except _CLIENT_ERRORS as error:
            self.abort()
            raise backend_error(error) from None

    def finish(self) -> str:
        """Whole and visible in the bucket; the id. Blocking. On failure the
        upload is aborted and ``BlobBackendError`` raised."""
        state = self._state
        if state not in ("memory", "upload"):
            raise ValueError("finish of a finished or aborted blob writer")
        try:
            if state == "memory":
                obstore.put(self._client, _key(self.blob_id), b"".join(self._pending),
                            use_multipart=False)
            else:
                self._upload.close()
        except _CLIENT_ERRORS as error:
            self.abort()
            raise backend_error(error) from None
        # From here abort leaves it: an unrecorded blob is the sweep's.
        self._state = "finished"
        self._pending = []
        self._forget_upload()
        return self.blob_id

    def _forget_upload(self) -> None:
        if self._recorded and self._records is not None:
            self._recorded = False
            self._records.end(self.blob_id)

    def abort(self) -> None:
        """Drop what was written; idempotent, and a no-op after finish."""
        state = self._state
        if state in ("finished", "aborted"):
            return
        self._state = "aborted"
        self._pending = []
        upload, self._upload = self._upload, None
        if upload is not None:
            try:
                upload.__exit__(_Aborted, _Aborted(), None)  # AbortMultipartUpload
            except _CLIENT_ERRORS as error:  # its row stays: the sweep aborts it later
                log.info("abort of the multipart upload of blob %s failed: %s", self.blob_id,
                         backend_error(error))
                return
        self._forget_upload()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.abort()


class S3Blob(StreamingBlob, PositionedReader):
    """One reader of a blob in the bucket. Blocking ``read``/``seek`` for
    the thread pool (copies, the edge's cache); ``start``/``chunks`` stream
    it on the event loop (``StreamingBlob``). Opening one sends
    nothing: a missing blob is ``FileNotFoundError`` at the first read."""

    def __init__(self, client: S3Store, key: str) -> None:
        self._client = client
        self._key = key
        self._position = 0
        self._started: tuple[int, int, Any] | None = None
        self.closed = False

    def fileno(self) -> int:
        raise io.UnsupportedOperation("a blob in an S3 bucket has no file descriptor")

    def read(self, size: int | None = -1) -> bytes:
        try:
            if size is None or size < 0:
                result = obstore.get(self._client, self._key,
                                     options={"range": {"offset": self._position}})
                data = bytes(result.bytes())
            elif size == 0:
                return b""
            else:
                data = bytes(obstore.get_range(self._client, self._key, start=self._position,
                                               length=size))
        except FileNotFoundError:
            raise
        except _CLIENT_ERRORS as error:
            if " 416 " in str(error):  # at or past the end
                return b""
            raise backend_error(error) from None
        self._position += len(data)
        return data

    def _end(self) -> int:
        raise io.UnsupportedOperation("seek from the end of a blob in an S3 bucket")

    async def start(self, offset: int, length: int) -> None:
        """Send the GET of bytes ``offset`` … ``offset+length-1`` now; its
        body is read by ``chunks``. ``FileNotFoundError`` if the blob is
        gone, ``BlobBackendError`` if the backend fails."""
        if self._started is not None and self._started[:2] == (offset, length):
            return
        self._started = (offset, length, await self._get(offset, length))

    async def _get(self, offset: int, length: int) -> Any:
        try:
            return await obstore.get_async(self._client, self._key,
                                           options={"range": (offset, offset + length)})
        except FileNotFoundError:
            raise
        except _CLIENT_ERRORS as error:
            raise backend_error(error) from None

    async def chunks(self, offset: int, length: int) -> AsyncIterator[bytes]:
        """The bytes, as they arrive; ``OSError`` if the blob is shorter."""
        started, self._started = self._started, None
        if started is not None and started[:2] == (offset, length):
            result = started[2]
        else:
            result = await self._get(offset, length)
        left = length
        stream = result.stream(min_chunk_size=READ_CHUNK)
        while left > 0:
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                break
            except _CLIENT_ERRORS as error:
                raise backend_error(error) from None
            data = bytes(chunk)[:left]
            left -= len(data)
            yield data
        if left:
            raise OSError(f"blob ended {left} bytes early")

    def close(self) -> None:
        self.closed = True
        self._started = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class S3BlobStore:
    """The BlobStore on an S3-compatible bucket; see the module docstring."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._client = open_s3(location)
        self._upload_client = open_s3(location, idle_seconds=UPLOAD_IDLE_SECONDS)
        self._ids = BlobIds()
        self._records: UploadRecords | None = None
        self._requests = UploadRequests(location)

    def record_uploads(self, ledger: UploadLedger, node_id: str) -> None:
        """Keep a row in ``ledger`` for each multipart upload under way, so
        that one a killed process left is found and aborted (``sweep``)."""
        self._records = UploadRecords(ledger, self.location, node_id)

    def check(self) -> None:
        """One listing: the bucket exists and the credentials may read it;
        ``BlobBackendError`` otherwise."""
        try:
            for _ in obstore.list(self._client, KEY_DIR, chunk_size=1):
                break
        except _CLIENT_ERRORS as error:
            raise backend_error(error) from None

    def check_ready(self) -> None:
        """The readiness probe (/_sealbox/ready), on a thread: the bucket
        answers a listing, else ``BlobBackendError`` naming why."""
        self.check()

    def writer(self) -> S3BlobWriter:
        return S3BlobWriter(self._client, self._upload_client, self._ids.next(), self._records)

    def open(self, blob_id: str) -> BinaryIO:
        # What readers use of a binary file, and StreamingBlob's methods.
        return cast(BinaryIO, S3Blob(self._client, _key(blob_id)))

    def local_path(self, blob_id: str) -> str | None:
        return None

    def delete(self, blob_id: str) -> None:
        self.delete_many([blob_id])

    def delete_many(self, blob_ids: Iterable[str]) -> None:
        """DeleteObjects, a thousand keys a request; a missing one is no error."""
        keys = [_key(blob_id) for blob_id in blob_ids]
        for start in range(0, len(keys), DELETE_BATCH):
            try:
                obstore.delete(self._client, keys[start:start + DELETE_BATCH])
            except FileNotFoundError:
                pass
            except _CLIENT_ERRORS as error:
                raise backend_error(error) from None

    def stored_ids(self) -> set[str]:
        """The ids of every blob in the bucket (one listing)."""
        return {name for path, _ in self._listing()
                if ID.fullmatch(name := path.rpartition("/")[2]) and path == KEY_DIR + name}

    def put_file(self, blob_id: str, path: str) -> None:
        """Copy a local blob file into the bucket under the same id: one PUT,
        or a multipart upload streamed from the file (``migrate-blobs``)."""
        records = self._records
        try:
            with open(path, "rb") as f:
                multipart = records is not None and os.fstat(f.fileno()).st_size >= PART_BYTES
                if multipart:
                    records.begin(blob_id)  # type: ignore[union-attr]
                obstore.put(self._upload_client, _key(blob_id), f, chunk_size=PART_BYTES,
                            max_concurrency=PART_CONCURRENCY)
        except FileNotFoundError:
            raise
        except _CLIENT_ERRORS as error:  # a row left stays for the sweep
            raise backend_error(error) from None
        if multipart:
            records.end(blob_id)  # type: ignore[union-attr]

    def _listing(self, after: str = "") -> Iterator[tuple[str, datetime]]:
        """Keys under ``blobs/`` (after ``after``, if given) in order, with
        their last write; fetched a thousand at a time as iterated."""
        try:
            for batch in obstore.list(self._client, KEY_DIR, offset=after or None,
                                      chunk_size=1000):
                for meta in batch:
                    yield meta["path"], meta["last_modified"]
        except _CLIENT_ERRORS as error:
            raise backend_error(error) from None

    def sweep(self, referenced: set[str], *, min_age_seconds: float) -> int:
        """Delete blobs no record names, last written ``min_age_seconds`` ago
        or more (by the backend's clock, as it stamps them): one whole pass
        (``sweep-blobs``; the server sweeps a page at a time, ``sweep_page``)."""
        removed, after = 0, ""
        while True:
            gone, after = self.sweep_page(lambda: referenced, min_age_seconds=min_age_seconds,
                                          after=after, limit=SWEEP_PAGE_KEYS)
            removed += gone
            if not after:
                return removed

    def sweep_page(self, referenced: Callable[[], set[str]], *, min_age_seconds: float,
                   after: str = "", limit: int | None = SWEEP_PAGE_KEYS) -> tuple[int, str]:
        """Sweep at most ``limit`` keys of the listing, from the key after
        ``after``: (blobs removed, the last key looked at, or "" once the
        listing is done). The age guards uploads finished but not yet
        recorded: choose it well above the longest upload. ``referenced``
        (every blob id a record names) is read after the page is listed, and
        only if the page holds a blob old enough to go, so a record
        committed before the listing is always seen. Keys that are not blob
        ids are left alone."""
        cutoff = datetime.now(UTC) - timedelta(seconds=min_age_seconds)
        old: list[str] = []
        last = ""
        for seen, (path, modified) in enumerate(self._listing(after)):
            if limit is not None and seen == limit:
                break
            last = path
            name = path.rpartition("/")[2]
            if path == KEY_DIR + name and ID.fullmatch(name) and modified <= cutoff:
                old.append(name)
        else:
            last = ""  # the listing ended within the page: the pass is done
        if not old:
            return 0, last
        named = referenced()
        doomed = [name for name in old if name not in named]
        self.delete_many(doomed)
        return len(doomed), last

    def abort_stale_uploads(self, min_age_seconds: float) -> int:
        """Abort the multipart uploads recorded ``min_age_seconds`` ago or
        more and never completed nor aborted (a process killed midway); how
        many. Nothing without ``record_uploads``."""
        if self._records is None:
            return 0
        return abort_stale_uploads(self._records.ledger, self._requests, self.location.bucket,
                                   int(time.time() - min_age_seconds))
