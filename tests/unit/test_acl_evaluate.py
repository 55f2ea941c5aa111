"""ACL grants in the access decision, with principals of two accounts.

Account A (111111111111) owns the bucket; account B (222222222222) is
another. Each case: who asks, what the ACL grants, what policies say,
and whether AWS's evaluation ("How Amazon S3 authorizes a request") allows.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sealbox.access.acls import (
    ALL_USERS,
    AUTHENTICATED_USERS,
    Acl,
    Grant,
    canned_acl,
    matching_grant,
    owner_only,
    permission_for,
)
from sealbox.access.canonical_ids import account_of, canonical_id
from sealbox.access.evaluate import AccessRequest, evaluate
from sealbox.access.model import Policy, parse_policy
from sealbox.auth.principal import ANONYMOUS, Principal

A, B = "111111111111", "222222222222"
A_ID = canonical_id(f"arn:aws:iam::{A}:root")
B_ID = canonical_id(f"arn:aws:iam::{B}:root")
ROOT_A = Principal("root", "root", f"arn:aws:iam::{A}:root", "AKA")
USER_A = Principal("user", "alice", f"arn:aws:iam::{A}:user/alice", "AKALICE")
ROOT_B = Principal("root", "root", f"arn:aws:iam::{B}:root", "AKB")
USER_B = Principal("user", "bob", f"arn:aws:iam::{B}:user/bob", "AKBOB")
OBJ = "arn:aws:s3:::bkt/k"
BKT = "arn:aws:s3:::bkt"


def _policy(kind: str, *statements: dict[str, Any]) -> Policy:
    return parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
                        kind=kind, bucket="bkt" if kind == "bucket" else None)  # type: ignore[arg-type]


BOB_MAY_READ = _policy("identity", {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
DENY_B_IN_BUCKET = _policy("bucket", {"Effect": "Deny", "Principal": {"AWS": B},
                                      "Action": "s3:*", "Resource": ["arn:aws:s3:::bkt/*", BKT]})


def decide(principal: Principal, action: str, acl: Acl, *, kind: str = "object",
           identity: tuple[Policy, ...] = (), bucket_policy: Policy | None = None,
           ignore_public: bool = False, object_owner: str | None = None) -> bool:
    permission = permission_for(action, kind)  # type: ignore[arg-type]
    assert permission is not None
    grant = matching_grant(acl, principal, permission, ignore_public=ignore_public)
    return evaluate(AccessRequest(
        principal, action, OBJ if kind == "object" else BKT, identity, bucket_policy,
        resource_owner=A, acl_grant=grant, object_owner=object_owner)).allowed


def test_canonical_id_is_the_accounts_whoever_of_it_asks() -> None:
    assert canonical_id(USER_A.arn) == canonical_id(ROOT_A.arn) == A_ID
    assert A_ID != B_ID and len(A_ID) == 64
    assert account_of(USER_B.arn) == B and account_of("*") == ""


def test_a_grant_to_another_account_lets_its_root_read() -> None:
    acl = Acl(A_ID, (Grant("CanonicalUser", A_ID, "FULL_CONTROL"),
                     Grant("CanonicalUser", B_ID, "READ")))
    assert decide(ROOT_B, "s3:GetObject", acl)
    assert not decide(ROOT_B, "s3:GetObjectAcl", acl)  # READ is not READ_ACP
    assert not decide(ROOT_B, "s3:GetObject", owner_only(A_ID))


def test_another_accounts_user_needs_its_own_accounts_allow_too() -> None:
    acl = Acl(A_ID, (Grant("CanonicalUser", B_ID, "READ"),))
    assert not decide(USER_B, "s3:GetObject", acl)
    assert decide(USER_B, "s3:GetObject", acl, identity=(BOB_MAY_READ,))


def test_explicit_deny_in_the_bucket_policy_beats_a_grant() -> None:
    acl = Acl(A_ID, (Grant("CanonicalUser", B_ID, "FULL_CONTROL"),))
    assert decide(ROOT_B, "s3:GetObject", acl)
    assert not decide(ROOT_B, "s3:GetObject", acl, bucket_policy=DENY_B_IN_BUCKET)


def test_all_users_lets_anyone_read_unless_public_acls_are_ignored() -> None:
    acl = canned_acl("public-read", A_ID)
    assert decide(ANONYMOUS, "s3:GetObject", acl)
    assert decide(ROOT_B, "s3:GetObject", acl)
    assert not decide(ANONYMOUS, "s3:GetObject", acl, ignore_public=True)
    assert not decide(ANONYMOUS, "s3:PutObjectAcl", acl)


def test_authenticated_users_needs_a_signature() -> None:
    acl = canned_acl("authenticated-read", A_ID)
    assert not decide(ANONYMOUS, "s3:GetObject", acl)
    assert decide(ROOT_B, "s3:GetObject", acl)


def test_the_owners_grant_is_not_its_users_but_a_groups_is() -> None:
    # The owner's own FULL_CONTROL gives its IAM users nothing without a policy.
    assert not decide(USER_A, "s3:GetObject", owner_only(A_ID))
    assert decide(USER_A, "s3:GetObject", canned_acl("public-read", A_ID))


@pytest.mark.parametrize(("permission", "action", "kind"), [
    ("READ", "s3:ListBucket", "bucket"),
    ("WRITE", "s3:PutObject", "bucket"),
    ("WRITE", "s3:DeleteObject", "bucket"),
    ("READ_ACP", "s3:GetBucketAcl", "bucket"),
    ("WRITE_ACP", "s3:PutBucketAcl", "bucket"),
    ("READ", "s3:GetObject", "object"),
    ("READ", "s3:GetObjectVersion", "object"),
    ("READ_ACP", "s3:GetObjectAcl", "object"),
    ("WRITE_ACP", "s3:PutObjectAcl", "object"),
])
def test_each_permission_grants_its_actions_and_full_control_all(
        permission: str, action: str, kind: str) -> None:
    only = Acl(A_ID, (Grant("CanonicalUser", B_ID, permission),))  # type: ignore[arg-type]
    full = Acl(A_ID, (Grant("CanonicalUser", B_ID, "FULL_CONTROL"),))
    assert decide(ROOT_B, action, only, kind=kind)
    assert decide(ROOT_B, action, full, kind=kind)
    other = next(p for p in ("READ", "WRITE", "READ_ACP", "WRITE_ACP") if p != permission)
    assert not decide(ROOT_B, action, Acl(A_ID, (Grant("CanonicalUser", B_ID, other),)),  # type: ignore[arg-type]
                      kind=kind)


def test_an_object_written_by_another_account_is_its_own() -> None:
    # ObjectWriter: B wrote it and keeps it private; A owns the bucket.
    acl = owner_only(B_ID)
    assert decide(ROOT_B, "s3:GetObject", acl, object_owner=B_ID)
    assert not decide(ROOT_A, "s3:GetObject", acl, object_owner=B_ID)
    assert not decide(USER_A, "s3:GetObject", acl, object_owner=B_ID,
                      identity=(BOB_MAY_READ,))
    # A bucket policy of A's cannot give A what B owns.
    everything = _policy("bucket", {"Effect": "Allow", "Principal": {"AWS": A},
                                    "Action": "s3:*", "Resource": "arn:aws:s3:::bkt/*"})
    assert not decide(ROOT_A, "s3:GetObject", acl, object_owner=B_ID, bucket_policy=everything)
    # bucket-owner-read / -full-control give A its grant.
    granted = canned_acl("bucket-owner-read", B_ID, A_ID)
    # The object owner's grant first, then the bucket owner's, as S3 names them.
    assert granted.grants == (Grant("CanonicalUser", B_ID, "FULL_CONTROL"),
                              Grant("CanonicalUser", A_ID, "READ"))
    assert decide(ROOT_A, "s3:GetObject", granted, object_owner=B_ID)
    assert not decide(ROOT_A, "s3:PutObjectAcl", granted, object_owner=B_ID)
    assert decide(ROOT_A, "s3:PutObjectAcl", canned_acl("bucket-owner-full-control", B_ID, A_ID),
                  object_owner=B_ID)


def test_public_grants_are_told_apart() -> None:
    assert canned_acl("public-read-write", A_ID).is_public
    assert canned_acl("authenticated-read", A_ID).is_public
    assert not canned_acl("log-delivery-write", A_ID).is_public
    assert not Acl(A_ID, (Grant("CanonicalUser", B_ID, "READ"),)).is_public
    assert Acl(A_ID, (Grant("Group", ALL_USERS, "READ_ACP"),)).is_public
    assert Acl(A_ID, (Grant("Group", AUTHENTICATED_USERS, "WRITE"),)).is_public


def test_owner_only_is_what_a_bucket_with_acls_disabled_accepts() -> None:
    assert owner_only(A_ID).only_grants_to(A_ID)
    assert canned_acl("bucket-owner-full-control", B_ID, A_ID).only_grants_to(A_ID) is False
    assert not Acl(A_ID, (Grant("CanonicalUser", A_ID, "READ"),)).only_grants_to(A_ID)


def test_acls_round_trip_as_kept() -> None:
    acl = Acl(A_ID, (Grant("CanonicalUser", B_ID, "WRITE_ACP"), Grant("Group", ALL_USERS, "READ")))
    assert Acl.from_json(acl.to_json()) == acl


ALICE_MAY_READ = _policy("identity", {"Effect": "Allow", "Action": "s3:GetObject",
                                      "Resource": "arn:aws:s3:::bkt/*"})
# GetObject of an object the bucket owner (A) owns: who may, by the object's
# ACL, without and with IgnorePublicAcls. Y: allowed.
ACLS = {"owner only": owner_only(A_ID),
        "B READ": Acl(A_ID, (Grant("CanonicalUser", A_ID, "FULL_CONTROL"),
                             Grant("CanonicalUser", B_ID, "READ"))),
        "AllUsers READ": canned_acl("public-read", A_ID),
        "AuthenticatedUsers READ": canned_acl("authenticated-read", A_ID)}
REQUESTERS = {"A root": (ROOT_A, ()), "A user": (USER_A, ()),
              "A user, policy": (USER_A, (ALICE_MAY_READ,)), "B root": (ROOT_B, ()),
              "B user": (USER_B, ()), "B user, policy": (USER_B, (BOB_MAY_READ,)),
              "anonymous": (ANONYMOUS, ())}
MATRIX = """
                  owner only   B READ   AllUsers READ   AuthenticatedUsers READ
A root            Y Y          Y Y      Y Y             Y Y
A user            N N          N N      Y N             Y N
A user, policy    Y Y          Y Y      Y Y             Y Y
B root            N N          Y Y      Y N             Y N
B user            N N          N N      N N             N N
B user, policy    N N          Y Y      Y N             Y N
anonymous         N N          N N      Y N             N N
"""


def _matrix() -> list[tuple[str, str, bool, bool]]:
    cases = []
    for line in MATRIX.strip().splitlines()[1:]:
        who = next(name for name in sorted(REQUESTERS, key=len, reverse=True)
                   if line.startswith(name))
        marks = line[len(who):].split()
        for index, acl in enumerate(ACLS):
            for ignore in (False, True):
                cases.append((who, acl, ignore, marks[2 * index + ignore] == "Y"))
    return cases


@pytest.mark.parametrize(("who", "acl", "ignore_public", "allowed"), _matrix())
def test_requester_by_acl_by_ignore_public_acls(who: str, acl: str, ignore_public: bool,
                                                allowed: bool) -> None:
    principal, identity = REQUESTERS[who]
    assert decide(principal, "s3:GetObject", ACLS[acl], identity=identity,
                  ignore_public=ignore_public) is allowed
