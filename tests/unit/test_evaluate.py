"""Evaluation within one account: explicit deny, then allow, else implicit deny."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sealbox.access.context import MAX_VALUE_CHARS, ValueTooLong, request_context
from sealbox.access.evaluate import AccessRequest, Decision, evaluate
from sealbox.access.model import Policy, parse_policy
from sealbox.access.networks import InvalidNetwork, Networks
from sealbox.access.residual import ResidualPolicies
from sealbox.auth.principal import ACCOUNT_ID, ANONYMOUS, Principal, root_principal

ROOT = root_principal("AKROOT")
ALICE = Principal("user", "alice", f"arn:aws:iam::{ACCOUNT_ID}:user/alice", "AKALICE")
BOB = Principal("user", "bob", f"arn:aws:iam::{ACCOUNT_ID}:user/bob", "AKBOB")
STRANGER = Principal("user", "eve", "arn:aws:iam::111122223333:user/eve", "AKEVE")
CLOUDFRONT = Principal("service", "cloudfront.amazonaws.com", "cloudfront.amazonaws.com")  # type: ignore[arg-type]
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OBJ = "arn:aws:s3:::bkt/docs/report.pdf"
BKT = "arn:aws:s3:::bkt"
DIST = f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/EDFDVBD6EXAMPLE"


def bucket_policy(*statements: dict[str, Any], bucket: str = "bkt") -> Policy:
    return parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), bucket=bucket
    )


def identity_policy(*statements: dict[str, Any], name: str = "p") -> Policy:
    return parse_policy(
        json.dumps({"Version": "2012-10-17", "Statement": list(statements)}),
        kind="identity",
        name=name,
    )


def allow(**fields: Any) -> dict[str, Any]:
    base = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}
    base.update(fields)
    return base


def deny(**fields: Any) -> dict[str, Any]:
    return allow(Effect="Deny", **fields)


def decide(
    principal: Principal,
    action: str = "s3:GetObject",
    resource: str = OBJ,
    *,
    identity: tuple[Policy, ...] = (),
    bucket: Policy | None = None,
    restrict_public: bool = False,
    **facts: Any,
) -> Decision:
    facts.setdefault("source_ip", "192.0.2.10")
    facts.setdefault("secure_transport", True)
    context = request_context(principal, now=NOW, **facts)
    decision = evaluate(
        AccessRequest(
            principal,
            action,
            resource,
            identity_policies=identity,
            bucket_policy=bucket,
            context=context,
            restrict_public_buckets=restrict_public,
        )
    )
    # Every case here also checks that the server's shortcut decides the
    # same: the residual policies this context leaves, narrowed to the
    # action and resource (sealbox.access.residual).
    left_identity, left_bucket = ResidualPolicies(identity, bucket).for_context(
        context).narrowed(action, resource)
    shortcut = evaluate(
        AccessRequest(
            principal,
            action,
            resource,
            identity_policies=left_identity,
            bucket_policy=left_bucket,
            context=context,
            restrict_public_buckets=restrict_public,
        )
    )
    assert (shortcut.allowed, shortcut.reason, shortcut.policy) == (
        decision.allowed, decision.reason, decision.policy)
    assert (shortcut.statement.as_written if shortcut.statement else None) is decision.statement
    return decision


PUBLIC_READ = bucket_policy(allow(Sid="PublicRead", Principal="*"))


# ------------------------------------------------------------ the core's rules


def test_without_policies_root_is_allowed_and_others_are_not() -> None:
    assert evaluate(AccessRequest(ROOT, "s3:GetObject", OBJ)).allowed
    assert not evaluate(AccessRequest(ANONYMOUS, "s3:GetObject", OBJ)).allowed
    assert not evaluate(AccessRequest(ALICE, "s3:GetObject", OBJ)).allowed


def test_implicit_deny_names_no_statement() -> None:
    d = decide(ALICE)
    assert not d.allowed and d.outcome == "implicit_deny" and d.statement is None


# ------------------------------------------------------------ refused cases


def test_anonymous_is_refused_without_a_public_statement() -> None:
    policy = bucket_policy(allow(Principal={"AWS": ALICE.arn}))
    d = decide(ANONYMOUS, bucket=policy)
    assert not d.allowed and d.reason == "no policy allows anonymous access"


def test_anonymous_is_allowed_only_through_a_bucket_policy_naming_star() -> None:
    assert decide(ANONYMOUS, bucket=PUBLIC_READ).allowed
    assert decide(ANONYMOUS, bucket=bucket_policy(allow(Principal={"AWS": "*"}))).allowed
    # Identity policies never apply to anonymous requests.
    assert not decide(ANONYMOUS, identity=(identity_policy(allow()),)).allowed


def test_anonymous_may_only_do_what_the_public_statement_says() -> None:
    assert not decide(ANONYMOUS, "s3:PutObject", bucket=PUBLIC_READ).allowed
    assert not decide(ANONYMOUS, "s3:ListBucket", BKT, bucket=PUBLIC_READ).allowed


def test_wrong_user_is_refused() -> None:
    policy = bucket_policy(allow(Principal={"AWS": ALICE.arn}))
    assert decide(ALICE, bucket=policy).allowed
    assert not decide(BOB, bucket=policy).allowed


def test_wrong_bucket_is_refused() -> None:
    mine = identity_policy(allow(Resource="arn:aws:s3:::bkt/*"))
    assert decide(ALICE, identity=(mine,)).allowed
    assert not decide(
        ALICE, resource="arn:aws:s3:::other/docs/report.pdf", identity=(mine,)
    ).allowed
    # bkt's bucket policy says nothing about "bkt2", though it shares a prefix.
    assert not decide(ANONYMOUS, resource="arn:aws:s3:::bkt2/x", bucket=PUBLIC_READ).allowed


@pytest.mark.parametrize(
    ("identity", "bucket"),
    [
        ((identity_policy(allow()),), bucket_policy(deny(Sid="No", Principal="*"))),
        ((identity_policy(deny(Sid="No")),), bucket_policy(allow(Principal={"AWS": ALICE.arn}))),
        ((identity_policy(allow(), deny(Sid="No")),), None),
        ((identity_policy(deny(Sid="No"), allow()),), None),
        ((identity_policy(allow(), name="a"), identity_policy(deny(Sid="No"), name="b")), None),
        ((), bucket_policy(allow(Principal="*"), deny(Sid="No", Principal={"AWS": ALICE.arn}))),
    ],
    ids=[
        "identity allow, bucket deny",
        "bucket allow, identity deny",
        "allow then deny in one policy",
        "deny then allow in one policy",
        "allow and deny in two policies",
        "bucket allow to *, bucket deny to the user",
    ],
)
def test_deny_overrides_allow(identity: tuple[Policy, ...], bucket: Policy | None) -> None:
    d = decide(ALICE, identity=identity, bucket=bucket)
    assert not d.allowed
    assert d.outcome == "explicit_deny"
    assert d.statement is not None and d.statement.sid == "No"


def test_public_policy_is_blocked_by_restrict_public_buckets() -> None:
    assert decide(ANONYMOUS, bucket=PUBLIC_READ).allowed
    d = decide(ANONYMOUS, bucket=PUBLIC_READ, restrict_public=True)
    assert not d.allowed
    # Principals of the account keep what the policy gives them.
    assert decide(ALICE, bucket=PUBLIC_READ, restrict_public=True).allowed
    # A principal of another account is outside it.
    stranger = identity_policy(allow())
    assert not decide(
        STRANGER, identity=(stranger,), bucket=PUBLIC_READ, restrict_public=True
    ).allowed


def test_restrict_public_buckets_leaves_non_public_policies_alone() -> None:
    office_only = bucket_policy(
        allow(Principal="*", Condition={"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})
    )
    assert not office_only.is_public
    assert decide(ANONYMOUS, bucket=office_only, restrict_public=True).allowed


# ------------------------------------------------------------ who decided


def test_the_decision_names_the_allowing_statement_and_its_policy() -> None:
    d = decide(ALICE, identity=(identity_policy(allow(Sid="Read"), name="readers"),))
    assert d.allowed and d.outcome == "allow"
    assert d.statement is not None and d.statement.sid == "Read"
    assert d.policy == "identity policy readers"
    assert d.reason == "allowed by Sid 'Read' of identity policy readers"


def test_a_statement_without_sid_is_named_by_its_place() -> None:
    d = decide(
        ANONYMOUS,
        bucket=bucket_policy(deny(Principal="*", Action="s3:PutObject"), allow(Principal="*")),
    )
    assert d.allowed and d.reason == "allowed by statement 1 of bucket policy"


# ------------------------------------------------------------ principals


def test_root_is_subject_to_an_explicit_bucket_deny() -> None:
    lockout = bucket_policy(
        deny(Sid="Lock", Principal="*", Action="s3:*", Resource=[BKT, "arn:aws:s3:::bkt/*"])
    )
    assert not decide(ROOT, bucket=lockout).allowed
    assert decide(ROOT).allowed


@pytest.mark.parametrize(
    "action", ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]
)
def test_root_can_always_manage_the_bucket_policy(action: str) -> None:
    lockout = bucket_policy(
        deny(Principal="*", Action="s3:*", Resource=[BKT, "arn:aws:s3:::bkt/*"])
    )
    assert decide(ROOT, action, BKT, bucket=lockout).allowed
    assert not decide(
        ALICE,
        action,
        BKT,
        bucket=lockout,
        identity=(identity_policy(allow(Action="s3:*", Resource="*")),),
    ).allowed


def test_an_account_principal_allows_the_root_but_users_still_need_identity_policies() -> None:
    policy = bucket_policy(allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}))
    assert decide(ROOT, bucket=policy).allowed
    assert not decide(ALICE, bucket=policy).allowed


def test_an_account_principal_in_a_deny_covers_its_users() -> None:
    policy = bucket_policy(deny(Principal={"AWS": ACCOUNT_ID}))
    assert not decide(ALICE, identity=(identity_policy(allow()),), bucket=policy).allowed


def test_not_principal_deny_exempts_only_principals_listed_with_their_account() -> None:
    policy = bucket_policy(
        deny(
            Sid="OnlyAlice",
            NotPrincipal={"AWS": [ALICE.arn, f"arn:aws:iam::{ACCOUNT_ID}:root"]},
        ),
        allow(Principal="*"),
    )
    assert decide(ALICE, bucket=policy).allowed
    assert decide(ROOT, bucket=policy).allowed
    assert not decide(BOB, bucket=policy).allowed
    assert not decide(ANONYMOUS, bucket=policy).allowed
    # Listing the user without the account does not exempt the user (IAM docs).
    user_only = bucket_policy(deny(NotPrincipal={"AWS": ALICE.arn}), allow(Principal="*"))
    assert not decide(ALICE, bucket=user_only).allowed


def test_a_principal_of_another_account_needs_both_policies() -> None:
    theirs = identity_policy(allow())
    ours = bucket_policy(allow(Principal="*"))
    assert not decide(STRANGER, identity=(theirs,)).allowed
    assert not decide(STRANGER, bucket=ours).allowed
    assert decide(STRANGER, identity=(theirs,), bucket=ours).allowed


OTHER_ROOT = root_principal("AKOTHER", "111122223333")


def test_another_accounts_root_needs_the_owners_bucket_policy() -> None:
    # "Cross-account policy evaluation logic": the root of the requesting
    # account has its account's permissions implicitly, the owner's never.
    assert not decide(OTHER_ROOT).allowed
    assert not decide(OTHER_ROOT, bucket=bucket_policy(
        allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}))).allowed
    for named in ("arn:aws:iam::111122223333:root", "111122223333"):
        assert decide(OTHER_ROOT, bucket=bucket_policy(allow(Principal={"AWS": named}))).allowed
    # Its users still need their own identity policy.
    assert not decide(STRANGER, bucket=bucket_policy(
        allow(Principal={"AWS": "111122223333"}))).allowed


@pytest.mark.parametrize(
    "action", ["s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"]
)
def test_only_the_owners_root_always_manages_the_bucket_policy(action: str) -> None:
    lockout = bucket_policy(
        deny(Principal="*", Action="s3:*", Resource=[BKT, "arn:aws:s3:::bkt/*"])
    )
    assert not decide(OTHER_ROOT, action, BKT, bucket=lockout).allowed
    assert not decide(OTHER_ROOT, action, BKT, bucket=PUBLIC_READ).allowed


def test_principal_account_and_resource_account_condition_keys() -> None:
    policy = bucket_policy(allow(Principal="*", Condition={"StringEquals": {
        "aws:PrincipalAccount": "111122223333", "s3:ResourceAccount": ACCOUNT_ID}}))
    extra = {"s3:ResourceAccount": [ACCOUNT_ID]}
    assert decide(OTHER_ROOT, bucket=policy, extra=extra).allowed
    assert not decide(OTHER_ROOT, bucket=policy, extra={"s3:ResourceAccount": ["999"]}).allowed
    assert not decide(Principal("user", "x", "arn:aws:iam::444455556666:user/x", "AKX"),
                      identity=(identity_policy(allow()),), bucket=policy, extra=extra).allowed


def test_cloudfront_origin_access_control() -> None:
    # CloudFront Developer Guide, OAC bucket policy example.
    oac = bucket_policy(
        allow(
            Sid="AllowCloudFrontServicePrincipalReadOnly",
            Principal={"Service": "cloudfront.amazonaws.com"},
            Condition={"StringEquals": {"AWS:SourceArn": DIST}},
        )
    )
    assert decide(CLOUDFRONT, bucket=oac, source_arn=DIST).allowed
    assert not decide(CLOUDFRONT, bucket=oac, source_arn=DIST + "X").allowed
    assert not decide(CLOUDFRONT, bucket=oac).allowed
    assert not decide(ANONYMOUS, bucket=oac, source_arn=DIST).allowed
    assert not decide(ALICE, bucket=oac, source_arn=DIST).allowed


# ------------------------------------------------------------ actions, resources


def test_action_wildcards_and_not_action() -> None:
    policy = identity_policy(allow(Action="s3:Get*"))
    assert decide(ALICE, "s3:GetObject", identity=(policy,)).allowed
    assert not decide(ALICE, "s3:PutObject", identity=(policy,)).allowed
    everything_but_delete = identity_policy(
        {"Effect": "Allow", "NotAction": "s3:DeleteObject", "Resource": "*"}
    )
    assert decide(ALICE, "s3:PutObject", identity=(everything_but_delete,)).allowed
    assert not decide(ALICE, "s3:DeleteObject", identity=(everything_but_delete,)).allowed


def test_not_resource_deny() -> None:
    policy = identity_policy(
        allow(Resource="arn:aws:s3:::bkt/*"),
        {"Effect": "Deny", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::bkt/public/*"},
    )
    assert decide(ALICE, resource="arn:aws:s3:::bkt/public/a", identity=(policy,)).allowed
    assert not decide(ALICE, resource="arn:aws:s3:::bkt/private/a", identity=(policy,)).allowed


def test_home_directory_by_policy_variable() -> None:
    # IAM User Guide, "IAM policy elements: Variables and tags".
    home = identity_policy(
        allow(
            Action=["s3:GetObject", "s3:PutObject"],
            Resource="arn:aws:s3:::bkt/home/${aws:username}/*",
        ),
        allow(
            Action="s3:ListBucket",
            Resource=BKT,
            Condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}},
        ),
    )
    assert decide(ALICE, resource="arn:aws:s3:::bkt/home/alice/a.txt", identity=(home,)).allowed
    assert not decide(ALICE, resource="arn:aws:s3:::bkt/home/bob/a.txt", identity=(home,)).allowed
    assert decide(BOB, resource="arn:aws:s3:::bkt/home/bob/a.txt", identity=(home,)).allowed
    assert decide(ALICE, "s3:ListBucket", BKT, identity=(home,), prefix="home/alice/").allowed
    assert not decide(ALICE, "s3:ListBucket", BKT, identity=(home,), prefix="home/").allowed
    assert not decide(ALICE, "s3:ListBucket", BKT, identity=(home,)).allowed


def test_resource_variable_without_a_value_matches_nothing() -> None:
    policy = bucket_policy(allow(Principal="*", Resource="arn:aws:s3:::bkt/home/${aws:username}/*"))
    assert not decide(ANONYMOUS, resource="arn:aws:s3:::bkt/home//x", bucket=policy).allowed


# ------------------------------------------------------------ conditions in context


def test_https_only_bucket_policy() -> None:
    policy = bucket_policy(
        allow(Principal="*"),
        deny(
            Sid="TLS",
            Principal="*",
            Action="s3:*",
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        ),
    )
    assert decide(ANONYMOUS, bucket=policy, secure_transport=True).allowed
    d = decide(ANONYMOUS, bucket=policy, secure_transport=False)
    assert not d.allowed and d.statement is not None and d.statement.sid == "TLS"


def test_source_vpc_means_from_this_network() -> None:
    networks = Networks.from_mapping(
        {"vpc-office": ["10.1.0.0/16", "2001:db8:1::/48"], "vpc-lab": ["10.0.0.0/8"]}
    )
    policy = bucket_policy(
        allow(Principal="*"),
        deny(
            Sid="OfficeOnly",
            Principal="*",
            Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-office"}},
        ),
    )
    assert decide(ANONYMOUS, bucket=policy, source_ip="10.1.2.3", networks=networks).allowed
    assert decide(ANONYMOUS, bucket=policy, source_ip="2001:db8:1::5", networks=networks).allowed
    assert not decide(ANONYMOUS, bucket=policy, source_ip="10.2.0.1", networks=networks).allowed
    assert not decide(ANONYMOUS, bucket=policy, source_ip="198.51.100.1", networks=networks).allowed


def test_networks_are_checked() -> None:
    with pytest.raises(InvalidNetwork):
        Networks.from_mapping({"vpc-x": ["10.0.0.0/33"]})
    with pytest.raises(InvalidNetwork):
        Networks.from_mapping({"bad name!": ["10.0.0.0/8"]})
    with pytest.raises(InvalidNetwork):
        Networks.from_mapping({"vpc-x": []})


def test_time_window_and_signature_age() -> None:
    policy = bucket_policy(
        allow(
            Principal={"AWS": ALICE.arn},
            Condition={
                "DateLessThan": {"aws:CurrentTime": "2025-12-31T00:00:00Z"},
                "NumericLessThan": {"s3:signatureAge": "600000"},
            },
        )
    )
    fresh = NOW - timedelta(minutes=1)
    stale = NOW - timedelta(minutes=11)
    assert decide(ALICE, bucket=policy, signed_at=fresh, auth_type="REST-QUERY-STRING").allowed
    assert not decide(ALICE, bucket=policy, signed_at=stale, auth_type="REST-QUERY-STRING").allowed


def test_existing_object_tag() -> None:
    policy = identity_policy(
        allow(Condition={"StringEquals": {"s3:ExistingObjectTag/Class": "public"}})
    )
    assert policy.condition_keys == {"s3:existingobjecttag/Class"}
    assert decide(ALICE, identity=(policy,), existing_object_tags={"Class": "public"}).allowed
    assert not decide(ALICE, identity=(policy,), existing_object_tags={"class": "public"}).allowed
    assert not decide(ALICE, identity=(policy,)).allowed


# ------------------------------------------------------------ the request context


def test_request_context_for_each_kind_of_principal() -> None:
    root = request_context(ROOT, now=NOW, source_ip="192.0.2.1", secure_transport=True)
    assert root["aws:principaltype"] == ("Account",)
    assert root["aws:userid"] == (ACCOUNT_ID,)
    assert root["aws:principalarn"] == (ROOT.arn,)
    assert "aws:username" not in root
    user = request_context(ALICE, now=NOW, source_ip="192.0.2.1", secure_transport=False)
    assert user["aws:principaltype"] == ("User",)
    assert user["aws:username"] == ("alice",)
    assert user["aws:principalaccount"] == (ACCOUNT_ID,)
    assert user["aws:securetransport"] == ("false",)
    anon = request_context(
        ANONYMOUS, now=NOW, source_ip="192.0.2.1", secure_transport=True, auth_type="ANONYMOUS"
    )
    assert anon["aws:principaltype"] == ("Anonymous",)
    assert anon["aws:userid"] == ("anonymous",)
    assert "aws:principalarn" not in anon and "s3:authtype" not in anon


@pytest.mark.parametrize(("fact", "code"), [
    ("referer", "RequestHeaderSectionTooLarge"),
    ("user_agent", "RequestHeaderSectionTooLarge"),
    ("acl", "RequestHeaderSectionTooLarge"),
    ("prefix", "InvalidArgument"),
    ("delimiter", "InvalidArgument"),
])
def test_a_request_value_over_the_cap_refuses_the_request(fact: str, code: str) -> None:
    at_cap = request_context(ANONYMOUS, now=NOW, source_ip="192.0.2.1", secure_transport=True,
                             **{fact: "a" * MAX_VALUE_CHARS})
    assert ("a" * MAX_VALUE_CHARS,) in at_cap.values()
    with pytest.raises(ValueTooLong) as refused:  # refused, never cut short
        request_context(ANONYMOUS, now=NOW, source_ip="192.0.2.1", secure_transport=True,
                        **{fact: "a" * (MAX_VALUE_CHARS + 1)})
    assert (refused.value.code, refused.value.status) == (code, 400)


def test_a_tag_over_the_cap_refuses_the_request() -> None:
    with pytest.raises(ValueTooLong) as refused:
        request_context(ALICE, now=NOW, source_ip="192.0.2.1", secure_transport=True,
                        request_object_tags={"Env": "x" * (MAX_VALUE_CHARS + 1)})
    assert refused.value.code == "RequestHeaderSectionTooLarge"


def test_request_context_times_and_signature_facts() -> None:
    ctx = request_context(
        ALICE,
        now=NOW,
        source_ip="192.0.2.1",
        secure_transport=True,
        tls_version="1.3",
        auth_type="REST-HEADER",
        signature_version="AWS4-HMAC-SHA256",
        signed_at=NOW - timedelta(seconds=2),
        content_sha256="UNSIGNED-PAYLOAD",
        referer="https://example.com/",
        user_agent="aws-cli/2",
        prefix="",
        delimiter="/",
        max_keys="100",
        acl="private",
        request_object_tags={"Env": "prod", "Team": "a"},
    )
    assert ctx["aws:currenttime"] == ("2025-06-01T12:00:00Z",)
    assert ctx["aws:epochtime"] == (str(int(NOW.timestamp())),)
    assert ctx["s3:signatureage"] == ("2000",)
    assert ctx["s3:tlsversion"] == ("1.3",)
    assert ctx["s3:authtype"] == ("REST-HEADER",)
    assert ctx["s3:prefix"] == ("",)
    assert ctx["s3:requestobjecttag/Env"] == ("prod",)
    assert ctx["s3:requestobjecttagkeys"] == ("Env", "Team")
