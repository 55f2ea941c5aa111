"""Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
CompleteMultipartUpload, AbortMultipartUpload, ListParts.

Each part is its own blob. Completing an upload copies no data: the new
object's segments are the listed parts' blobs, in order, committed with
the removal of the upload in one metadata transaction
(``MetaStore.complete_upload``), so a crash leaves either the upload or
the object, never half of each. Blobs of parts that were uploaded but not
listed, and of an object the completion replaced, are deleted after the
commit (a crash in between leaves orphans for the sweep, never a dangling
reference).

Interoperability decisions, with the evidence:

- Completing an upload that was already completed with the same part list
  answers 200 with the same result, as AWS does (adobe/S3Mock#2586 and
  minio/minio#13318 record it against AWS; ceph/s3-tests
  ``test_multipart_upload`` completes twice and is not marked
  ``fails_on_aws``). We recognise the replay by the ETag: the object now
  at the key has the multipart ETag that the listed parts compute to.
  Otherwise, an unknown upload is NoSuchUpload.
- Error bodies carry the fields AWS sends: NoSuchUpload and
  InvalidPartOrder ``UploadId``; InvalidPart ``UploadId``, ``PartNumber``,
  ``ETag``; EntityTooSmall ``ProposedSize``, ``MinSizeAllowed``,
  ``PartNumber``, ``ETag`` with the message "Your proposed upload is
  smaller than the minimum allowed size" (an AWS response body is quoted
  in the s3client-cangjie README).
- Checksums: an upload created with ``x-amz-checksum-algorithm`` keeps each
  part's checksum; a COMPOSITE upload's object gets S3's composite
  checksum, ``base64(H(part digests…))-N``; a FULL_OBJECT one the CRC of
  the whole body, combined from the parts' CRCs (``checksum.full_object``).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from sealbox.api.common.context import Context
from sealbox.api.common.tags import tagging_header
from sealbox.api.s3.acl_writes import bucket_owner_id, kept_owner, ownership, with_write_acl
from sealbox.api.s3.common import (
    account_owner_xml,
    owner_xml,
    quote_etag,
    require_bucket,
    storage_class,
    stored_headers,
    user_metadata,
)
from sealbox.api.s3.copy_source import copy_bytes, load_source, parse_copy_range, parse_copy_source
from sealbox.api.s3.encryption import customer_key, sealing_headers, write_ask
from sealbox.api.s3.ingest import ReceivedBlob, discard_blobs, receive_body
from sealbox.api.s3.lifecycle import expiration_headers
from sealbox.api.s3.object_lock import (
    LOCKED,
    VersionLock,
    bucket_lock,
    lock_for_write,
    with_default,
)
from sealbox.api.s3.sealing import new_sealing, open_key, open_upload_key
from sealbox.api.s3.versioning import ENABLED, bucket_state, version_for, version_headers
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.auth.sigv4.checksum import (  # noqa: F401 (crc_combine: re-exported)
    ALGORITHMS,
    composite,
    crc_combine,
    declared_checksums,
    full_object,
)
from sealbox.errors import S3Error
from sealbox.http.conditional import copy_source_conditions, put_preconditions
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import (
    ConditionFailed,
    NoSuchBucket,
    NoSuchUpload,
    ObjectLocked,
    ObjectRecord,
    Part,
    Segment,
    Upload,
)

log = logging.getLogger(__name__)

MIN_PART_SIZE = 5 * 1024 * 1024  # every part but the last (S3 "multipart upload limits")
MAX_PART_SIZE = 5 * 1024**3
MAX_PART_NUMBER = 10_000
MAX_LIST_PARTS = 1000
# 10,000 <Part> elements with a SHA-256 each are ~2 MiB; leave room for
# whitespace and namespaces.
MAX_COMPLETE_BODY = 8 * 1024 * 1024

_PART_NUMBER_MESSAGE = "Part number must be an integer between 1 and 10000, inclusive"
_TOO_SMALL_MESSAGE = "Your proposed upload is smaller than the minimum allowed size"
_FULL_OBJECT = "FULL_OBJECT"
_COMPOSITE = "COMPOSITE"
# Upload.checksum_algorithm holds "crc32" (a COMPOSITE upload) or
# "crc32:FULL_OBJECT"; only this module reads it.
_TYPE_SEPARATOR = ":"


# --- CreateMultipartUpload ---------------------------------------------------------


async def create_multipart_upload(ctx: Context) -> Response:
    await require_bucket(ctx)
    headers = ctx.request.headers
    algorithm, checksum_type = _checksum_request(headers)
    stored = await with_write_acl(ctx, stored_headers(headers))
    now = ctx.services.clock.now()
    # The lock asked for; the bucket's default applies at completion, when
    # the object is made (object_lock.with_default).
    lock = await lock_for_write(ctx, await bucket_state(ctx, ctx.bucket), now, default=False)
    ask = write_ask(headers)
    # One data key for the whole upload: each part is sealed under it with
    # its own nonce prefix, and the completed object keeps it.
    sealing, _ = await new_sealing(ctx, ctx.bucket, ask)
    upload = Upload(
        upload_id="U" + secrets.token_urlsafe(48),  # never starts with "-": CLIs read that as a flag
        bucket=ctx.bucket,
        key=ctx.key,
        initiated=now,
        headers=stored,
        user_metadata=user_metadata(headers),
        tags=tagging_header(headers),
        storage_class=storage_class(headers),
        owner=ctx.auth.principal.arn,
        checksum_algorithm=_encode_checksum(algorithm, checksum_type),
        lock_mode=lock.mode, lock_until=lock.until, legal_hold=lock.legal_hold,
        sealing=sealing,
    )
    try:
        await ctx.services.run(ctx.services.meta.create_upload, upload)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    extra = sealing_headers(sealing, ask.customer, written=True)
    if algorithm is not None:
        extra += [("x-amz-checksum-algorithm", algorithm.upper()),
                  ("x-amz-checksum-type", checksum_type)]
    body = render("InitiateMultipartUploadResult", [
        ("Bucket", ctx.bucket), ("Key", ctx.key), ("UploadId", upload.upload_id),
    ])
    return xml_response(body, headers=extra)


def _checksum_request(headers: dict[str, str]) -> tuple[str | None, str]:
    """(algorithm, type) from ``x-amz-checksum-algorithm`` / ``-type``,
    refused with S3's InvalidRequest messages when S3 refuses them."""
    raw_algorithm = headers.get("x-amz-checksum-algorithm")
    raw_type = headers.get("x-amz-checksum-type")
    if raw_algorithm is None:
        if raw_type is not None:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be used "
                          "with the x-amz-checksum-algorithm header.")
        return None, _COMPOSITE
    algorithm = raw_algorithm.strip().lower()
    if algorithm not in ALGORITHMS:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please try "
                      "again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, "
                      "SHA256]")
    # CRC64NVME is full-object only; the others default to COMPOSITE.
    default = _FULL_OBJECT if algorithm == "crc64nvme" else _COMPOSITE
    checksum_type = (raw_type or default).strip().upper()
    if checksum_type not in (_FULL_OBJECT, _COMPOSITE):
        raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is invalid.")
    if checksum_type == _FULL_OBJECT and algorithm in ("sha1", "sha256"):
        raise S3Error("InvalidRequest", f"The {_FULL_OBJECT} checksum type cannot be used with "
                      f"the {algorithm} checksum algorithm.")
    if checksum_type == _COMPOSITE and algorithm == "crc64nvme":
        raise S3Error("InvalidRequest", f"The {_COMPOSITE} checksum type cannot be used with "
                      f"the {algorithm} checksum algorithm.")
    return algorithm, checksum_type


