"""Listing operations: ListObjects (v1), ListObjectsV2, ListMultipartUploads
(ListObjectVersions: ``list_versions.py``).

All four share one walk (``walk``): entries in UTF-8 byte order after a
position, keys that hold the delimiter after the prefix rolled up into one
common prefix each, at most ``max_keys`` entries (a common prefix counts as
one, as S3 counts it). ``walk`` is pure: it is given the store's list
function and does no I/O of its own, so the unit tests drive it with an
in-memory list.

Interoperability decisions, with the S3 behaviour that forced them:

- A common prefix is skipped when the marker lies inside it (the marker
  starts with it): S3's NextMarker after a page that ends in a common
  prefix *is* that prefix, and the next page must not repeat it
  (ceph/s3-tests ``test_bucket_list_delimiter_prefix``: marker ``boo/``
  gives ``cquux/``, not ``boo/`` again).
- ``max-keys=0`` answers an empty, untruncated page (s3-tests
  ``test_bucket_list_maxkeys_zero``); above 1000 it is 1000, the most S3
  returns.
- ``encoding-type=url`` percent-encodes as RFC 3986 does with ``/`` kept:
  ``+`` is ``%2B`` and a space ``%20`` (s3-tests
  ``test_bucket_list_encoding_basic``), which both plain percent-decoders
  and botocore's ``unquote_plus`` read back to the key.
- ListObjects and ListObjectsV2 list current versions only: a key whose
  newest version is a delete marker is not listed (``objects`` holds no
  row for it; ``sealbox.store.sql.versions``).
- ``Owner`` of a listed object is the bucket's owner (S3's default object
  ownership, BucketOwnerEnforced, makes the bucket owner own every object),
  but where ACLs are enabled and another account wrote it, that account,
  as the object's ACL says (read only when a listed object keeps one). An
  upload's ``Initiator`` is whoever created it, its ``Owner`` who will own
  the object.
- Keys with characters XML 1.0 cannot carry are written as character
  references by ``sealbox.api.s3.xml`` (S3 does the same); boto3 and the AWS
  CLI ask for ``encoding-type=url`` and never meet them.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar
from urllib.parse import quote

from sealbox.api.common.access_gate import OBJECT_ACL_HEADER
from sealbox.api.common.context import Context
from sealbox.api.s3.acl_writes import kept_owner, ownership
from sealbox.api.s3.common import account_owner_xml, owner_id, owner_xml, quote_etag, require_bucket
from sealbox.api.s3.xml import render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, xml_response
from sealbox.store.meta import Bucket, ObjectRecord, Upload

MAX_KEYS = 1000
MAX_INT = 2**31 - 1
_INTEGER = re.compile(r"-?[0-9]{1,12}")
# The largest code point. ``prefix + MAX_CHAR`` sorts after nearly every key
# under ``prefix`` (all but those continuing with U+10FFFF, which the walk
# skips one by one), and the store only offers "strictly after".
MAX_CHAR = "\U0010ffff"
# Rows per store call. After a dense common prefix the walk asks for few
# rows (the next one is likely another group), and doubles while rows are
# used, back up to this.
BATCH = MAX_KEYS + 1  # a full page and the one entry that says it is truncated
SMALL_BATCH = 2

# (key, id): strictly after ``id`` among the entries of ``key`` (an upload
# id), or after every entry of ``key`` when ``id`` is "".
Position = tuple[str, str]


class Keyed(Protocol):
    @property
    def key(self) -> str: ...


T = TypeVar("T", bound=Keyed)
ListFn = Callable[[Position, int], Sequence[T]]


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, in order: ``entries`` holds the items and the
    common prefixes (``str``) interleaved as S3 orders them; ``last`` is the
    position of the last entry, where the next page starts."""

    entries: list[T | str]
    truncated: bool
    last: Position | None

    @property
    def items(self) -> list[T]:
        return [e for e in self.entries if not isinstance(e, str)]

    @property
    def prefixes(self) -> list[str]:
        return [e for e in self.entries if isinstance(e, str)]


def _key_position(item: Keyed) -> Position:
    return (item.key, "")


