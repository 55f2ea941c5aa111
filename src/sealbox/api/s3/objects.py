"""Object operations: PutObject, GetObject, HeadObject.

CopyObject lives in ``copy_object.py``, deletes in ``delete.py``, tagging in
``tagging.py``.
"""

from __future__ import annotations

from collections.abc import Mapping

from sealbox.api.common.access_gate import may_list_key
from sealbox.api.common.context import Context
from sealbox.api.common.tags import tagging_header
from sealbox.api.s3.acl_writes import with_write_acl
from sealbox.api.s3.common import (
    object_response_headers,
    quote_etag,
    require_bucket,
    storage_class,
    stored_headers,
    user_metadata,
)
from sealbox.api.s3.encryption import CUSTOMER, customer_key, sealing_headers, write_ask
from sealbox.api.s3.ingest import delete_blobs, receive_body
from sealbox.api.s3.lifecycle import expiration_headers
from sealbox.api.s3.object_lock import LOCKED, lock_for_write, visible_lock_headers
from sealbox.api.s3.sealing import new_sealing, open_key
from sealbox.api.s3.versioning import bucket_state, requested_version, version_for, version_headers
from sealbox.auth.sigv4.checksum import checksum_type, declared_checksums
from sealbox.errors import S3Error
from sealbox.http.conditional import (
    WritePrecondition,
    evaluate_get,
    put_preconditions,
)
from sealbox.http.dates import format_http_date
from sealbox.http.header_values import LATIN1_MESSAGE, refuse_control, servable
from sealbox.http.ranges import parse_range
from sealbox.server.responses import FileSpan, Response, empty_response
from sealbox.store.blobs import BlobStore, BlobWriter, StreamingBlob
from sealbox.store.meta import (
    NULL_VERSION,
    ConditionFailed,
    NoSuchBucket,
    ObjectLocked,
    ObjectRecord,
    Segment,
)
from sealbox.store.sealed_blobs import open_segment

OPEN_ATTEMPTS = 3
CUSTOMER_ALGORITHM = CUSTOMER + "algorithm"  # present whenever SSE-C headers are (checked)
SMALL_PUT = 64 * 1024  # a body this small arrives with its request

# Query parameters of a signed GET that override response headers
# ("Overriding response header values" in the GetObject reference).
RESPONSE_OVERRIDES = {
    "response-content-type": "content-type",
    "response-content-language": "content-language",
    "response-expires": "expires",
    "response-cache-control": "cache-control",
    "response-content-disposition": "content-disposition",
    "response-content-encoding": "content-encoding",
}


async def put_object(ctx: Context) -> Response:
    headers = ctx.request.headers
    if not _small_body(ctx):
        # Refused before a large body is read; a small one is here already,
        # and the commit refuses a missing bucket itself (NoSuchBucket).
        await require_bucket(ctx)
    # Everything about the request is checked before the body is read, so a
    # bad header never costs a multi-GiB upload.
    stored = await with_write_acl(ctx, stored_headers(headers))
    meta = user_metadata(headers)
    tags = tagging_header(headers)
    klass = storage_class(headers)
    declared_checksums(headers)
    ask = write_ask(headers)
    condition = await check_put_preconditions(ctx)
    state = await bucket_state(ctx, ctx.bucket)
    now = ctx.services.clock.now()
    lock = await lock_for_write(ctx, state, now, integrity=True)
    sealing, data_key = await new_sealing(ctx, ctx.bucket, ask)
    limit = ctx.services.settings.max_put_size
    if ctx.max_body is not None:
        limit = min(limit, ctx.max_body)
    received = await receive_body(ctx, limit, finish=False, seal_key=data_key)
    try:
        record = ObjectRecord(
            bucket=ctx.bucket, key=ctx.key, size=received.size, etag=received.md5_hex,
            last_modified=now,
            segments=(Segment(received.blob_id, received.size, received.nonce),), headers=stored,
            user_metadata=meta, tags=tags, checksums=received.checksums, storage_class=klass,
            owner=ctx.auth.principal.arn, version_id=version_for(state),
            lock_mode=lock.mode, lock_until=lock.until, legal_hold=lock.legal_hold,
            sealing=sealing,
        )
    except BaseException:
        if received.writer is not None:
            received.writer.abort()
        raise
    await commit_object(ctx, record, [received.blob_id], received.writer, condition)
    out = [("etag", quote_etag(record.etag)), *version_headers(record.version_id),
           *await expiration_headers(ctx, record),
           *sealing_headers(sealing, ask.customer, written=True)]
    out.extend((f"x-amz-checksum-{name}", value) for name, value in received.checksums.items())
    return empty_response(200, out)