def _encode_checksum(algorithm: str | None, checksum_type: str) -> str | None:
    if algorithm is None:
        return None
    return algorithm if checksum_type == _COMPOSITE else f"{algorithm}{_TYPE_SEPARATOR}{checksum_type}"


def _upload_checksum(upload: Upload) -> tuple[str | None, str]:
    """(algorithm, type) an upload was created with."""
    if not upload.checksum_algorithm:
        return None, _COMPOSITE
    algorithm, _, checksum_type = upload.checksum_algorithm.partition(_TYPE_SEPARATOR)
    return algorithm, checksum_type or _COMPOSITE


# --- shared lookups -----------------------------------------------------------------


def _part_number(ctx: Context) -> int:
    raw = ctx.request.query.get("partNumber", "")
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", _PART_NUMBER_MESSAGE, ArgumentName="partNumber",
                      ArgumentValue=raw[:64])
    return int(raw)


async def _require_upload(ctx: Context) -> Upload:
    """The upload named by ``?uploadId``, which must be for this bucket and
    key; else NoSuchBucket or NoSuchUpload as S3 answers."""
    upload_id = ctx.request.query.get("uploadId", "")
    upload = await ctx.services.run(ctx.services.meta.get_upload, upload_id) if upload_id else None
    if upload is None or upload.bucket != ctx.bucket or upload.key != ctx.key:
        await require_bucket(ctx)
        raise _no_such_upload(upload_id)
    return upload