def walk(
    list_fn: ListFn[T],
    prefix: str,
    delimiter: str,
    after: Position | str,
    max_keys: int,
    *,
    position: Callable[[T], Position] = _key_position,
    batch: int = BATCH,
) -> Page[T]:
    """Up to ``max_keys`` entries after ``after``, keys grouped by ``delimiter``.

    ``list_fn(after, limit)`` returns up to ``limit`` items under ``prefix``
    strictly after the position ``after``, in order. Once a common prefix
    is found, the walk does not read the keys under it: it asks the store
    for the keys after ``prefix + U+10FFFF``, so a page over a bucket of
    millions of keys in a few "directories" costs a few calls.
    """
    if isinstance(after, str):
        after = (after, "")
    entries: list[T | str] = []
    if max_keys <= 0:
        return Page(entries, False, None)
    marker_key = after[0]
    cursor = after
    last: Position | None = None
    skip: str | None = None  # the common prefix whose keys are being passed over
    limit = min(batch, max_keys + 1)
    while True:
        rows = list_fn(cursor, limit)
        skip_set_here = False
        jumped = False
        for row in rows:
            key = row.key
            if skip is not None and key.startswith(skip):
                if skip_set_here:
                    # A dense group: jump past it rather than read it.
                    jumped = True
                    break
                cursor = position(row)  # the rare key above skip + MAX_CHAR
                continue
            cut = key.find(delimiter, len(prefix)) if delimiter else -1
            if cut < 0:
                if len(entries) == max_keys:
                    return Page(entries, True, last)
                entries.append(row)
                last = cursor = position(row)
                continue
            common = key[: cut + len(delimiter)]
            if not marker_key.startswith(common):
                if len(entries) == max_keys:
                    return Page(entries, True, last)
                entries.append(common)
                last = (common, "")
            skip = common
            skip_set_here = True
            jump = common + MAX_CHAR
            cursor = position(row) if key > jump else (jump, "")
        if jumped:
            limit = SMALL_BATCH
        elif len(rows) < limit:
            return Page(entries, False, last)
        else:
            limit = min(batch, limit * 2)


# --- request parameters ------------------------------------------------------------


def int_param(query: Mapping[str, str], name: str, default: int) -> int:
    """``max-keys`` / ``max-uploads``: S3's two InvalidArgument answers for a
    value that is not an int32 or is negative; above 1000 is 1000."""
    raw = query.get(name)
    if raw is None:
        return default
    if _INTEGER.fullmatch(raw) is None or int(raw) > MAX_INT:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within integer range",
                      ArgumentName=name, ArgumentValue=raw)
    value = int(raw)
    if value < 0:
        raise S3Error("InvalidArgument",
                      f"Argument {name} must be an integer between 0 and {MAX_INT}",
                      ArgumentName=name, ArgumentValue=raw)
    return min(value, MAX_KEYS)


def encoder(query: Mapping[str, str]) -> Callable[[str], str]:
    """The function applied to every key-like value of the answer."""
    kind = query.get("encoding-type")
    if kind is None:
        return _identity
    if kind != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=kind)
    return url_encode


def _identity(text: str) -> str:
    return text


def url_encode(text: str) -> str:
    return quote(text, safe="/")