def _small_body(ctx: Context) -> bool:
    length = ctx.request.headers.get("content-length")
    return (length is not None and length.isdigit() and len(length) < 7
            and int(length) <= SMALL_PUT and "x-amz-decoded-content-length" not in ctx.request.headers)


async def check_put_preconditions(ctx: Context) -> WritePrecondition | None:
    """A conditional write's If-Match / If-None-Match, checked against the
    current object before any byte is read (so a doomed upload costs
    nothing); what ``commit_object`` must check again as it commits."""
    headers = ctx.request.headers
    if "if-none-match" not in headers and "if-match" not in headers:
        return None
    existing = await ctx.services.read(ctx.services.meta.get_object, ctx.bucket, ctx.key)
    return put_preconditions(headers, existing.etag if existing else None, key=ctx.key)


async def commit_object(ctx: Context, record: ObjectRecord, new_blobs: list[str],
                        writer: BlobWriter | None = None,
                        condition: WritePrecondition | None = None) -> None:
    """Commit a record whose blobs are written; on failure drop the new blobs,
    on success drop the blobs of the object it replaced. ``writer``: the
    record's blob, still to be made durable (fsync, rename) before the
    record is committed; all of it is one trip to the thread pool.
    ``condition``: checked again by the store in the committing transaction
    (412, or 409 when the object was deleted meanwhile)."""
    services = ctx.services
    batcher = services.small_puts
    if condition is None and batcher is not None and batcher.takes(writer):
        try:
            await batcher.commit(writer, record)
        except NoSuchBucket:
            raise S3Error("NoSuchBucket", BucketName=record.bucket) from None
        except ObjectLocked:
            raise S3Error("AccessDenied", LOCKED) from None
        return

    def durable() -> None:
        if writer is not None:
            writer.finish()  # the blob is on disk before any record points at it
        try:
            replaced = services.meta.put_object(
                record, None if condition is None else condition.holds)
        except BaseException:
            delete_blobs(ctx, new_blobs)
            raise
        if replaced is not None:
            keep = {s.blob_id for s in record.segments}
            delete_blobs(ctx, [s.blob_id for s in replaced.segments if s.blob_id not in keep])

    try:
        await services.run(durable)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=record.bucket) from None
    except ObjectLocked:  # a null version under lock: never replaced
        raise S3Error("AccessDenied", LOCKED) from None
    except ConditionFailed as failed:
        assert condition is not None
        raise condition.failure(record.key, exists=failed.exists) from None


async def find_object(ctx: Context, bucket: str, key: str,
                      version_id: str | None = None) -> ObjectRecord:
    """The object's record (its version ``version_id`` if given), or
    NoSuchKey / NoSuchVersion / NoSuchBucket as S3 tells them apart. A key
    whose newest version is a delete marker is NoSuchKey with the marker's
    headers; a marker named by its id is 405 MethodNotAllowed, as S3
    answers both."""
    meta = ctx.services.meta
    if version_id is None:
        record = await ctx.services.read(meta.get_object, bucket, key)
    else:
        record = await ctx.services.read(meta.get_version, bucket, key, version_id)
    if record is not None and not record.delete_marker:
        return record
    if record is not None:
        raise S3Error("MethodNotAllowed", Method=ctx.request.method, ResourceType="DeleteMarker",
                      headers={"x-amz-delete-marker": "true",
                               "x-amz-version-id": record.version_id, "allow": "DELETE"})
    if await ctx.services.read(meta.get_bucket, bucket) is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    if version_id is not None:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version_id)
    marker = await ctx.services.read(meta.latest_marker, bucket, key)
    if marker is not None:
        raise S3Error("NoSuchKey", Key=key, headers={"x-amz-delete-marker": "true",
                                                    "x-amz-version-id": marker.version_id})
    if not await _may_list(ctx, bucket, key):
        raise S3Error("AccessDenied")
    # No ``x-amz-delete-marker: false`` on a key that is simply absent: S3
    # documents the header as absent when false. RGW sends it, and
    # ceph/s3-tests' test_delete_marker_nonversioned and
    # test_delete_marker_expiration expect it (a KeyError here, left red).
    raise S3Error("NoSuchKey", Key=key)