def _no_such_upload(upload_id: str) -> S3Error:
    return S3Error("NoSuchUpload", UploadId=upload_id[:256])


async def _store_part(ctx: Context, upload: Upload, number: int, received: ReceivedBlob) -> Part:
    """Commit a received blob as part ``number``; delete what it replaced."""
    part = Part(upload.upload_id, number, received.size, received.md5_hex,
                ctx.services.clock.now(), received.blob_id, dict(received.checksums),
                received.nonce)
    meta = ctx.services.meta
    try:
        replaced = await ctx.services.run(meta.put_part, part)
    except NoSuchUpload:
        # Aborted or completed while the body streamed in: keep nothing.
        await discard_blobs(ctx, [received.blob_id])
        raise _no_such_upload(upload.upload_id) from None
    except BaseException:
        await discard_blobs(ctx, [received.blob_id])
        raise
    # If the upload was completed meanwhile, the completed object may be
    # using the replaced blob; leave it to the orphan sweep then.
    if (replaced is not None and replaced.blob_id != received.blob_id
            and await ctx.services.run(meta.get_upload, upload.upload_id) is not None):
        await discard_blobs(ctx, [replaced.blob_id])
    return part


def _check_part_checksum(upload: Upload, declared: dict[str, bytes]) -> None:
    """A part's declared checksum must use the upload's algorithm."""
    algorithm, _ = _upload_checksum(upload)
    if algorithm is None or not declared:
        return
    (name,) = declared
    if name != algorithm:
        raise S3Error("InvalidRequest", "Checksum Type mismatch occurred, expected checksum "
                      f"Type: {algorithm}, actual checksum Type: {name}")


# --- UploadPart / UploadPartCopy ----------------------------------------------------


async def upload_part(ctx: Context) -> Response:
    number = _part_number(ctx)
    upload = await _require_upload(ctx)
    _check_part_checksum(upload, declared_checksums(ctx.request.headers))
    customer = customer_key(ctx.request.headers)
    data_key = await open_upload_key(ctx, upload.sealing, customer)
    received = await receive_body(ctx, MAX_PART_SIZE, seal_key=data_key)
    part = await _store_part(ctx, upload, number, received)
    headers = [("etag", quote_etag(part.etag)), *sealing_headers(upload.sealing, customer)]
    headers += [(f"x-amz-checksum-{name}", value) for name, value in part.checksums.items()]
    return empty_response(200, headers)


async def upload_part_copy(ctx: Context) -> Response:
    headers = ctx.request.headers
    number = _part_number(ctx)
    upload = await _require_upload(ctx)
    customer = customer_key(headers)
    data_key = await open_upload_key(ctx, upload.sealing, customer)
    source = parse_copy_source(headers["x-amz-copy-source"])
    obj = await load_source(ctx, source)
    source_key = await open_key(ctx, obj.sealing, customer_key(headers, source=True))
    copy_source_conditions(headers, obj.etag, obj.last_modified, now=ctx.services.clock.now())
    if "x-amz-copy-source-range" in headers:
        start, length = parse_copy_range(headers["x-amz-copy-source-range"], obj.size)
    else:
        start, length = 0, obj.size
    if length > MAX_PART_SIZE:
        raise S3Error("InvalidRequest", "The specified copy source is larger than the maximum "
                      f"allowable size for a copy source: {MAX_PART_SIZE}")
    algorithm, _ = _upload_checksum(upload)
    received = await copy_bytes(ctx, obj, start, length, checksum=algorithm,
                                source_key=source_key, seal_key=data_key)
    part = await _store_part(ctx, upload, number, received)
    result: list[tuple[str, object]] = [
        ("ETag", quote_etag(part.etag)),
        ("LastModified", part.last_modified),
    ]
    result += [(f"Checksum{name.upper()}", value) for name, value in part.checksums.items()]
    return xml_response(render("CopyPartResult", result),
                        headers=sealing_headers(upload.sealing, customer))


# --- CompleteMultipartUpload --------------------------------------------------------


