"""The ACL a write keeps: a bucket's (CreateBucket, PutBucketAcl) or an
object's (PutObject, CopyObject, CreateMultipartUpload, POST, PutObjectAcl).

Object Ownership decides who owns what is written and whether ACLs count:

- ``BucketOwnerEnforced`` (the default, as on S3 since April 2023): ACLs are
  disabled. The bucket owner owns every object; a write or Put*Acl may ask
  only for ``bucket-owner-full-control`` (or grant the owner's full control
  explicitly; ``private`` too from the bucket owner's account), anything
  else is ``AccessControlListNotSupported`` (``InvalidBucketAclWithObjectOwnership``
  on CreateBucket).
- ``ObjectWriter``: the account that writes an object owns it, and the
  bucket owner reads it only if its ACL grants so.
- ``BucketOwnerPreferred``: as ObjectWriter, but an object written with
  ``bucket-owner-full-control`` is the bucket owner's.

A public ACL (a grant to AllUsers or AuthenticatedUsers) is refused with
``AccessDenied`` while BlockPublicAcls is in force.

The bucket's ACL is the bucket setting ``acl``; an object's is kept among its
stored headers (``OBJECT_ACL_HEADER``, never sent back as a header), absent
when it is the bucket owner's full control alone (every object of a bucket
with ACLs disabled).
"""

from __future__ import annotations

from collections.abc import Mapping

from sealbox.access.acls import Acl, canned_acl, owner_only, stored_acl
from sealbox.access.canonical_ids import canonical_id
from sealbox.api.common.access_gate import ACL_SETTING, OBJECT_ACL_HEADER, OWNERSHIP_SETTING
from sealbox.api.common.context import Context
from sealbox.api.s3.acl_grants import RequestedAcl, no_email, requested_acl
from sealbox.errors import S3Error

OWNERSHIP_VALUES = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")
# Object Ownership a bucket without the setting has (what DeleteBucketOwnershipControls leaves).
UNSET_OWNERSHIP = "ObjectWriter"
# The canned ACLs a write to a bucket with ACLs disabled may still carry.
# S3 User Guide, "Troubleshooting" Object Ownership: "All S3 PUT requests must
# either specify the bucket-owner-full-control canned ACL or not specify an
# ACL", and the s3-tests see another account's ``private`` refused. From the
# bucket owner's own account ``private`` *is* the bucket owner's full control
# (the writer's account owns the bucket), and rclone, many HTML forms and
# SDK wrappers send it by default: sealbox takes it there, so they keep
# working, and refuses it from anyone else. CreateBucket takes it too: it
# grants nobody outside the account, all InvalidBucketAclWithObjectOwnership
# refuses.
OWNER_ONLY_CANNED = frozenset({"bucket-owner-full-control"})
PRIVATE_TOO = frozenset({"private", "bucket-owner-full-control"})


async def ownership(ctx: Context, bucket: str) -> str:
    value = await ctx.services.read(ctx.services.meta.get_bucket_setting, bucket,
                                    OWNERSHIP_SETTING)
    return value or UNSET_OWNERSHIP


def requested_ownership(ctx: Context) -> str:
    """CreateBucket's ``x-amz-object-ownership``, or the server's default."""
    value = ctx.request.headers.get("x-amz-object-ownership",
                                    ctx.services.settings.default_object_ownership)
    if value not in OWNERSHIP_VALUES:
        raise S3Error("InvalidArgument", "Invalid x-amz-object-ownership header",
                      ArgumentName="x-amz-object-ownership", ArgumentValue=value[:64])
    return value


def headers_acl(ctx: Context, headers: Mapping[str, str] | None = None) -> RequestedAcl | None:
    """The ACL the request's headers (or a POST form's ``acl`` as
    ``x-amz-acl``) ask for, checked; e-mail grantees resolved (none
    resolves until accounts have addresses)."""
    return requested_acl(ctx.request.headers if headers is None else headers, no_email)


def resolve(requested: RequestedAcl, owner: str, bucket_owner: str) -> Acl:
    """The ACL a request asks for, as kept: a canned ACL's grants, or the
    explicit grants exactly (S3 adds no owner grant to those)."""
    if requested.canned is not None:
        return canned_acl(requested.canned, owner, bucket_owner)
    return Acl(owner, requested.grants or ())


