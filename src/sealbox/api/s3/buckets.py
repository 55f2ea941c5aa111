"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation (versioning: versioning.py).

Bucket names are global, buckets an account's: a bucket belongs to the
account of the principal that created it (its owner ARN's), ListBuckets
shows the caller's account's only, and a name another account holds is
``BucketAlreadyExists``."""

from __future__ import annotations

import ipaddress
import re

from sealbox.access.public_access import ALL as ALL_BLOCKED
from sealbox.api.common.access_gate import ACL_SETTING, PUBLIC_ACCESS_BLOCK_SETTING
from sealbox.api.common.context import Context
from sealbox.api.s3 import cors, object_lock
from sealbox.api.s3.acl_writes import OWNERSHIP_SETTING, create_bucket_acl, requested_ownership
from sealbox.api.s3.common import owner_xml, require_bucket
from sealbox.api.s3.ingest import discard_blobs
from sealbox.api.s3.listing import decode_token, encode_token
from sealbox.api.s3.xml import find_text, parse_xml, render
from sealbox.auth.principal import ACCOUNT_ID, account_of_arn
from sealbox.errors import S3Error
from sealbox.http.dates import format_iso8601
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import Bucket, BucketExists, BucketNotEmpty, MetaStore, NoSuchBucket

MAX_CREATE_BUCKET_BODY = 64 * 1024

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
# Prefixes and suffixes S3 reserves for its own features ("Bucket naming rules").
_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def valid_bucket_name(name: str) -> bool:
    """S3's rules for general purpose bucket names."""
    if not _BUCKET_NAME.match(name) or ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith(_RESERVED_PREFIXES) or name.endswith(_RESERVED_SUFFIXES):
        return False
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return True
    return False


MAX_BUCKETS = 10000


def _max_buckets(raw: str | None) -> int:
    """``max-buckets``: 1 to 10000 (the ListBuckets reference's valid range)."""
    if raw is None:
        return MAX_BUCKETS
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_BUCKETS:
        raise S3Error("InvalidArgument",
                      f"Argument max-buckets must be an integer between 1 and {MAX_BUCKETS}",
                      ArgumentName="max-buckets", ArgumentValue=raw[:32])
    return int(raw)


async def list_buckets(ctx: Context) -> Response:
    """ListBuckets, with the 2024 paging: ``max-buckets``,
    ``continuation-token``, ``prefix`` and ``bucket-region``. Buckets come in
    name order; a ``ContinuationToken`` is sent only when more buckets follow."""
    query = ctx.request.query
    prefix = query.get("prefix", "")
    region = query.get("bucket-region")
    limit = _max_buckets(query.get("max-buckets"))
    token = query.get("continuation-token")
    after = decode_token(token) if token is not None else None
    buckets = await ctx.services.run(ctx.services.meta.list_buckets)
    account = ctx.auth.principal.account
    selected = [
        b for b in sorted(buckets, key=lambda b: b.name)
        if bucket_account(b) == account
        and b.name.startswith(prefix)
        and (region is None or b.region == region)
        and (after is None or b.name > after)
    ]
    page = selected[:limit]
    entries = [
        ("Bucket", [("Name", b.name), ("CreationDate", format_iso8601(b.created)),
                    ("BucketRegion", b.region)])
        for b in page
    ]
    children: list[tuple[str, object]] = [
        ("Owner", owner_xml(ctx.auth.principal.arn)),
        ("Buckets", entries),
    ]
    if len(selected) > limit:
        children.append(("ContinuationToken", encode_token(page[-1].name)))
    if prefix:
        children.append(("Prefix", prefix))
    return xml_response(render("ListAllMyBucketsResult", children))


def bucket_account(bucket: Bucket) -> str:
    """The account that owns a bucket: that of the principal that made it."""
    return account_of_arn(bucket.owner) or ACCOUNT_ID


def _location_constraint(body: bytes, region: str) -> str:
    """The region a CreateBucket body asks for; S3's errors when it can't be had."""
    if not body.strip():
        return region
    root = parse_xml(body, "CreateBucketConfiguration")
    wanted = find_text(root, "LocationConstraint")
    if wanted is None or wanted == "":
        return region
    if wanted == "EU":
        wanted = "eu-west-1"
    if wanted == region and region != "us-east-1":
        return region
    if region == "us-east-1" and wanted == "us-east-1":
        # S3 refuses an explicit us-east-1: that region is the default.
        raise S3Error("InvalidLocationConstraint", LocationConstraint=wanted)
    raise S3Error(
        "IllegalLocationConstraintException",
        f"The {wanted} location constraint is incompatible for the region specific endpoint "
        "this request was sent to.",
    )


async def create_bucket(ctx: Context) -> Response:
    name = ctx.bucket
    if not valid_bucket_name(name):
        raise S3Error("InvalidBucketName", BucketName=name)
    object_ownership = requested_ownership(ctx)
    block = ctx.services.settings.new_bucket_block_public_access
    acl = create_bucket_acl(ctx, object_ownership, ctx.auth.principal.arn, block)
    body = await ctx.request.read(MAX_CREATE_BUCKET_BODY)
    region = _location_constraint(body, ctx.services.settings.region)
    bucket = Bucket(name=name, created=ctx.services.clock.now(), region=region,
                    owner=ctx.auth.principal.arn)
    locked = object_lock.enable_at_creation(ctx.request.headers)
    try:
        await ctx.services.run(_create_with_defaults, ctx.services.meta, bucket, object_ownership,
                               acl, block, locked)
    except BucketExists:
        existing = await ctx.services.run(ctx.services.meta.get_bucket, name)
        if existing is not None and bucket_account(existing) != ctx.auth.principal.account:
            raise S3Error("BucketAlreadyExists", BucketName=name) from None
        # A name the caller's account holds: S3 answers 409
        # BucketAlreadyOwnedByYou in every region but us-east-1, where, "for
        # legacy compatibility", it answers 200 OK (CreateBucket API
        # reference) and changes nothing.
        if ctx.services.settings.region != "us-east-1":
            raise S3Error("BucketAlreadyOwnedByYou", BucketName=name) from None
    return empty_response(200, [("location", f"/{name}")])


def _create_with_defaults(meta: MetaStore, bucket: Bucket, object_ownership: str,
                          acl: str | None, block_public_access: bool,
                          locked: bool = False) -> None:
    """The bucket and the settings S3 gives a new one since April 2023, in one
    transaction (a bucket asked with object lock never exists without it):
    all of Block Public Access on (unless --new-bucket-block-public-access
    off: none, as before), its Object Ownership (the server's default unless
    asked; always written: that moves the access version, so the gate never
    keeps a bucket's old owner), its ACL; with ``locked``, versioning Enabled
    and object lock (no default retention)."""
    settings = []
    if block_public_access:
        settings.append((PUBLIC_ACCESS_BLOCK_SETTING, ALL_BLOCKED.to_json()))
    settings.append((OWNERSHIP_SETTING, object_ownership))
    if acl is not None:
        settings.append((ACL_SETTING, acl))
    if locked:
        settings.extend(object_lock.CREATION_SETTINGS)
    meta.create_bucket(bucket, settings)


async def head_bucket(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    return empty_response(200, [("x-amz-bucket-region", bucket.region),
                                ("content-type", "application/xml")])


async def delete_bucket(ctx: Context) -> Response:
    try:
        abandoned = await ctx.services.run(ctx.services.meta.delete_bucket, ctx.bucket)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    except BucketNotEmpty:
        raise S3Error("BucketNotEmpty", BucketName=ctx.bucket) from None
    cors.forget(ctx.services.meta, ctx.bucket)  # a new bucket of this name starts bare
    await discard_blobs(ctx, abandoned)
    return empty_response(204)


async def get_bucket_location(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    # us-east-1 is reported as an empty constraint, as S3 does.
    region = "" if bucket.region == "us-east-1" else bucket.region
    return xml_response(render("LocationConstraint", region))


HANDLERS = {
    "ListBuckets": list_buckets,
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "DeleteBucket": delete_bucket,
    "GetBucketLocation": get_bucket_location,
}