def _parse_complete(body: bytes) -> list[tuple[int, str, dict[str, str]]]:
    """(part number, ETag without quotes, checksums by algorithm) per listed part."""
    root = parse_xml(body, "CompleteMultipartUpload", max_length=MAX_COMPLETE_BODY)
    elements = find_all(root, "Part")
    if not elements or len(elements) > MAX_PART_NUMBER:
        raise S3Error("MalformedXML")
    listed = []
    for element in elements:
        raw_number = (find_text(element, "PartNumber") or "").strip()
        if not (raw_number.isascii() and raw_number.isdigit()) or len(raw_number) > 9:
            raise S3Error("MalformedXML")
        etag = (find_text(element, "ETag") or "").strip()
        if len(etag) >= 2 and etag[0] == etag[-1] == '"':
            etag = etag[1:-1]
        sums = {name: (find_text(element, f"Checksum{name.upper()}") or "").strip()
                for name in ALGORITHMS}
        listed.append((int(raw_number), etag, {k: v for k, v in sums.items() if v}))
    return listed


def multipart_etag(part_md5s: list[str]) -> str:
    """S3's multipart ETag: MD5 of the parts' binary MD5s, then ``-N``."""
    digest = hashlib.md5(b"".join(bytes.fromhex(m) for m in part_md5s)).hexdigest()
    return f"{digest}-{len(part_md5s)}"


def _object_checksum(algorithm: str, checksum_type: str, parts: list[Part]) -> str | None:
    """The whole object's checksum as S3 reports it, from the parts' own:

    - COMPOSITE: ``base64(H(digest_1 … digest_N))-N``, the checksum of the
      parts' checksums;
    - FULL_OBJECT (CRCs only): the CRC of the whole body, combined from the
      parts' CRCs and sizes without reading the data again.

    None when a part has no checksum of that algorithm (e.g. it was
    uploaded before the algorithm was known).
    """
    digests = []
    for part in parts:
        value = part.checksums.get(algorithm)
        if value is None:
            return None
        digests.append(base64.b64decode(value))
    if checksum_type == _FULL_OBJECT:
        return full_object(algorithm, zip(digests, (p.size for p in parts), strict=True))
    return composite(algorithm, digests, len(parts))


def _location(ctx: Context) -> str:
    host = ctx.request.headers.get("host", "")
    key = quote(ctx.key, safe="/~")
    if host.lower().startswith(ctx.bucket.lower() + "."):
        return f"{ctx.request.scheme}://{host}/{key}"
    return f"{ctx.request.scheme}://{host}/{quote(ctx.bucket)}/{key}"


def _complete_result(ctx: Context, obj: ObjectRecord,
                     headers: list[tuple[str, str]] | None = None) -> Response:
    children: list[tuple[str, object]] = [
        ("Location", _location(ctx)),
        ("Bucket", ctx.bucket),
        ("Key", ctx.key),
        ("ETag", quote_etag(obj.etag)),
    ]
    children += [(f"Checksum{name.upper()}", value) for name, value in obj.checksums.items()]
    if obj.checksums:
        # A composite checksum ends in -N; a full-object one does not.
        composite = any("-" in value for value in obj.checksums.values())
        children.append(("ChecksumType", _COMPOSITE if composite else _FULL_OBJECT))
    return xml_response(render("CompleteMultipartUploadResult", children), headers=headers or ())


async def _replay(ctx: Context, body: bytes, upload_id: str) -> Response:
    """A repeated CompleteMultipartUpload: S3 answers it again with the
    result if the object it made is still there; else NoSuchUpload."""
    try:
        listed = _parse_complete(body)
        etag = multipart_etag([e for _, e, _ in listed])
    except (S3Error, ValueError):
        raise _no_such_upload(upload_id) from None
    obj = await ctx.services.run(ctx.services.meta.get_object, ctx.bucket, ctx.key)
    if obj is None or obj.etag != etag:
        await require_bucket(ctx)
        raise _no_such_upload(upload_id)
    return _complete_result(ctx, obj)


