"""Object Ownership and ACLs: Put/Get/DeleteBucketOwnershipControls,
Get/PutBucketAcl, Get/PutObjectAcl, and the ``x-amz-acl`` a write carries.

As on S3 since April 2023, a new bucket has Object Ownership
``BucketOwnerEnforced``: ACLs are disabled, a request that sets any ACL
other than the owner's is refused with ``AccessControlListNotSupported``
(``InvalidBucketAclWithObjectOwnership`` on CreateBucket), and Get*Acl
answer the owner's FULL_CONTROL. With ``BucketOwnerPreferred`` or
``ObjectWriter`` a bucket takes canned ACLs (``sealbox.access.acls``); a
public one is refused while BlockPublicAcls is in force and ignored while
IgnorePublicAcls is. Explicit grants (``x-amz-grant-*`` or an
``AccessControlPolicy`` body naming others) are not kept: sealbox answers
them with ``NotImplemented`` rather than storing half of them.

A bucket's canned ACL is the bucket setting ``acl``; an object's is kept
with the object (``ACL_HEADER`` among its stored headers, never sent back
as a header).
"""

from __future__ import annotations

from sealbox.access.acls import CANNED_ACLS, OWNER_ONLY_ACLS, PUBLIC_ACLS, grantee_group
from sealbox.api.common.access_gate import ACL_SETTING, OBJECT_ACL_HEADER
from sealbox.api.common.context import Context
from sealbox.api.s3.common import owner_id, require_bucket
from sealbox.api.s3.xml import (
    DECLARATION,
    S3_NAMESPACE,
    escape,
    find_all,
    find_text,
    parse_xml,
    render,
)
from sealbox.errors import S3Error
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import NoSuchBucket

