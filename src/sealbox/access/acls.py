"""ACLs: grants, canned ACLs, what a permission lets a grantee do. Pure.

An ACL (S3 User Guide, "Access control list (ACL) overview") is an owner
and a list of grants; each grant gives one grantee one permission. A
grantee is an account (its canonical user id, ``sealbox.access.canonical_ids``;
a grant by e-mail address is resolved to one before it is kept) or one of
S3's predefined groups: ``AllUsers`` (anyone, signed or not),
``AuthenticatedUsers`` (any signed request) and ``LogDelivery``.

Grants to ``AllUsers`` or ``AuthenticatedUsers`` are the *public* ones that
Block Public Access refuses (BlockPublicAcls) or ignores (IgnorePublicAcls).

What each permission allows ("Mapping of ACL permissions and access policy
permissions"): on a bucket, READ lists it, WRITE creates, overwrites and
deletes objects in it, READ_ACP and WRITE_ACP read and write its ACL; on an
object, READ reads it, READ_ACP and WRITE_ACP its ACL (WRITE means nothing
there); FULL_CONTROL is all of them.

An ACL is kept as JSON (``Acl.to_json``); a bucket or object kept by an
older sealbox has a canned ACL's name instead, read by ``stored_acl``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from sealbox.access.canonical_ids import account_of, canonical_id
from sealbox.auth.principal import Principal

Permission = Literal["READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL"]
PERMISSIONS: tuple[Permission, ...] = ("READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL")
GranteeType = Literal["CanonicalUser", "Group"]

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY})
PUBLIC_GROUPS = frozenset({ALL_USERS, AUTHENTICATED_USERS})
MAX_GRANTS = 100  # S3: "an ACL can have up to 100 grants"

CANNED_ACLS = frozenset({
    "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
    "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
})

# action (lower case) -> the permission that grants it, per kind of ACL.
_BUCKET_ACTIONS: dict[str, Permission] = {
    "s3:listbucket": "READ", "s3:listbucketversions": "READ",
    "s3:listbucketmultipartuploads": "READ",
    "s3:putobject": "WRITE", "s3:deleteobject": "WRITE", "s3:deleteobjectversion": "WRITE",
    "s3:abortmultipartupload": "WRITE",
    "s3:getbucketacl": "READ_ACP", "s3:putbucketacl": "WRITE_ACP",
}
_OBJECT_ACTIONS: dict[str, Permission] = {
    "s3:getobject": "READ", "s3:getobjectversion": "READ",
    "s3:getobjectacl": "READ_ACP", "s3:getobjectversionacl": "READ_ACP",
    "s3:putobjectacl": "WRITE_ACP", "s3:putobjectversionacl": "WRITE_ACP",
}


@dataclass(frozen=True, slots=True)
class Grant:
    """One grantee, one permission. ``grantee`` is a canonical user id
    (``CanonicalUser``) or a group's URI (``Group``)."""

    grantee_type: GranteeType
    grantee: str
    permission: Permission

    @property
    def is_public(self) -> bool:
        return self.grantee_type == "Group" and self.grantee in PUBLIC_GROUPS