def _select_parts(upload: Upload, listed: list[tuple[int, str, dict[str, str]]],
                  stored: dict[int, Part]) -> list[Part]:
    """The listed parts, checked as S3 checks them, in S3's order: part
    order, then each part's existence and ETag (and checksum), then sizes."""
    previous = 0
    for number, _, _ in listed:
        if number <= previous:
            raise S3Error("InvalidPartOrder", UploadId=upload.upload_id)
        previous = number
    chosen = []
    for number, etag, sums in listed:
        part = stored.get(number)
        if part is None or part.etag != etag.lower():
            raise S3Error("InvalidPart", UploadId=upload.upload_id, PartNumber=str(number),
                          ETag=etag)
        for name, value in sums.items():
            if part.checksums.get(name) not in (None, value):
                raise S3Error("InvalidPart", UploadId=upload.upload_id,
                              PartNumber=str(number), ETag=etag)
        chosen.append(part)
    for part in chosen[:-1]:
        if part.size < MIN_PART_SIZE:
            raise S3Error("EntityTooSmall", _TOO_SMALL_MESSAGE, ProposedSize=str(part.size),
                          MinSizeAllowed=str(MIN_PART_SIZE), PartNumber=str(part.part_number),
                          ETag=part.etag)
    return chosen


def _complete_checksums(upload: Upload, listed: list[tuple[int, str, dict[str, str]]],
                        parts: list[Part], headers: dict[str, str]) -> dict[str, str]:
    """The completed object's checksums, checked against what the request
    claims: an ``x-amz-checksum-*`` header on Complete is the whole
    object's checksum (``…-N`` for COMPOSITE) and must match (BadDigest);
    then, as S3 requires, every listed part must carry the upload's
    algorithm (InvalidRequest)."""
    algorithm, checksum_type = _upload_checksum(upload)
    computed = None
    if algorithm is not None:
        computed = _object_checksum(algorithm, checksum_type, parts)
    for name in ALGORITHMS:
        claimed = headers.get(f"x-amz-checksum-{name}")
        if claimed is not None and (name != algorithm or claimed.strip() != computed):
            raise S3Error("BadDigest", f"The {name.upper()} you specified did not match the "
                          "calculated checksum.")
    if algorithm is None:
        return {}
    for number, _, sums in listed:
        if algorithm not in sums:
            raise S3Error("InvalidRequest", f"The upload was created using a {algorithm} "
                          "checksum. The complete request must include the checksum for each "
                          f"part. It was missing for part {number} in the request.")
    return {} if computed is None else {algorithm: computed}


async def complete_multipart_upload(ctx: Context) -> Response:
    upload_id = ctx.request.query.get("uploadId", "")
    body = await ctx.request.read(MAX_COMPLETE_BODY)
    upload = await ctx.services.run(ctx.services.meta.get_upload, upload_id) if upload_id else None
    if upload is None or upload.bucket != ctx.bucket or upload.key != ctx.key:
        return await _replay(ctx, body, upload_id)
    listed = _parse_complete(body)
    meta = ctx.services.meta
    stored = {p.part_number: p for p in await ctx.services.run(meta.list_parts, upload_id)}
    parts = _select_parts(upload, listed, stored)
    size = sum(p.size for p in parts)
    expected_size = ctx.request.headers.get("x-amz-mp-object-size")
    if expected_size is not None and expected_size.strip() != str(size):
        raise S3Error("InvalidRequest", f"The provided 'x-amz-mp-object-size' header value "
                      f"{expected_size[:32]} does not match what was computed: {size}")
    headers = ctx.request.headers
    condition = None
    if "if-match" in headers or "if-none-match" in headers:
        current = await ctx.services.run(meta.get_object, ctx.bucket, ctx.key)
        condition = put_preconditions(headers, None if current is None else current.etag,
                                      key=ctx.key)

    checksums = _complete_checksums(upload, listed, parts, headers)
    algorithm, _ = _upload_checksum(upload)  # each part's own is kept for GetObjectAttributes
    state = await bucket_state(ctx, ctx.bucket)
    made = ctx.services.clock.now()
    conf = await bucket_lock(ctx, ctx.bucket) if state == ENABLED else None
    lock = with_default(VersionLock(upload.lock_mode, upload.lock_until, upload.legal_hold),
                        conf, made)
    obj = ObjectRecord(
        bucket=ctx.bucket,
        key=ctx.key,
        size=size,
        etag=multipart_etag([p.etag for p in parts]),
        last_modified=made,
        segments=tuple(Segment(p.blob_id, p.size, p.nonce,
                               checksum=p.checksums.get(algorithm) if algorithm else None)
                       for p in parts),
        headers=dict(upload.headers),
        user_metadata=dict(upload.user_metadata),
        tags=upload.tags,
        checksums=checksums,
        storage_class=upload.storage_class,
        owner=upload.owner,
        parts_count=len(parts),
        version_id=version_for(state),
        lock_mode=lock.mode, lock_until=lock.until, legal_hold=lock.legal_hold,
        sealing=upload.sealing,
    )
    try:
        replaced, removed = await ctx.services.run(
            meta.complete_upload, upload_id, obj, None if condition is None else condition.holds)
    except ConditionFailed as failed:  # a write or delete won the race; the upload stays
        assert condition is not None
        raise condition.failure(ctx.key, exists=failed.exists) from None
    except NoSuchUpload:
        # Completed (maybe by this same request, retried) or aborted meanwhile.
        return await _replay(ctx, body, upload_id)
    except ObjectLocked:  # it would replace a locked null version
        raise S3Error("AccessDenied", LOCKED) from None
    used = {s.blob_id for s in obj.segments}
    by_number = {p.part_number: p for p in removed}
    for part in parts:
        now = by_number.get(part.part_number)
        if now is None or now.blob_id != part.blob_id:
            # A part was replaced between our read and the commit; the
            # replacing UploadPart keeps the old blob when it sees the upload
            # gone, but not if it looked before our commit.
            log.warning("upload %s: part %d changed while completing", upload_id,
                        part.part_number)
    garbage = [p.blob_id for p in removed if p.blob_id not in used]
    if replaced is not None:
        garbage += [s.blob_id for s in replaced.segments if s.blob_id not in used]
    await discard_blobs(ctx, garbage)
    return _complete_result(ctx, obj, [*version_headers(obj.version_id),
                                       *await expiration_headers(ctx, obj),
                                       *sealing_headers(obj.sealing, customer_key(headers))])