def check_acl(requested: RequestedAcl, acl: Acl, object_ownership: str, bucket_owner: str,
              block_public_acls: bool, *, creating_bucket: bool = False,
              owner_only_canned: frozenset[str] = OWNER_ONLY_CANNED) -> None:
    """S3's refusals of an ACL: ACLs disabled (then only ``owner_only_canned``
    or explicit grants of the bucket owner's full control), or public while
    blocked."""
    if object_ownership == "BucketOwnerEnforced":
        allowed = (requested.canned in owner_only_canned if requested.canned is not None
                   else acl.only_grants_to(bucket_owner))
        if not allowed:
            raise S3Error("InvalidBucketAclWithObjectOwnership" if creating_bucket
                          else "AccessControlListNotSupported")
    if acl.is_public and block_public_acls:
        raise S3Error("AccessDenied")


def owner_only_canned(ctx: Context, bucket_owner: str) -> frozenset[str]:
    """The canned ACLs this requester may ask for where ACLs are disabled:
    ``private`` too from the bucket owner's own account (see PRIVATE_TOO)."""
    if canonical_id(ctx.auth.principal.arn) == bucket_owner:
        return PRIVATE_TOO
    return OWNER_ONLY_CANNED


async def _blocks_public_acls(ctx: Context, bucket: str) -> bool:
    gate = ctx.services.gate
    assert gate is not None
    return (await ctx.services.read(gate.public_access_block, bucket)).block_public_acls


async def bucket_owner_id(ctx: Context, bucket: str) -> str:
    record = await ctx.services.read(ctx.services.meta.get_bucket, bucket)
    if record is None:
        raise S3Error("NoSuchBucket", BucketName=bucket)
    return canonical_id(record.owner)


async def with_write_acl(ctx: Context, stored: dict[str, str],
                         acl_headers: Mapping[str, str] | None = None) -> dict[str, str]:
    """An object write's stored headers with the ACL it keeps (never one
    copied from a source object: a copy starts private), checked.
    ``acl_headers``: where the ACL is asked for, if not the request's headers
    (a POST form's ``acl`` field)."""
    stored.pop(OBJECT_ACL_HEADER, None)
    requested = headers_acl(ctx, acl_headers)
    object_ownership = await ownership(ctx, ctx.bucket)
    if requested is None and object_ownership == "BucketOwnerEnforced":
        return stored  # the common case: the bucket owner's, nothing to keep
    bucket_owner = await bucket_owner_id(ctx, ctx.bucket)
    writer = canonical_id(ctx.auth.principal.arn)
    owner = writer
    if object_ownership == "BucketOwnerEnforced" or (
            object_ownership == "BucketOwnerPreferred" and requested is not None
            and requested.canned == "bucket-owner-full-control"):
        owner = bucket_owner
    acl = owner_only(owner) if requested is None else resolve(requested, owner, bucket_owner)
    if requested is not None:
        check_acl(requested, acl, object_ownership, bucket_owner,
                  acl.is_public and await _blocks_public_acls(ctx, ctx.bucket),
                  owner_only_canned=owner_only_canned(ctx, bucket_owner))
    if acl != owner_only(bucket_owner):
        stored[OBJECT_ACL_HEADER] = acl.to_json()
    return stored


def kept_owner(headers: Mapping[str, str], bucket_owner: str, object_ownership: str) -> str:
    """The canonical id of the account that owns what a write made (an
    object, or the object an upload will make), from the ACL it keeps:
    the bucket owner's while ACLs are disabled or when none is kept."""
    if object_ownership == "BucketOwnerEnforced":
        return bucket_owner
    return stored_acl(headers.get(OBJECT_ACL_HEADER), bucket_owner).owner


def create_bucket_acl(ctx: Context, object_ownership: str, owner_arn: str,
                      block_public_acls: bool) -> str | None:
    """CreateBucket's ACL headers as the bucket setting to keep (None: the
    owner's full control), checked against the Object Ownership asked for."""
    requested = headers_acl(ctx)
    if requested is None:
        return None
    owner = canonical_id(owner_arn)
    acl = resolve(requested, owner, owner)
    check_acl(requested, acl, object_ownership, owner, block_public_acls,
              creating_bucket=True, owner_only_canned=PRIVATE_TOO)
    return None if acl == owner_only(owner) else acl.to_json()


async def put_bucket_acl_setting(ctx: Context, acl: Acl, owner: str) -> None:
    meta = ctx.services.meta
    if acl == owner_only(owner):
        await ctx.services.run(meta.delete_bucket_setting, ctx.bucket, ACL_SETTING)
    else:
        await ctx.services.run(meta.put_bucket_setting, ctx.bucket, ACL_SETTING, acl.to_json())


async def blocks_public_acls(ctx: Context, bucket: str) -> bool:
    """BlockPublicAcls in force for ``bucket`` (its own, or the server's)."""
    return await _blocks_public_acls(ctx, bucket)
