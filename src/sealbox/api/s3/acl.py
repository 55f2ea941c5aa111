"""Object Ownership and ACLs: Put/Get/DeleteBucketOwnershipControls,
Get/PutBucketAcl, Get/PutObjectAcl.

Who owns what and which ACLs a bucket takes: ``sealbox.api.s3.acl_writes``;
the grants as requests carry them and as answers show them:
``sealbox.api.s3.acl_grants``; what a grant allows: ``sealbox.access.acls``
and the access gate. With ACLs disabled (``BucketOwnerEnforced``) Get*Acl
answer the bucket owner's FULL_CONTROL alone, whatever was kept before,
as S3 does; kept ACLs count again if ACLs are enabled again.
"""

from __future__ import annotations

from sealbox.access.acls import Acl, owner_only, stored_acl
from sealbox.access.canonical_ids import canonical_id
from sealbox.api.common.access_gate import ACL_SETTING, OBJECT_ACL_HEADER
from sealbox.api.common.context import Context
from sealbox.api.s3.acl_grants import MAX_ACL_BODY, RequestedAcl, parse_acl_body, render_acl
from sealbox.api.s3.acl_writes import (
    OWNERSHIP_SETTING,
    OWNERSHIP_VALUES,
    blocks_public_acls,
    check_acl,
    headers_acl,
    owner_only_canned,
    ownership,
    put_bucket_acl_setting,
    resolve,
)
from sealbox.api.s3.common import owner_name, require_bucket
from sealbox.api.s3.objects import find_object
from sealbox.api.s3.versioning import requested_version
from sealbox.api.s3.xml import find_all, find_text, parse_xml, render
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NULL_VERSION, NoSuchBucket


def _display_names(*arns: str) -> dict[str, str]:
    """Canonical id -> DisplayName, for the accounts an answer knows."""
    return {canonical_id(arn): owner_name(arn) for arn in arns if arn}


# -- ownership controls ------------------------------------------------------


async def put_ownership_controls(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_ACL_BODY)
    root = parse_xml(body, "OwnershipControls")
    rules = find_all(root, "Rule")
    if len(rules) != 1:
        raise S3Error("MalformedXML")
    value = find_text(rules[0], "ObjectOwnership")
    if value not in OWNERSHIP_VALUES:
        raise S3Error("MalformedXML")
    bucket = await require_bucket(ctx)
    if value == "BucketOwnerEnforced":
        # S3 will not disable ACLs while the bucket's ACL grants anyone but
        # its owner: that access would silently vanish.
        owner = canonical_id(bucket.owner)
        kept = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       ACL_SETTING)
        if (await ownership(ctx, ctx.bucket) != "BucketOwnerEnforced"
                and not stored_acl(kept, owner).only_grants_to(owner)):
            raise S3Error("InvalidBucketAclWithObjectOwnership")
    try:
        await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket,
                               OWNERSHIP_SETTING, value)
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return empty_response(200)


async def get_ownership_controls(ctx: Context) -> Response:
    value = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                    OWNERSHIP_SETTING)
    if value is None:
        await require_bucket(ctx)
        raise S3Error("OwnershipControlsNotFoundError", BucketName=ctx.bucket)
    return xml_response(render("OwnershipControls", [("Rule", [("ObjectOwnership", value)])]))


async def delete_ownership_controls(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket,
                           OWNERSHIP_SETTING)
    return empty_response(204)


# -- ACLs --------------------------------------------------------------------


async def _requested(ctx: Context, owner: str) -> RequestedAcl:
    """A Put*Acl's ACL: its headers or its body, not both, not neither."""
    requested = headers_acl(ctx)
    body = await ctx.request.read(MAX_ACL_BODY)
    if requested is not None:
        if body.strip():
            raise S3Error("UnexpectedContent")
        return requested
    if not body.strip():
        raise S3Error("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
    requested = parse_acl_body(body)
    if requested.owner is not None and requested.owner.lower() != owner:
        # An ACL cannot give the bucket or object away.
        raise S3Error("AccessDenied")
    return requested


async def get_bucket_acl(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    owner = canonical_id(bucket.owner)
    acl = owner_only(owner)
    if await ownership(ctx, ctx.bucket) != "BucketOwnerEnforced":
        kept = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                       ACL_SETTING)
        acl = stored_acl(kept, owner)
    return xml_response(render_acl(acl, _display_names(bucket.owner)))


async def put_bucket_acl(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    owner = canonical_id(bucket.owner)
    requested = await _requested(ctx, owner)
    acl = resolve(requested, owner, owner)
    check_acl(requested, acl, await ownership(ctx, ctx.bucket), owner,
              acl.is_public and await blocks_public_acls(ctx, ctx.bucket),
              owner_only_canned=owner_only_canned(ctx, owner))
    await put_bucket_acl_setting(ctx, acl, owner)
    return empty_response(200)


def _version_header(version_id: str) -> list[tuple[str, str]]:
    return [] if version_id == NULL_VERSION else [("x-amz-version-id", version_id)]


async def get_object_acl(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    record = await find_object(ctx, ctx.bucket, ctx.key, requested_version(ctx.request.query))
    bucket_owner = canonical_id(bucket.owner)
    acl = owner_only(bucket_owner)
    if await ownership(ctx, ctx.bucket) != "BucketOwnerEnforced":
        acl = stored_acl(record.headers.get(OBJECT_ACL_HEADER), bucket_owner)
    return xml_response(render_acl(acl, _display_names(bucket.owner, record.owner)),
                        headers=_version_header(record.version_id))


async def put_object_acl(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    record = await find_object(ctx, ctx.bucket, ctx.key, requested_version(ctx.request.query))
    bucket_owner = canonical_id(bucket.owner)
    object_ownership = await ownership(ctx, ctx.bucket)
    owner = bucket_owner
    if object_ownership != "BucketOwnerEnforced":
        owner = stored_acl(record.headers.get(OBJECT_ACL_HEADER), bucket_owner).owner
    requested = await _requested(ctx, owner)
    acl: Acl = resolve(requested, owner, bucket_owner)
    check_acl(requested, acl, object_ownership, bucket_owner,
              acl.is_public and await blocks_public_acls(ctx, ctx.bucket),
              owner_only_canned=owner_only_canned(ctx, bucket_owner))
    headers = dict(record.headers)
    headers.pop(OBJECT_ACL_HEADER, None)
    if acl != owner_only(bucket_owner):
        headers[OBJECT_ACL_HEADER] = acl.to_json()
    if headers != record.headers:
        changed = await ctx.services.run(ctx.services.meta.set_version_headers, record, headers)
        if not changed:
            # Replaced or removed since it was read: S3 serialises the two;
            # the client may try again on what is there now.
            raise S3Error("OperationAborted", "The object changed while its ACL was set; "
                          "try again")
    return empty_response(200, _version_header(record.version_id))


HANDLERS = {
    "PutBucketOwnershipControls": put_ownership_controls,
    "GetBucketOwnershipControls": get_ownership_controls,
    "DeleteBucketOwnershipControls": delete_ownership_controls,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
}
