"""What CopyObject and UploadPartCopy share: the copy source and its bytes.

- ``parse_copy_source`` reads ``x-amz-copy-source`` into a ``CopySource``
  (bucket, key, version id).
- ``parse_copy_range`` reads ``x-amz-copy-source-range`` against the
  source's size (UploadPartCopy only; CopyObject has no range).
- ``load_source`` finds the source object, or raises S3's 404s.
- ``copy_bytes`` copies a run of a source object's segments into one new,
  fsynced blob and returns it as a ``ReceivedBlob`` (id, size, MD5), the
  same value an upload body gives, so callers commit it the same way.

Copies never share blobs with their source: a blob belongs to exactly one
object or part, so deleting or replacing one never breaks another.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from sealbox.access.actions import resource_arn
from sealbox.api.common.context import Context, decide
from sealbox.api.s3.ingest import ReceivedBlob
from sealbox.api.s3.versioning import checked_version
from sealbox.auth.sigv4.checksum import ALGORITHMS, encode
from sealbox.errors import S3Error
from sealbox.store.blobs import BlobStore, BlobWriter
from sealbox.store.meta import ObjectRecord, Segment
from sealbox.store.sealed_blobs import SealedWriter, open_segment

COPY_CHUNK = 1024 * 1024

_SOURCE_MESSAGE = "Copy Source must mention the source bucket and key: sourcebucket/sourcekey"
_RANGE_MESSAGE = (
    "The x-amz-copy-source-range value must be of the form bytes=first-last where first "
    "and last are the zero-based offsets of the first and last bytes to copy"
)
_RANGE = re.compile(r"bytes=(\d{1,19})-(\d{1,19})")


@dataclass(frozen=True)
class CopySource:
    """The object a copy reads: ``x-amz-copy-source`` decoded."""

    bucket: str
    key: str
    version_id: str | None = None


def parse_copy_source(value: str) -> CopySource:
    """``[/]bucket/key[?versionId=id]``, the key percent-encoded.

    The version suffix is split off before decoding, so a key holding
    ``?`` (sent as ``%3F``) stays part of the key. The key is decoded
    once, like a path: ``+`` stays a plus (boto3 and the AWS CLI encode
    spaces as ``%20``). Raises InvalidArgument, as S3 does, when the
    bucket or the key is missing or the key is not UTF-8.
    """
    raw, sep, query = value.partition("?")
    version_id: str | None = None
    if sep:
        name, _, version = query.partition("=")
        if name != "versionId" or not version:
            raise _bad_source(value)
        version_id = _decode(version, value)
    raw = raw.removeprefix("/")
    bucket, slash, key = raw.partition("/")
    if not bucket or not slash or not key:
        raise _bad_source(value)
    return CopySource(_decode(bucket, value), _decode(key, value), version_id)


def _decode(part: str, whole: str) -> str:
    try:
        return unquote_to_bytes(part.encode("utf-8", "surrogateescape")).decode("utf-8")
    except UnicodeError:
        raise _bad_source(whole) from None


def _bad_source(value: str) -> S3Error:
    return S3Error("InvalidArgument", _SOURCE_MESSAGE, ArgumentName="x-amz-copy-source",
                   ArgumentValue=value[:1024])


def parse_copy_range(value: str, size: int) -> tuple[int, int]:
    """``bytes=first-last`` → (start, length), inside an object of ``size``.

    Unlike GET's Range, only one closed range is accepted and it may not
    run past the end. Real S3 answers (reported by s3fs#321 and
    versitygw#610 against AWS, and what MinIO sends):

    - any other form (``0-2``, ``bytes=0-``, ``bytes=-5``, two ranges) →
      InvalidArgument "The x-amz-copy-source-range value must be of the
      form bytes=first-last …";
    - first > last, or last ≥ size → InvalidArgument "Range specified is
      not valid for source object of size: N".

    (ceph's s3-tests accept InvalidRange for the second case; AWS itself
    sends InvalidArgument, which we follow.)
    """
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        raise S3Error("InvalidArgument", _RANGE_MESSAGE, ArgumentName="x-amz-copy-source-range",
                      ArgumentValue=value[:256])
    first, last = int(match[1]), int(match[2])
    if first > last or last >= size:
        raise S3Error("InvalidArgument",
                      f"Range specified is not valid for source object of size: {size}",
                      ArgumentName="x-amz-copy-source-range", ArgumentValue=value[:256])
    return first, last - first + 1


async def _may_read(ctx: Context, source: CopySource) -> None:
    """A copy reads its source: S3 requires ``s3:GetObject`` on it
    (``s3:GetObjectVersion`` when the source names a version) besides
    ``s3:PutObject`` on the target, which the request was judged by."""
    action = "s3:GetObject" if source.version_id is None else "s3:GetObjectVersion"
    decision = await decide(ctx.services, ctx.request, ctx.auth, action,
                            resource_arn("object", source.bucket, source.key),
                            bucket=source.bucket, key=source.key,
                            operation=ctx.endpoint.operation)
    if not decision.allowed:
        raise S3Error("AccessDenied")


async def load_source(ctx: Context, source: CopySource) -> ObjectRecord:
    """The source object (its version, if the source names one), or what S3
    answers a copy whose source is missing: NoSuchBucket, NoSuchKey,
    NoSuchVersion; a delete marker named by its id is 400 InvalidRequest
    ("The source of a copy request may not specifically refer to a delete
    marker by version id")."""
    await _may_read(ctx, source)
    meta = ctx.services.meta
    if source.version_id is None:
        obj = await ctx.services.read(meta.get_object, source.bucket, source.key)
    else:
        version = checked_version(source.version_id, "x-amz-copy-source")
        obj = await ctx.services.read(meta.get_version, source.bucket, source.key, version)
    if obj is not None and obj.delete_marker:
        raise S3Error("InvalidRequest", "The source of a copy request may not specifically "
                      "refer to a delete marker by version id.")
    if obj is None:
        bucket = await ctx.services.read(meta.get_bucket, source.bucket)
        if bucket is None:
            raise S3Error("NoSuchBucket", BucketName=source.bucket)
        if source.version_id is not None:
            raise S3Error("NoSuchVersion", Key=source.key, VersionId=source.version_id)
        raise S3Error("NoSuchKey", Key=source.key)
    return obj


async def copy_bytes(ctx: Context, obj: ObjectRecord, start: int = 0,
                     length: int | None = None, *, checksum: str | None = None,
                     source_key: bytes | None = None,
                     seal_key: bytes | None = None) -> ReceivedBlob:
    """Copy ``length`` bytes of ``obj`` from ``start`` (default: all of it)
    into a new finished blob; the caller commits or discards it.

    ``checksum`` names an additional algorithm (``crc32``, ``sha256`` …, as
    in ``sealbox.auth.sigv4.checksum.ALGORITHMS``) to compute over the
    copied bytes; it is returned base64-encoded in ``checksums``.

    ``source_key`` opens a sealed source (api/s3/sealing.read_key); the
    copy is sealed under ``seal_key`` when given, per the target's own
    settings: the plaintext passes through memory, never to disk.

    If the source is replaced or deleted while we read it, its blobs go
    away under us: that is answered NoSuchKey (the object we were asked
    to copy no longer exists) and nothing is kept.
    """
    if length is None:
        length = obj.size - start
    if start < 0 or length < 0 or start + length > obj.size:
        raise ValueError(f"range {start}+{length} outside an object of {obj.size} bytes")
    try:
        return await ctx.services.run(_copy, ctx.services.blobs, obj.segments, start, length,
                                      checksum, source_key, seal_key)
    except FileNotFoundError:
        raise S3Error("NoSuchKey", Key=obj.key) from None


def _copy(blobs: BlobStore, segments: tuple[Segment, ...], start: int,
          length: int, checksum: str | None = None, source_key: bytes | None = None,
          seal_key: bytes | None = None) -> ReceivedBlob:
    md5 = hashlib.md5()
    extra: Any = ALGORITHMS[checksum].new() if checksum is not None else None
    writer: BlobWriter = blobs.writer()
    sealed = SealedWriter(writer, seal_key) if seal_key is not None else None
    if sealed is not None:
        writer = sealed
    try:
        remaining = length
        offset = start
        for segment in segments:
            if remaining == 0:
                break
            if offset >= segment.size:
                offset -= segment.size
                continue
            with open_segment(blobs, segment, source_key) as f:
                f.seek(offset)
                want = min(remaining, segment.size - offset)
                while want:
                    chunk = f.read(min(COPY_CHUNK, want))
                    if not chunk:
                        # A blob shorter than its record: never expected, but
                        # a short copy must not be kept as if it were whole.
                        raise OSError(f"blob {segment.blob_id} is shorter than recorded")
                    md5.update(chunk)
                    if extra is not None:
                        extra.update(chunk)
                    writer.write(chunk)
                    want -= len(chunk)
                    remaining -= len(chunk)
            offset = 0
        if remaining:
            raise OSError("object segments are shorter than its recorded size")
        blob_id = writer.finish()
    except BaseException:
        writer.abort()
        raise
    sums = {checksum: encode(extra.digest())} if checksum is not None else {}
    return ReceivedBlob(blob_id, length, md5.hexdigest(), sums,
                        nonce=sealed.nonce if sealed is not None else None)