# --- AbortMultipartUpload / ListParts -----------------------------------------------


async def abort_multipart_upload(ctx: Context) -> Response:
    upload = await _require_upload(ctx)
    try:
        removed = await ctx.services.run(ctx.services.meta.abort_upload, upload.upload_id)
    except NoSuchUpload:
        raise _no_such_upload(upload.upload_id) from None
    await discard_blobs(ctx, [p.blob_id for p in removed])
    return empty_response(204)


def _integer_param(ctx: Context, name: str, default: int) -> int:
    raw = ctx.request.query.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10 or int(raw) > 2**31 - 1:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer "
                      "range", ArgumentName=name, ArgumentValue=raw[:64])
    return int(raw)


async def list_parts(ctx: Context) -> Response:
    upload = await _require_upload(ctx)
    marker = _integer_param(ctx, "part-number-marker", 0)
    max_parts = min(_integer_param(ctx, "max-parts", MAX_LIST_PARTS), MAX_LIST_PARTS)
    meta = ctx.services.meta
    parts = await ctx.services.run(
        lambda: meta.list_parts(upload.upload_id, after=marker, limit=max_parts + 1)
    ) if max_parts else []
    truncated = len(parts) > max_parts
    parts = parts[:max_parts]
    algorithm, checksum_type = _upload_checksum(upload)
    # Initiator: who created the upload; Owner: who will own the object.
    owner = account_owner_xml(kept_owner(upload.headers, await bucket_owner_id(ctx, ctx.bucket),
                                         await ownership(ctx, ctx.bucket)))
    children: list[tuple[str, object]] = [
        ("Bucket", ctx.bucket),
        ("Key", ctx.key),
        ("UploadId", upload.upload_id),
        ("PartNumberMarker", marker),
        ("NextPartNumberMarker", parts[-1].part_number if parts else marker),
        ("MaxParts", max_parts),
        ("IsTruncated", truncated),
    ]
    for part in parts:
        entry: list[tuple[str, object]] = [
            ("PartNumber", part.part_number),
            ("LastModified", part.last_modified),
            ("ETag", quote_etag(part.etag)),
            ("Size", part.size),
        ]
        entry += [(f"Checksum{n.upper()}", v) for n, v in part.checksums.items()]
        children.append(("Part", entry))
    children += [("Initiator", owner_xml(upload.owner)), ("Owner", owner),
                 ("StorageClass", upload.storage_class)]
    if algorithm is not None:
        children += [("ChecksumAlgorithm", algorithm.upper()), ("ChecksumType", checksum_type)]
    return xml_response(render("ListPartsResult", children))


HANDLERS: dict[str, Callable[[Context], Awaitable[Response]]] = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "CompleteMultipartUpload": complete_multipart_upload,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
}