def encode_token(last: str) -> str:
    """An opaque continuation token naming the last entry of a page."""
    return base64.urlsafe_b64encode(last.encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str) -> str:
    """The last entry named by ``token``; InvalidArgument for anything we did
    not issue (S3: "The continuation token provided is incorrect")."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        last = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        last = None
    if not last or encode_token(last) != token:
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token", ArgumentValue=token)
    return last


# --- rendering -----------------------------------------------------------------------

_ALGORITHM_NAMES = {"crc32": "CRC32", "crc32c": "CRC32C", "crc64nvme": "CRC64NVME",
                    "sha1": "SHA1", "sha256": "SHA256"}


def checksum_fields(checksums: Mapping[str, str]) -> list[tuple[str, object]]:
    """``ChecksumAlgorithm`` (one element per algorithm) and ``ChecksumType``.

    A multipart object's checksum of checksums reads ``<base64>-<parts>``
    (COMPOSITE); any other is of the whole object (FULL_OBJECT).
    """
    fields: list[tuple[str, object]] = []
    composite = False
    for name, value in checksums.items():
        fields.append(("ChecksumAlgorithm", _ALGORITHM_NAMES.get(name, name.upper())))
        composite = composite or "-" in value
    if fields:
        fields.append(("ChecksumType", "COMPOSITE" if composite else "FULL_OBJECT"))
    return fields


async def _owners(ctx: Context, bucket: Bucket, items: Sequence[ObjectRecord],
                  ) -> Callable[[ObjectRecord], list[tuple[str, object]]]:
    """Each listed object's ``Owner``: the bucket owner's, unless the
    object keeps an ACL naming another (ACLs enabled, another account wrote it)."""
    owner = owner_xml(bucket.owner)
    if not any(OBJECT_ACL_HEADER in o.headers for o in items):
        return lambda _: owner
    bucket_owner = owner_id(bucket.owner)
    object_ownership = await ownership(ctx, bucket.name)

    def of(obj: ObjectRecord) -> list[tuple[str, object]]:
        kept = kept_owner(obj.headers, bucket_owner, object_ownership)
        return owner if kept == bucket_owner else account_owner_xml(kept)
    return of


def object_fields(obj: ObjectRecord, enc: Callable[[str], str],
                   owner: list[tuple[str, object]] | None) -> list[tuple[str, object]]:
    return [
        ("Key", enc(obj.key)),
        ("LastModified", obj.last_modified),
        ("ETag", quote_etag(obj.etag)),
        *checksum_fields(obj.checksums),
        ("Size", obj.size),
        ("Owner", owner),
        ("StorageClass", obj.storage_class),
    ]


def prefix_entries(page: Page[T], enc: Callable[[str], str]) -> list[tuple[str, object]]:
    return [("CommonPrefixes", [("Prefix", enc(p))]) for p in page.prefixes]


def delimiter_param(query: Mapping[str, str]) -> str:
    return query.get("delimiter", "")


async def _walk_objects(ctx: Context, prefix: str, delimiter: str, after: str,
                        max_keys: int) -> Page[ObjectRecord]:
    meta = ctx.services.meta
    bucket = ctx.bucket

    def list_fn(pos: Position, limit: int) -> list[ObjectRecord]:
        return meta.list_objects(bucket, prefix=prefix, after=pos[0], limit=limit)

    # The whole walk runs in one pool thread: a delimited page may take
    # several store calls, and one hop costs more than a small query.
    return await ctx.services.run(
        functools.partial(walk, list_fn, prefix, delimiter, after, max_keys))


# --- operations -----------------------------------------------------------------------


async def list_objects(ctx: Context) -> Response:
    """ListObjects (v1): ``marker``; Owner always; NextMarker only with a delimiter."""
    bucket = await require_bucket(ctx)
    query = ctx.request.query
    enc = encoder(query)
    max_keys = int_param(query, "max-keys", MAX_KEYS)
    prefix = query.get("prefix", "")
    delimiter = delimiter_param(query)
    marker = query.get("marker", "")
    page = await _walk_objects(ctx, prefix, delimiter, marker, max_keys)
    owner = await _owners(ctx, bucket, page.items)
    next_marker = page.last[0] if page.truncated and delimiter and page.last else None
    children: list[tuple[str, object]] = [
        ("Name", bucket.name),
        ("Prefix", enc(prefix)),
        ("Marker", enc(marker)),
        ("NextMarker", enc(next_marker) if next_marker is not None else None),
        ("MaxKeys", max_keys),
        ("Delimiter", enc(delimiter) if delimiter else None),
        ("EncodingType", "url" if enc is url_encode else None),
        ("IsTruncated", page.truncated),
    ]
    children += [("Contents", object_fields(o, enc, owner(o))) for o in page.items]
    children += prefix_entries(page, enc)
    return xml_response(render("ListBucketResult", children))


async def list_objects_v2(ctx: Context) -> Response:
    """ListObjectsV2: ``continuation-token`` (opaque) over ``start-after``;
    KeyCount; Owner only with ``fetch-owner=true``."""
    bucket = await require_bucket(ctx)
    query = ctx.request.query
    enc = encoder(query)
    max_keys = int_param(query, "max-keys", MAX_KEYS)
    prefix = query.get("prefix", "")
    delimiter = delimiter_param(query)
    token = query.get("continuation-token")
    start_after = query.get("start-after")
    # S3 ignores start-after once a continuation token is given.
    after = decode_token(token) if token else (start_after or "")
    page = await _walk_objects(ctx, prefix, delimiter, after, max_keys)
    owner = (await _owners(ctx, bucket, page.items)
             if query.get("fetch-owner", "").lower() == "true" else None)
    next_token = encode_token(page.last[0]) if page.truncated and page.last else None
    children: list[tuple[str, object]] = [
        ("Name", bucket.name),
        ("Prefix", enc(prefix)),
        ("StartAfter", enc(start_after) if start_after is not None else None),
        ("ContinuationToken", token),
        ("NextContinuationToken", next_token),
        ("KeyCount", len(page.entries)),
        ("MaxKeys", max_keys),
        ("Delimiter", enc(delimiter) if delimiter else None),
        ("EncodingType", "url" if enc is url_encode else None),
        ("IsTruncated", page.truncated),
    ]
    children += [("Contents", object_fields(o, enc, owner and owner(o))) for o in page.items]
    children += prefix_entries(page, enc)
    return xml_response(render("ListBucketResult", children))


async def list_multipart_uploads(ctx: Context) -> Response:
    """ListMultipartUploads: uploads by (key, initiation time), paged with
    ``key-marker`` and ``upload-id-marker`` (ignored without a key marker,
    as S3 ignores it)."""
    bucket = await require_bucket(ctx)
    query = ctx.request.query
    enc = encoder(query)
    max_uploads = int_param(query, "max-uploads", MAX_KEYS)
    prefix = query.get("prefix", "")
    delimiter = delimiter_param(query)
    key_marker = query.get("key-marker", "")
    upload_marker = query.get("upload-id-marker", "")
    meta = ctx.services.meta
    name = bucket.name

    def list_fn(pos: Position, limit: int) -> list[Upload]:
        return meta.list_uploads(name, prefix=prefix, key_marker=pos[0],
                                 upload_id_marker=pos[1], limit=limit)

    after = (key_marker, upload_marker if key_marker else "")
    page: Page[Upload] = await ctx.services.run(functools.partial(
        walk, list_fn, prefix, delimiter, after, max_uploads, position=_upload_position))
    next_key = next_upload = None
    if page.truncated and page.last is not None:
        next_key, next_upload = page.last
    bucket_owner = owner_id(bucket.owner)
    object_ownership = await ownership(ctx, name)
    children: list[tuple[str, object]] = [
        ("Bucket", name),
        ("KeyMarker", enc(key_marker)),
        ("UploadIdMarker", upload_marker),
        ("NextKeyMarker", enc(next_key) if next_key is not None else None),
        ("NextUploadIdMarker", next_upload),
        ("Delimiter", enc(delimiter) if delimiter else None),
        ("Prefix", enc(prefix)),
        ("MaxUploads", max_uploads),
        ("EncodingType", "url" if enc is url_encode else None),
        ("IsTruncated", page.truncated),
    ]
    for up in page.items:
        children.append(("Upload", [
            ("Key", enc(up.key)),
            ("UploadId", up.upload_id),
            ("Initiator", owner_xml(up.owner or bucket.owner)),
            # Who will own the object: the ACL the upload keeps says.
            ("Owner", account_owner_xml(kept_owner(up.headers, bucket_owner, object_ownership))),
            ("StorageClass", up.storage_class),
            ("Initiated", up.initiated),
            *_upload_checksum_fields(up),
        ]))
    children += prefix_entries(page, enc)
    return xml_response(render("ListMultipartUploadsResult", children))


def _upload_checksum_fields(upload: Upload) -> list[tuple[str, object]]:
    """``ChecksumAlgorithm`` and ``ChecksumType`` of an upload started with one.

    ``sealbox.api.s3.multipart`` stores ``crc32`` (COMPOSITE, the default
    except for CRC64NVME) or ``crc32:FULL_OBJECT``.
    """
    if not upload.checksum_algorithm:
        return []
    name, _, kind = upload.checksum_algorithm.lower().partition(":")
    if not kind:
        kind = "full_object" if name == "crc64nvme" else "composite"
    return [("ChecksumAlgorithm", _ALGORITHM_NAMES.get(name, name.upper())),
            ("ChecksumType", kind.upper())]


def _upload_position(upload: Upload) -> Position:
    return (upload.key, upload.upload_id)


HANDLERS = {
    "ListObjects": list_objects,
    "ListObjectsV2": list_objects_v2,
    "ListMultipartUploads": list_multipart_uploads,
}