async def _may_list(ctx: Context, bucket: str, key: str) -> bool:
    """S3 says 404 for a missing key only to a requester who may list it,
    403 to anyone else, one allowed s3:GetObject too (GetObject,
    "Permissions"); the refusal path says the same (``access_gate.refusal``)."""
    gate = ctx.services.gate
    assert gate is not None, "the app sets the gate"
    return await ctx.services.read(may_list_key, gate, ctx.request, ctx.auth, bucket, key,
                                   ctx.access_version)


def _part_bounds(record: ObjectRecord, part_number: int) -> tuple[int, int]:
    """(start, end inclusive) of part N of a multipart object."""
    if record.parts_count is None:
        if part_number != 1:
            raise S3Error("InvalidPartNumber", PartNumberRequested=str(part_number),
                          ActualPartCount="1")
        return 0, record.size - 1
    if part_number > len(record.segments):
        raise S3Error("InvalidPartNumber", PartNumberRequested=str(part_number),
                      ActualPartCount=str(len(record.segments)))
    start = sum(s.size for s in record.segments[: part_number - 1])
    return start, start + record.segments[part_number - 1].size - 1


def open_spans(blobs: BlobStore, record: ObjectRecord, start: int, end: int,
               data_key: bytes | None = None) -> list[FileSpan]:
    """Open the blobs covering bytes start..end (inclusive) of the object;
    ``FileNotFoundError`` when one went away (a concurrent overwrite).
    A sealed object's blobs are read through ``SealedBlob`` under
    ``data_key`` (api/s3/sealing.read_key), never sent by ``sendfile``."""
    spans: list[FileSpan] = []
    position = 0
    try:
        for segment in record.segments:
            seg_start, seg_end = position, position + segment.size - 1
            position += segment.size
            if seg_end < start or seg_start > end or segment.size == 0:
                continue
            offset = max(start, seg_start) - seg_start
            length = min(end, seg_end) - seg_start - offset + 1
            if segment.nonce is not None:
                spans.append(FileSpan(open_segment(blobs, segment, data_key), offset, length))
                continue
            whole = offset == 0 and length == segment.size
            spans.append(FileSpan(blobs.open(segment.blob_id), offset, length,
                                  blobs.local_path(segment.blob_id) if whole else None))
    except BaseException:
        for span in spans:
            span.file.close()
        raise
    return spans


# What a GET answer says about the object depends on its record alone; the
# store hands out one record object per stored row, so the headers are made
# once per record (the entry holds the record, so its id stays its own).
_RECORD_HEADERS: dict[int, tuple[ObjectRecord, tuple[tuple[str, str], ...],
                                 tuple[tuple[str, str], ...]]] = {}
_RECORD_HEADERS_MAX = 4096
# GetObject's conditional headers: without any, no precondition to weigh.
_CONDITIONS = frozenset({"if-match", "if-none-match", "if-modified-since",
                         "if-unmodified-since"})


def _record_headers(record: ObjectRecord) -> tuple[tuple[tuple[str, str], ...],
                                                   tuple[tuple[str, str], ...]]:
    """The object's own response headers, and its validators (for a 304)."""
    entry = _RECORD_HEADERS.get(id(record))
    if entry is not None and entry[0] is record:
        return entry[1], entry[2]
    headers = tuple(object_response_headers(record))
    validators = (("etag", quote_etag(record.etag)),
                  ("last-modified", format_http_date(record.last_modified)))
    if len(_RECORD_HEADERS) >= _RECORD_HEADERS_MAX:
        _RECORD_HEADERS.clear()
    _RECORD_HEADERS[id(record)] = (record, headers, validators)
    return headers, validators


def response_overrides(query: Mapping[str, str]) -> dict[str, str]:
    """The ``response-*`` overrides of a query, by the header each sets,
    checked as S3 checks them: a value with a control character, or with
    text outside ISO-8859-1, is 400 ``InvalidArgument`` (S3's words for the
    latter are ``LATIN1_MESSAGE``, with ``ArgumentName`` the parameter).
    Other non-ASCII text is sent encoded (``header_values.servable``)."""
    overrides = {}
    for parameter, header in RESPONSE_OVERRIDES.items():
        value = query.get(parameter)
        if value is None:
            continue
        refuse_control(parameter, value)
        if not value.isascii():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError:
                raise S3Error("InvalidArgument", LATIN1_MESSAGE, ArgumentName=parameter,
                              ArgumentValue=value[:256]) from None
            value = servable(header, value)
        overrides[header] = value
    return overrides