OWNERSHIP_SETTING = "ownership"
OWNERSHIP_VALUES = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")
DEFAULT_OWNERSHIP = "BucketOwnerEnforced"
# Object Ownership a bucket without the setting has (what DeleteBucketOwnershipControls leaves).
UNSET_OWNERSHIP = "ObjectWriter"
ACL_HEADER = OBJECT_ACL_HEADER
GRANT_HEADERS = ("x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                 "x-amz-grant-write-acp", "x-amz-grant-full-control")
MAX_ACL_BODY = 64 * 1024
XSI = "http://www.w3.org/2001/XMLSchema-instance"
GROUP_URIS = {"all": "http://acs.amazonaws.com/groups/global/AllUsers",
              "authenticated": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"}


async def ownership(ctx: Context, bucket: str) -> str:
    value = await ctx.services.read(ctx.services.meta.get_bucket_setting, bucket,
                                    OWNERSHIP_SETTING)
    return value or UNSET_OWNERSHIP


def requested_acl(ctx: Context) -> str | None:
    """The canned ACL a request names in ``x-amz-acl``, checked; grant
    headers are refused. None when it names none."""
    headers = ctx.request.headers
    acl = headers.get(ACL_HEADER)
    if acl is not None and acl not in CANNED_ACLS:
        raise S3Error("InvalidArgument", ArgumentName=ACL_HEADER, ArgumentValue=acl[:256])
    if any(name in headers for name in GRANT_HEADERS):
        return "grants"
    return acl


async def check_write_acl(ctx: Context, bucket: str, acl: str | None) -> str | None:
    """The canned ACL an object write may keep (None: the owner's only), or
    the refusal S3 gives: ACLs disabled, or a public ACL while blocked."""
    if acl is None or acl in OWNER_ONLY_ACLS:
        return None  # the owner's full control: what every object has anyway
    if await ownership(ctx, bucket) == "BucketOwnerEnforced":
        raise S3Error("AccessControlListNotSupported")
    if acl == "grants":
        raise S3Error("NotImplemented", "Explicit ACL grants are not supported; use a canned "
                      "ACL or a bucket policy")
    if acl in PUBLIC_ACLS:
        gate = ctx.services.gate
        assert gate is not None
        pab = await ctx.services.read(gate.public_access_block, bucket)
        if pab.block_public_acls:
            raise S3Error("AccessDenied")
    return acl


async def with_write_acl(ctx: Context, stored: dict[str, str]) -> dict[str, str]:
    """An object write's stored headers with the canned ACL it may keep
    (never one copied from a source object: a copy starts private)."""
    stored.pop(ACL_HEADER, None)
    acl = await check_write_acl(ctx, ctx.bucket, requested_acl(ctx))
    if acl is not None:
        stored[ACL_HEADER] = acl
    return stored


def check_create_bucket_acl(ctx: Context, object_ownership: str) -> str | None:
    """CreateBucket's ``x-amz-acl`` against the Object Ownership it asks for.
    New buckets block public access, so a public ACL is refused too."""
    acl = requested_acl(ctx)
    if acl is None or acl in OWNER_ONLY_ACLS:
        return None
    if object_ownership == "BucketOwnerEnforced":
        raise S3Error("InvalidBucketAclWithObjectOwnership")
    if acl == "grants":
        raise S3Error("NotImplemented", "Explicit ACL grants are not supported")
    if acl in PUBLIC_ACLS:
        raise S3Error("AccessDenied")
    return acl


def requested_ownership(ctx: Context) -> str:
    value = ctx.request.headers.get("x-amz-object-ownership", DEFAULT_OWNERSHIP)
    if value not in OWNERSHIP_VALUES:
        raise S3Error("InvalidArgument", "Invalid x-amz-object-ownership header",
                      ArgumentName="x-amz-object-ownership", ArgumentValue=value[:64])
    return value


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


def render_acl(owner_arn: str, canned: str | None) -> bytes:
    """``AccessControlPolicy``: the owner's FULL_CONTROL, and the grants of
    a public canned ACL."""
    oid = escape(owner_id(owner_arn))
    name = escape(owner_arn.rsplit(":", 1)[-1] or "root")
    grants = [
        (f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser"><ID>{oid}</ID>'
        f"<DisplayName>{name}</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>")
    ]
    group = grantee_group(canned) if canned else None
    if group is not None and canned is not None:
        permissions = ["READ", "WRITE"] if canned == "public-read-write" else ["READ"]
        for permission in permissions:
            grants.append(f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="Group">'
                          f"<URI>{GROUP_URIS[group]}</URI></Grantee>"
                          f"<Permission>{permission}</Permission></Grant>")
    owner = (f"<Owner><ID>{oid}</ID><DisplayName>{name}</DisplayName></Owner>")
    return (f'{DECLARATION}<AccessControlPolicy xmlns="{S3_NAMESPACE}">{owner}'
            f'<AccessControlList>{"".join(grants)}</AccessControlList></AccessControlPolicy>'
            ).encode()


def _body_acl(body: bytes, owner_arn: str) -> str:
    """An ``AccessControlPolicy`` body as a canned ACL: the owner's full
    control only is ``private``; the grants of a public canned ACL are that
    ACL; anything else is beyond what sealbox keeps."""
    root = parse_xml(body, "AccessControlPolicy", max_length=MAX_ACL_BODY)
    lists = find_all(root, "AccessControlList")
    if len(lists) != 1:
        raise S3Error("MalformedACLError")
    others: set[tuple[str, str]] = set()
    for grant in find_all(lists[0], "Grant"):
        permission = find_text(grant, "Permission") or ""
        grantee = find_all(grant, "Grantee")
        if not grantee or permission not in ("READ", "WRITE", "READ_ACP", "WRITE_ACP",
                                             "FULL_CONTROL"):
            raise S3Error("MalformedACLError")
        uri = find_text(grantee[0], "URI")
        gid = find_text(grantee[0], "ID")
        if gid is not None and gid == owner_id(owner_arn) and permission == "FULL_CONTROL":
            continue
        others.add((uri or gid or "", permission))
    for canned in ("public-read", "public-read-write", "authenticated-read"):
        group = grantee_group(canned)
        assert group is not None
        permissions = ["READ", "WRITE"] if canned == "public-read-write" else ["READ"]
        if others == {(GROUP_URIS[group], p) for p in permissions}:
            return canned
    return "private" if not others else "grants"


async def _put_acl_value(ctx: Context, owner_arn: str) -> str | None:
    acl = requested_acl(ctx)
    body = await ctx.request.read(MAX_ACL_BODY)
    if acl is None:
        if not body.strip():
            raise S3Error("MissingSecurityHeader", MissingHeaderName="x-amz-acl")
        acl = _body_acl(body, owner_arn)
    return acl


async def get_bucket_acl(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    canned = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket,
                                     ACL_SETTING)
    return xml_response(render_acl(bucket.owner, canned))


async def put_bucket_acl(ctx: Context) -> Response:
    bucket = await require_bucket(ctx)
    acl = await check_write_acl(ctx, ctx.bucket, await _put_acl_value(ctx, bucket.owner))
    meta = ctx.services.meta
    if acl is None or acl == "private":
        await ctx.services.run(meta.delete_bucket_setting, ctx.bucket, ACL_SETTING)
    else:
        await ctx.services.run(meta.put_bucket_setting, ctx.bucket, ACL_SETTING, acl)
    return empty_response(200)


async def _object(ctx: Context):  # type: ignore[no-untyped-def]
    await require_bucket(ctx)
    record = await ctx.services.read(ctx.services.meta.get_object, ctx.bucket, ctx.key)
    if record is None:
        raise S3Error("NoSuchKey", Key=ctx.key)
    return record


async def get_object_acl(ctx: Context) -> Response:
    record = await _object(ctx)
    return xml_response(render_acl(record.owner, record.headers.get(ACL_HEADER)))


async def put_object_acl(ctx: Context) -> Response:
    record = await _object(ctx)
    acl = await check_write_acl(ctx, ctx.bucket, await _put_acl_value(ctx, record.owner))
    if acl is not None and acl != "private":
        # Changing a stored object's ACL would rewrite its record; sealbox keeps
        # the ACL an object was written with and points to bucket policies.
        raise S3Error("NotImplemented", "Changing an object's ACL after it is written is not "
                      "supported; write it with x-amz-acl or use a bucket policy")
    return empty_response(200)


HANDLERS = {
    "PutBucketOwnershipControls": put_ownership_controls,
    "GetBucketOwnershipControls": get_ownership_controls,
    "DeleteBucketOwnershipControls": delete_ownership_controls,
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
}
