"""Canned ACLs: which ones exist, which are public, and what they grant.

sealbox keeps ACLs only in their canned form (S3 User Guide, "Canned
ACL"). All principals live in the one account that owns every bucket, so
the owner's grant is already the root's; what an ACL can add is a grant to
the ``AllUsers`` group (anyone, signed or not) or to
``AuthenticatedUsers`` (any signed request). Those grants are exactly the
"public" ones that Block Public Access blocks or ignores.

A bucket's READ lets the grantee list it; its WRITE lets the grantee
create, overwrite and delete objects in it. An object's READ lets the
grantee read it.
"""

from __future__ import annotations

from typing import Literal

from sealbox.auth.principal import Principal

CANNED_ACLS = frozenset({
    "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
    "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
})
# Grants to AllUsers or AuthenticatedUsers.
PUBLIC_ACLS = frozenset({"public-read", "public-read-write", "authenticated-read"})
# What an owner-only ACL looks like: accepted even where ACLs are disabled
# (BucketOwnerEnforced), as S3 accepts them.
OWNER_ONLY_ACLS = frozenset({"private", "bucket-owner-full-control"})

_BUCKET_READ = frozenset({"s3:listbucket", "s3:listbucketversions",
                          "s3:listbucketmultipartuploads"})
_BUCKET_WRITE = frozenset({"s3:putobject", "s3:deleteobject"})
_OBJECT_READ = frozenset({"s3:getobject"})

# canned ACL -> (grantee group, permissions)
_GRANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "public-read": ("all", ("READ",)),
    "public-read-write": ("all", ("READ", "WRITE")),
    "authenticated-read": ("authenticated", ("READ",)),
}


def grantee_group(acl: str) -> str | None:
    """``all``, ``authenticated`` or None for an owner-only ACL."""
    grant = _GRANTS.get(acl)
    return grant[0] if grant else None


def acl_allows(acl: str, principal: Principal, action: str,
               kind: Literal["bucket", "object"]) -> bool:
    """Whether a canned ACL on a bucket or an object grants ``action``."""
    grant = _GRANTS.get(acl)
    if grant is None:
        return False
    group, permissions = grant
    if group == "authenticated" and principal.is_anonymous:
        return False
    action = action.lower()
    if kind == "object":
        return "READ" in permissions and action in _OBJECT_READ
    return (("READ" in permissions and action in _BUCKET_READ)
            or ("WRITE" in permissions and action in _BUCKET_WRITE))