def _apply_overrides(ctx: Context, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    query = ctx.request.query
    if RESPONSE_OVERRIDES.keys().isdisjoint(query):
        return headers
    if ctx.auth.principal.is_anonymous:
        raise S3Error("InvalidRequest",
                      "Request specific response headers cannot be used for anonymous GET requests.")
    overrides = response_overrides(query)
    kept = [(name, value) for name, value in headers if name not in overrides]
    return kept + list(overrides.items())


async def get_object(ctx: Context) -> Response:
    """GetObject and HeadObject: conditions, then Range or partNumber, then bytes."""
    request = ctx.request
    part_number = _part_number(request.query.get("partNumber"))
    if part_number is not None and "range" in request.headers:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber query "
                      "parameter")
    version_id = requested_version(request.query)
    customer = customer_key(request.headers) if CUSTOMER_ALGORITHM in request.headers else None
    for attempt in range(OPEN_ATTEMPTS):
        record = await find_object(ctx, ctx.bucket, ctx.key, version_id)
        data_key = (await open_key(ctx, record.sealing, customer,
                                   head=request.method == "HEAD")
                    if record.sealing is not None or customer is not None else None)
        base_headers, validators = _record_headers(record)
        if record.lock_mode is not None or record.legal_hold is not None:
            base_headers = await visible_lock_headers(ctx, record, base_headers)
        if not _CONDITIONS.isdisjoint(request.headers) and evaluate_get(
                request.headers, record.etag, record.last_modified,
                now=ctx.services.clock.now()):
            return empty_response(304, validators)
        status = 200
        extra: list[tuple[str, str]] = []
        if version_id == NULL_VERSION:
            extra.append(("x-amz-version-id", NULL_VERSION))  # named, so S3 echoes it
        elif version_id is None:
            extra += await expiration_headers(ctx, record)  # a rule's, for the current version
        if customer is not None:
            extra.extend(sealing_headers(record.sealing, customer))
        start, end = 0, record.size - 1
        if part_number is not None:
            start, end = _part_bounds(record, part_number)
            if record.parts_count is not None:
                status = 206
                extra.append(("x-amz-mp-parts-count", str(record.parts_count)))
        else:
            byte_range = parse_range(request.headers.get("range"), record.size)
            if byte_range is not None:
                status = 206
                start, end = byte_range.start, byte_range.end
        if status == 206:
            extra.append(("content-range", f"bytes {start}-{end}/{record.size}"))
        if request.headers.get("x-amz-checksum-mode", "").upper() == "ENABLED":
            extra += _checksum_headers(record, part_number if status == 206 else None,
                                       ranged=status == 206)
        spans = []
        try:
            spans = [] if end < start else (
                [] if request.method == "HEAD"
                else open_spans(ctx.services.blobs, record, start, end, data_key))
            # A blob in an S3 bucket is found missing only by its first GET.
            if spans and isinstance(spans[0].file, StreamingBlob):
                await spans[0].file.start(spans[0].offset, spans[0].length)
        except FileNotFoundError:
            for span in spans:
                span.file.close()
            # A concurrent overwrite removed the blob between the metadata read
            # and the open: read the metadata again and serve the new object.
            if attempt == OPEN_ATTEMPTS - 1:
                raise
            continue
        headers = _apply_overrides(ctx, [*base_headers, *extra])
        headers.append(("content-length", str(max(0, end - start + 1))))
        return Response(status, headers, spans=spans)
    raise AssertionError("unreachable")


def _checksum_headers(record: ObjectRecord, part_number: int | None,
                      ranged: bool) -> list[tuple[str, str]]:
    """``x-amz-checksum-*`` and ``x-amz-checksum-type`` for a GET or HEAD
    with ``x-amz-checksum-mode: ENABLED``: the whole object's checksum, or,
    for ``partNumber`` N of a multipart object, part N's own (S3 User
    Guide, "Checking object integrity": a part's checksum is read with
    GetObject or HeadObject and its part number). The type stays the
    object's. A byte range has no checksum of its own: none is sent."""
    if not record.checksums or (ranged and part_number is None):
        return []
    name, value = next(iter(record.checksums.items()))
    kind = ("x-amz-checksum-type", checksum_type(value))
    if part_number is None:
        return [*((f"x-amz-checksum-{n}", v) for n, v in record.checksums.items()), kind]
    part = record.segments[part_number - 1].checksum
    if part is None:
        return []  # completed before parts kept their checksums
    return [(f"x-amz-checksum-{name}", part), kind]


def _part_number(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 10000:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and 10000, "
                      "inclusive", ArgumentName="partNumber", ArgumentValue=value[:32])
    return int(value)


HANDLERS = {
    "PutObject": put_object,
    "GetObject": get_object,
    "HeadObject": get_object,
}