@dataclass(frozen=True, slots=True)
class Acl:
    """An owner (a canonical user id) and its grants, in the order given."""

    owner: str
    grants: tuple[Grant, ...]

    @property
    def is_public(self) -> bool:
        return any(g.is_public for g in self.grants)

    def only_grants_to(self, canonical: str) -> bool:
        """Whether every grant is FULL_CONTROL to ``canonical``: the only ACL
        a bucket with ACLs disabled (BucketOwnerEnforced) accepts."""
        return all(g.grantee_type == "CanonicalUser" and g.grantee == canonical
                   and g.permission == "FULL_CONTROL" for g in self.grants)

    def to_json(self) -> str:
        return json.dumps({"owner": self.owner, "grants": [
            [g.grantee_type, g.grantee, g.permission] for g in self.grants]},
            separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Acl:
        value = json.loads(text)
        return cls(value["owner"], tuple(Grant(t, g, p) for t, g, p in value["grants"]))


def owner_only(owner: str) -> Acl:
    """``private``: the owner's FULL_CONTROL and nothing else."""
    return Acl(owner, (Grant("CanonicalUser", owner, "FULL_CONTROL"),))


def canned_acl(name: str, owner: str, bucket_owner: str | None = None) -> Acl:
    """The grants of a canned ACL (S3 User Guide, "Canned ACL"): always the
    owner's FULL_CONTROL, and what the name adds. ``bucket_owner`` matters
    to the ``bucket-owner-*`` ACLs of an object another account owns.
    ``aws-exec-read`` adds EC2's READ of AMI bundles; no EC2 reads here, so
    it is the owner's alone. The owner's grant comes after the groups',
    where RGW puts it and the s3-tests look for it, and before the bucket
    owner's, in the order S3 names them ("Object owner gets FULL_CONTROL.
    Bucket owner gets READ access.")."""
    grants: list[Grant] = []
    if name == "public-read":
        grants.append(Grant("Group", ALL_USERS, "READ"))
    elif name == "public-read-write":
        grants += [Grant("Group", ALL_USERS, "READ"), Grant("Group", ALL_USERS, "WRITE")]
    elif name == "authenticated-read":
        grants.append(Grant("Group", AUTHENTICATED_USERS, "READ"))
    elif name == "log-delivery-write":
        grants += [Grant("Group", LOG_DELIVERY, "WRITE"), Grant("Group", LOG_DELIVERY, "READ_ACP")]
    elif (name in ("bucket-owner-read", "bucket-owner-full-control")
          and bucket_owner is not None and bucket_owner != owner):
        permission: Permission = "READ" if name == "bucket-owner-read" else "FULL_CONTROL"
        return Acl(owner, (Grant("CanonicalUser", owner, "FULL_CONTROL"),
                           Grant("CanonicalUser", bucket_owner, permission)))
    grants.append(Grant("CanonicalUser", owner, "FULL_CONTROL"))
    return Acl(owner, tuple(grants))


def stored_acl(text: str | None, owner: str) -> Acl:
    """A kept ACL: JSON, a canned ACL's name (kept by an older sealbox, when
    every owner was the bucket's: ``owner``), or none (the owner's only)."""
    if text is None:
        return owner_only(owner)
    if text.startswith("{"):
        return Acl.from_json(text)
    return canned_acl(text, owner)


def _grantee_matches(grant: Grant, principal: Principal, account: str) -> bool:
    if grant.grantee_type == "Group":
        if grant.grantee == ALL_USERS:
            return True
        return grant.grantee == AUTHENTICATED_USERS and not principal.is_anonymous
    # A canonical id names an account: it grants that account's principals
    # (its users still need their own account's Allow: sealbox.access.evaluate).
    return bool(account) and grant.grantee == canonical_id(f"arn:aws:iam::{account}:root")


def permission_for(action: str, kind: Literal["bucket", "object"]) -> Permission | None:
    """The ACL permission that grants ``action`` on a bucket's or an
    object's ACL; None when no ACL can grant it."""
    table = _OBJECT_ACTIONS if kind == "object" else _BUCKET_ACTIONS
    return table.get(action.lower())


def matching_grant(acl: Acl, principal: Principal, permission: Permission,
                   *, ignore_public: bool = False) -> Grant | None:
    """A grant of ``acl`` that gives ``principal`` ``permission``
    (FULL_CONTROL gives every one), a group's before an account's: a group's
    counts for the bucket owner's own users, an account's does not
    (sealbox.access.evaluate). ``ignore_public``: IgnorePublicAcls."""
    account = "" if principal.is_anonymous else account_of(principal.arn)
    found = None
    for grant in acl.grants:
        if grant.permission != permission and grant.permission != "FULL_CONTROL":
            continue
        if ignore_public and grant.is_public:
            continue
        if _grantee_matches(grant, principal, account):
            if grant.grantee_type == "Group":
                return grant
            found = found or grant
    return found
