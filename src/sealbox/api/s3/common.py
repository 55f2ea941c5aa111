"""Pieces several operations share: bucket lookup, stored headers, owner, ETags."""

from __future__ import annotations

from collections.abc import Mapping

from sealbox.access.canonical_ids import account_of, canonical_id
from sealbox.api.common.context import Context
from sealbox.errors import S3Error
from sealbox.http.dates import format_http_date, format_iso8601
from sealbox.http.header_values import (
    decode_words,
    refuse_control,
    refuse_name,
    servable,
    servable_headers,
    wire_text,
)
from sealbox.store.meta import NULL_VERSION, SSE_KMS, SSE_S3, Bucket, ObjectRecord

# The representation headers S3 stores with an object and returns on GET.
STORED_HEADERS = (
    "content-type",
    "content-encoding",
    "content-disposition",
    "content-language",
    "cache-control",
    "expires",
)
STORAGE_CLASSES = frozenset(
    ["STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "OUTPOSTS", "GLACIER_IR", "SNOW", "EXPRESS_ONEZONE"]
)
MAX_USER_METADATA_BYTES = 2 * 1024  # S3: "user-defined metadata is limited to 2 KB"


async def require_bucket(ctx: Context) -> Bucket:
    bucket = await ctx.services.read(ctx.services.meta.get_bucket, ctx.bucket)
    if bucket is None:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket)
    return bucket


def owner_id(arn: str) -> str:
    """The owner's canonical user id: its account's (sealbox.access.canonical_ids)."""
    return canonical_id(arn)


# An account's DisplayName: its root's name, until accounts have names of their own.
ACCOUNT_DISPLAY_NAME = "root"


def owner_name(arn: str) -> str:
    """The DisplayName S3 gives an owner: its account's, whichever of the
    account's principals acted."""
    if not arn or account_of(arn):
        return ACCOUNT_DISPLAY_NAME
    return arn.rsplit(":", 1)[-1]


def owner_xml(arn: str) -> list[tuple[str, object]]:
    return [("ID", owner_id(arn)), ("DisplayName", owner_name(arn))]


def account_owner_xml(canonical: str) -> list[tuple[str, object]]:
    """An ``Owner`` named by its account's canonical id (an ACL's owner)."""
    return [("ID", canonical), ("DisplayName", ACCOUNT_DISPLAY_NAME)]


def quote_etag(etag: str) -> str:
    return f'"{etag}"'


def stored_headers(headers: Mapping[str, str], *, wire: bool = True) -> dict[str, str]:
    """The representation headers a PUT, CopyObject (REPLACE),
    CreateMultipartUpload or POST form stores; ``InvalidArgument`` for a
    value that could not be sent back (``sealbox.http.header_values``).
    ``wire``: the values are request headers, one character per byte (a
    POST form's fields are text already)."""
    stored = {}
    for name in STORED_HEADERS:
        value = headers.get(name)
        if value is not None:
            refuse_control(name, value)
            stored[name] = wire_text(value) if wire else value
    encoding = stored.get("content-encoding")
    if encoding is not None:
        # aws-chunked describes the transfer, not the object; S3 drops it
        # and keeps the rest; a value without it is kept as sent
        # ("deflate, gzip" comes back as "deflate, gzip").
        codings = [e.strip() for e in encoding.split(",")]
        rest = [e for e in codings if e and e.lower() != "aws-chunked"]
        if not rest:
            del stored["content-encoding"]
        elif len(rest) != len(codings):
            stored["content-encoding"] = ", ".join(rest)
    return stored


def user_metadata(headers: Mapping[str, str], *, wire: bool = True) -> dict[str, str]:
    """``x-amz-meta-*`` headers by lower-case suffix, capped as S3 caps them.

    Values are kept as text, RFC 2047 encoded-words decoded, as S3 keeps
    them ("character decoded as per RFC 2047 before storing"); GetObject
    encodes non-ASCII text again. A name that is no header name, or a value
    with a control character (also once decoded), is ``InvalidArgument``.
    ``wire`` as for ``stored_headers``.
    """
    meta = {}
    for name, value in headers.items():
        if not name.startswith("x-amz-meta-"):
            continue
        refuse_name(name)
        text = decode_words(wire_text(value) if wire else value)
        refuse_control(name, text)
        meta[name[11:]] = text
    # "the sum of the number of bytes in the UTF-8 encoding of each key and value"
    size = sum(len(k.encode()) + len(v.encode()) for k, v in meta.items())
    if size > MAX_USER_METADATA_BYTES:
        raise S3Error("MetadataTooLarge", Size=str(size), MaxSizeAllowed=str(MAX_USER_METADATA_BYTES))
    return meta


def storage_class(headers: Mapping[str, str]) -> str:
    value = headers.get("x-amz-storage-class", "STANDARD")
    if value not in STORAGE_CLASSES:
        raise S3Error("InvalidStorageClass", StorageClassRequested=value)
    return value


def object_metadata_headers(headers: dict[str, str], user_meta: Mapping[str, str]) -> list[tuple[str, str]]:
    """Stored representation and user metadata headers for a GET/HEAD answer."""
    # The object's canned ACL is kept among its headers but is no header of it.
    out = [(name, value) for name, value in headers.items() if name != "x-amz-acl"]
    out.extend((f"x-amz-meta-{name}", value) for name, value in user_meta.items())
    # Made fit for the wire here, once per record: values are checked on
    # the way in, but one kept by an older version may hold anything.
    return servable_headers(out)


def object_response_headers(record: ObjectRecord) -> list[tuple[str, str]]:
    """The headers of a GetObject/HeadObject answer that describe the object
    itself (the edge replays the same ones)."""
    headers = object_metadata_headers(record.headers, record.user_metadata)
    if "content-type" not in record.headers:
        headers.append(("content-type", record.content_type))
    headers.append(("etag", quote_etag(record.etag)))
    headers.append(("last-modified", format_http_date(record.last_modified)))
    headers.append(("accept-ranges", "bytes"))
    if record.tags:
        headers.append(("x-amz-tagging-count", str(len(record.tags))))
    if record.version_id != NULL_VERSION:
        headers.append(("x-amz-version-id", record.version_id))
    if record.storage_class != "STANDARD":
        headers.append(("x-amz-storage-class", servable("x-amz-storage-class",
                                                        record.storage_class)))
    if record.lock_mode is not None and record.lock_until is not None:  # object_lock.py
        headers.append(("x-amz-object-lock-mode", record.lock_mode))
        headers.append(("x-amz-object-lock-retain-until-date",
                        format_iso8601(record.lock_until)))
    if record.legal_hold is not None:
        headers.append(("x-amz-object-lock-legal-hold", "ON" if record.legal_hold else "OFF"))
    if record.sealing is not None:
        if record.sealing.kind == SSE_S3:
            headers.append(("x-amz-server-side-encryption", SSE_S3))
        elif record.sealing.kind == SSE_KMS:
            headers.append(("x-amz-server-side-encryption", SSE_KMS))
            headers.append(("x-amz-server-side-encryption-aws-kms-key-id",
                            record.sealing.kms_key))
            if record.sealing.bucket_key:
                headers.append(("x-amz-server-side-encryption-bucket-key-enabled", "true"))
    return headers
