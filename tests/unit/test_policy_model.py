"""Policy documents: parsed and compiled once, or refused with S3's reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.access.actions import ACTIONS
from sealbox.access.model import MalformedPolicy, parse_policy
from sealbox.access.s3_actions import S3_ACTIONS
from sealbox.access.variables import context_key
from sealbox.errors import S3Error

ACCOUNT = "000000000000"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        body = {"Version": version, **body}
    return json.dumps(body)


def stmt(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::bkt/*",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def exists(name: str) -> bool:
    return name in {f"arn:aws:iam::{ACCOUNT}:root", ALICE, "cloudfront.amazonaws.com"}


# AWS's own examples (S3 User Guide "Examples of Amazon S3 bucket policies",
# CloudFront "Restrict access to an Amazon S3 origin") with the bucket renamed.
AWS_EXAMPLES = {
    "public read": doc(stmt(Sid="PublicRead", Action=["s3:GetObject", "s3:GetObjectVersion"])),
    "HTTPS only": doc(
        stmt(
            Sid="RestrictToTLSRequestsOnly",
            Effect="Deny",
            Action="s3:*",
            Resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
            Condition={"Bool": {"aws:SecureTransport": "false"}},
        )
    ),
    "CloudFront OAC": doc(
        stmt(
            Sid="AllowCloudFrontServicePrincipalReadOnly",
            Principal={"Service": "cloudfront.amazonaws.com"},
            Condition={
                "StringEquals": {
                    "AWS:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/EDFDVBD6EXAMPLE"
                }
            },
        ),
        version="2008-10-17",
    ),
    "IP allow list, IPv4 and IPv6": doc(
        stmt(
            Sid="IPAllow",
            Effect="Deny",
            Action="s3:*",
            Resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
            Condition={
                "NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]}
            },
        )
    ),
    "referer": doc(stmt(Condition={"StringLike": {"aws:Referer": ["https://www.example.com/*"]}})),
    "VPC only": doc(
        stmt(
            Effect="Deny",
            Action="s3:*",
            Resource=["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
            Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-111bbb22"}},
        )
    ),
    "named user, JSON numbers and booleans in conditions": doc(
        stmt(
            Principal={"AWS": [ALICE, ACCOUNT]},
            Action="s3:ListBucket",
            Resource="arn:aws:s3:::bkt",
            Condition={
                "NumericLessThanEquals": {"s3:max-keys": 10},
                "Bool": {"aws:SecureTransport": True},
            },
        )
    ),
}


@pytest.mark.parametrize("text", AWS_EXAMPLES.values(), ids=AWS_EXAMPLES.keys())
def test_aws_bucket_policy_examples_parse(text: str) -> None:
    policy = parse_policy(text, bucket="bkt", principal_exists=exists)
    assert policy.kind == "bucket" and policy.statements


def test_identity_policy_home_directory_example_parses() -> None:
    # IAM User Guide, "IAM policy elements: Variables and tags".
    text = doc(
        {
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": "arn:aws:s3:::bkt",
            "Condition": {"StringLike": {"s3:prefix": ["${aws:username}/*"]}},
        },
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": "arn:aws:s3:::bkt/${aws:username}/*",
        },
    )
    policy = parse_policy(text, kind="identity", name="home")
    assert policy.name == "home"
    assert policy.condition_keys == {"s3:prefix", "aws:username"}


BIG = doc(*[stmt(Sid=f"S{i}", Resource=f"arn:aws:s3:::bkt/{'x' * 200}{i}") for i in range(100)])

# (document, reason): each fault alone, worded as S3 (or IAM) words it.
MALFORMED = {
    "not JSON": ("Allow everything", "Policies must be valid JSON and the first byte must be '{'"),
    "broken JSON": ('{"Version": ', "This policy contains invalid Json"),
    "JSON array": ("[]", "Policies must be valid JSON and the first byte must be '{'"),
    "too large": (BIG, "Policies must be no larger than 20480 bytes"),
    "unknown top-level field": (
        json.dumps({"Version": "2012-10-17", "Foo": 1, "Statement": [stmt()]}),
        "Unknown field Foo",
    ),
    "unknown statement field": (doc(stmt(Conditions={})), "Unknown field Conditions"),
    "bad version": (
        doc(stmt(), version="2020-01-01"),
        "The policy must contain a valid version string",
    ),
    "no statement": ('{"Version": "2012-10-17"}', "Missing required field Statement"),
    "empty statement": (doc(), "Could not parse the policy: Statement is empty!"),
    "statement not an object": ('{"Statement": ["x"]}', "Invalid policy syntax."),
    "no effect": (doc(stmt(Effect=None)), "Missing required field Effect"),
    "effect in lower case": (doc(stmt(Effect="allow")), "Invalid effect: allow"),
    "no principal": (doc(stmt(Principal=None)), "Missing required field Principal"),
    "principal that does not exist": (
        doc(stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/ghost"})),
        "Invalid principal in policy",
    ),
    "account that does not exist": (
        doc(stmt(Principal={"AWS": "111122223333"})),
        "Invalid principal in policy",
    ),
    "wildcard in a principal ARN": (
        doc(stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/*"})),
        "Invalid principal in policy",
    ),
    "unknown principal type": (doc(stmt(Principal={"Foo": "x"})), "Invalid principal in policy"),
    "principal list empty": (doc(stmt(Principal={"AWS": []})), "Invalid principal in policy"),
    "principal a number": (doc(stmt(Principal=7)), "Invalid principal in policy"),
    "NotPrincipal with Allow": (
        doc(stmt(Principal=None, NotPrincipal={"AWS": ALICE})),
        "Invalid principal in policy",
    ),
    "unknown S3 action": (doc(stmt(Action="s3:GetObjekt")), "Policy has invalid action"),
    "wildcard naming no action": (doc(stmt(Action="s3:Fly*")), "Policy has invalid action"),
    "another service's action": (doc(stmt(Action="ec2:RunInstances")), "Policy has invalid action"),
    "action not a string": (doc(stmt(Action=5)), "Policy has invalid action"),
    "no action": (doc(stmt(Action=None)), "Missing required field Action"),
    "Action and NotAction": (doc(stmt(NotAction="s3:PutObject")), "Invalid policy syntax."),
    "no resource": (doc(stmt(Resource=None)), "Missing required field Resource"),
    "resource *": (doc(stmt(Resource="*")), "Policy has invalid resource"),
    "resource of another bucket": (
        doc(stmt(Resource="arn:aws:s3:::other/*")),
        "Policy has invalid resource",
    ),
    "resource not an S3 ARN": (
        doc(stmt(Resource="arn:aws:sns:::bkt")),
        "Policy has invalid resource",
    ),
    "object action on the bucket": (
        doc(stmt(Action="s3:PutObject", Resource="arn:aws:s3:::bkt")),
        "Action does not apply to any resource(s) in statement",
    ),
    "bucket action on objects": (
        doc(stmt(Action="s3:ListBucket")),
        "Action does not apply to any resource(s) in statement",
    ),
    "service action in a bucket policy": (
        doc(stmt(Action="s3:ListAllMyBuckets", Resource="arn:aws:s3:::bkt")),
        "Action does not apply to any resource(s) in statement",
    ),
    "unknown operator": (
        doc(stmt(Condition={"StringEqualz": {"aws:Referer": "x"}})),
        "Invalid Condition type : StringEqualz",
    ),
    "unknown condition key": (
        doc(stmt(Condition={"StringEquals": {"s3:foo": "x"}})),
        "Policy has an invalid condition key",
    ),
    "unknown global key": (
        doc(stmt(Condition={"StringEquals": {"aws:Nonsense": "x"}})),
        "Policy has an invalid condition key",
    ),
    "bad CIDR": (
        doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "1.2.3"}})),
        "Invalid IP address in Conditions",
    ),
    "bad number": (
        doc(stmt(Condition={"NumericLessThan": {"s3:max-keys": "many"}})),
        "Invalid value in Conditions for operator NumericLessThan",
    ),
    "condition value an object": (
        doc(stmt(Condition={"StringEquals": {"aws:Referer": {"a": 1}}})),
        "Invalid policy syntax.",
    ),
    "condition not an object": (doc(stmt(Condition=["x"])), "Invalid policy syntax."),
    "duplicated JSON key": (
        (
            '{"Statement": {"Effect": "Allow", "Effect": "Deny", "Principal": "*", '
            '"Action": "s3:GetObject", "Resource": "arn:aws:s3:::bkt/*"}}'
        ),
        "Invalid policy syntax.",
    ),
    "duplicated Sid": (
        doc(stmt(Sid="A"), stmt(Sid="A")),
        "Statement IDs (SID) in a single policy must be unique.",
    ),
    "Sid a number": (doc(stmt(Sid=1)), "Invalid policy syntax."),
}


@pytest.mark.parametrize(("text", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_bucket_policies_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(MalformedPolicy) as caught:
        parse_policy(text, bucket="bkt", principal_exists=exists)
    assert caught.value.reason == reason
    assert caught.value.message == reason


def test_malformed_policy_is_an_s3_error_400() -> None:
    with pytest.raises(S3Error) as caught:
        parse_policy("nope")
    assert caught.value.code == "MalformedPolicy" and caught.value.status == 400


def test_policy_at_the_size_limit_is_accepted_and_one_byte_more_is_not() -> None:
    def sized(n: int) -> str:
        text = doc(stmt(Sid="x"))
        compact = json.dumps(json.loads(text), separators=(",", ":"))
        return doc(stmt(Sid="x" * (n - len(compact) + 1)))

    assert parse_policy(sized(20480), bucket="bkt").size == 20480
    with pytest.raises(MalformedPolicy):
        parse_policy(sized(20481), bucket="bkt")


def test_whitespace_does_not_count_towards_the_size() -> None:
    text = json.dumps(json.loads(doc(stmt())), indent=40)
    assert parse_policy(text, bucket="bkt").size < 200


def test_bytes_that_are_not_utf8_are_invalid_json() -> None:
    with pytest.raises(MalformedPolicy, match="invalid Json"):
        parse_policy(b'{"Statement": "\xff"}')


@pytest.mark.parametrize("kind", ["bucket", "identity"])
@pytest.mark.parametrize("field", ["Resource", "Sid"])
def test_a_lone_surrogate_escape_is_invalid_json(kind: str, field: str) -> None:
    # json.dumps writes U+D800 as the escape "\\ud800", which Python's json
    # reads back, but which no encoder takes: once a 500 when the policy was
    # measured, stored or rendered.
    principal = "*" if kind == "bucket" else None
    text = doc(stmt(Principal=principal, **{field: "arn:aws:s3:::bkt/\ud800"}))
    assert "\\ud800" in text
    with pytest.raises(MalformedPolicy) as caught:
        parse_policy(text.encode(), kind=kind, bucket="bkt")  # type: ignore[arg-type]
    assert caught.value.reason == "This policy contains invalid Json"
    assert (caught.value.code, caught.value.status) == ("MalformedPolicy", 400)


def test_a_surrogate_pair_escape_is_one_character_and_parses() -> None:
    text = doc(stmt(Resource="arn:aws:s3:::bkt/\U0001f600*"))
    assert "\\ud83d\\ude00" in text
    assert parse_policy(text, bucket="bkt").size > 0


IDENTITY_MALFORMED = {
    "principal in an identity policy": (
        doc(stmt()),
        "Policy document should not specify a principal.",
    ),
    "resource not an ARN": (
        doc(stmt(Principal=None, Resource="bkt")),
        'Resource bkt must be in ARN format or "*".',
    ),
    "too large": (
        doc(
            *[
                stmt(Principal=None, Sid=f"S{i}", Resource=f"arn:aws:s3:::b/{'x' * 100}")
                for i in range(60)
            ]
        ),
        "Cannot exceed quota for PolicySize: 6144",
    ),
}


@pytest.mark.parametrize(
    ("text", "reason"), IDENTITY_MALFORMED.values(), ids=IDENTITY_MALFORMED.keys()
)
def test_malformed_identity_policies_are_refused(text: str, reason: str) -> None:
    with pytest.raises(MalformedPolicy) as caught:
        parse_policy(text, kind="identity")
    assert caught.value.reason == reason


def test_identity_policies_may_name_other_services_and_any_resource() -> None:
    policy = parse_policy(
        doc(stmt(Principal=None, Action=["s3:*", "iam:GetUser"], Resource="*")), kind="identity"
    )
    assert policy.statements[0].resources.any


def test_missing_version_is_2008_and_variables_stay_text() -> None:
    policy = parse_policy(doc(stmt(Resource="arn:aws:s3:::bkt/${aws:username}/*"), version=None))
    assert policy.version == "2008-10-17"
    assert not policy.statements[0].resources.templates
    assert policy.statements[0].matches_resource("arn:aws:s3:::bkt/${aws:username}/x", {})


def test_a_single_statement_object_is_one_statement() -> None:
    policy = parse_policy(json.dumps({"Statement": stmt()}), bucket="bkt")
    assert len(policy.statements) == 1


def test_principal_forms_are_normalised() -> None:
    policy = parse_policy(
        doc(
            stmt(Principal={"AWS": "*"}),
            stmt(Principal={"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", ALICE]}),
            stmt(Principal={"Service": ["cloudfront.amazonaws.com"]}),
        ),
        bucket="bkt",
        principal_exists=exists,
    )
    everyone, named, service = (s.principals for s in policy.statements)
    assert everyone is not None and everyone.everyone
    assert named is not None and named.accounts == {ACCOUNT} and named.users == {ALICE}
    assert service is not None and service.services == {"cloudfront.amazonaws.com"}


def test_principal_exists_is_asked_about_every_principal() -> None:
    asked: list[str] = []
    parse_policy(
        doc(stmt(Principal={"AWS": [ACCOUNT, ALICE], "Service": "cloudfront.amazonaws.com"})),
        bucket="bkt",
        principal_exists=lambda p: asked.append(p) or True,
    )
    assert asked == [f"arn:aws:iam::{ACCOUNT}:root", ALICE, "cloudfront.amazonaws.com"]


def test_actions_match_without_case_and_with_wildcards() -> None:
    policy = parse_policy(doc(stmt(Action=["S3:getobject", "s3:Get*Tagging", "s3:?utObjectAcl"])))
    st = policy.statements[0]
    assert st.matches_action("s3:getobject")
    assert st.matches_action("s3:getobjecttagging")
    assert st.matches_action("s3:putobjectacl")
    assert not st.matches_action("s3:putobject")


def test_resources_match_with_star_and_question_mark_case_sensitively() -> None:
    policy = parse_policy(doc(stmt(Resource=["arn:aws:s3:::bkt/a?c/*"])), bucket="bkt")
    st = policy.statements[0]
    assert st.matches_resource("arn:aws:s3:::bkt/abc/d/e", {})
    assert not st.matches_resource("arn:aws:s3:::bkt/ABC/d", {})
    assert not st.matches_resource("arn:aws:s3:::bkt/abbc/d", {})


WILDCARDS = json.loads(
    (Path(__file__).resolve().parents[1] / "vectors" / "iam" / "wildcards.json").read_text())


@pytest.mark.parametrize("case", WILDCARDS["cases"], ids=lambda c: c["name"])
def test_aws_resource_wildcard_example(case: dict[str, Any]) -> None:
    policy = parse_policy(doc({"Effect": "Allow", "Action": "s3:GetObject",
                               "Resource": case["pattern"]}), kind="identity")
    context = {context_key(k): (v,) for k, v in case.get("context", {}).items()}
    assert policy.statements[0].matches_resource(case["value"], context) is case["matches"]


def test_statements_for_an_action_are_compiled_once_and_memoised() -> None:
    policy = parse_policy(doc(stmt(Sid="get"), stmt(Sid="put", Action="s3:PutObject")))
    first = policy.statements_for("s3:getobject")
    assert [s.sid for s in first] == ["get"]
    assert policy.statements_for("s3:getobject") is first


def test_every_operation_action_is_a_known_s3_action() -> None:
    for operation, (action, kind) in ACTIONS.items():
        assert action.lower() in S3_ACTIONS, operation
        if operation != "DeleteObjects":  # checked per key, named on the bucket
            assert S3_ACTIONS[action.lower()] == kind, operation


PUBLIC = {
    "public read": (doc(stmt()), True),
    "{AWS: *}": (doc(stmt(Principal={"AWS": "*"})), True),
    "named user": (doc(stmt(Principal={"AWS": ALICE})), False),
    "CloudFront OAC": (
        doc(
            stmt(
                Principal={"Service": "cloudfront.amazonaws.com"},
                Condition={
                    "StringEquals": {"aws:SourceArn": "arn:aws:cloudfront::1:distribution/X"}
                },
            )
        ),
        False,
    ),
    "* fixed to a network": (
        doc(stmt(Condition={"StringEquals": {"aws:SourceVpc": "vpc-office"}})),
        False,
    ),
    "* with a wildcard network": (
        doc(stmt(Condition={"StringLike": {"aws:SourceVpc": "vpc-*"}})),
        True,
    ),
    "* from a /8": (doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})), False),
    "* from anywhere": (doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})), True),
    "* with IfExists": (
        doc(stmt(Condition={"StringEqualsIfExists": {"aws:SourceVpc": "vpc-office"}})),
        True,
    ),
    "* only over HTTPS": (doc(stmt(Condition={"Bool": {"aws:SecureTransport": "true"}})), True),
    "deny to *": (doc(stmt(Effect="Deny")), False),
}


@pytest.mark.parametrize(("text", "public"), PUBLIC.values(), ids=PUBLIC.keys())
def test_public_as_block_public_access_judges_it(text: str, public: bool) -> None:
    assert parse_policy(text).is_public is public


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
_fields = st.sampled_from(
    [
        "Version",
        "Statement",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Sid",
        "AWS",
        "Service",
        "StringLike",
        "Null",
        "aws:SourceIp",
        "2012-10-17",
        "Allow",
        "Deny",
        "*",
        "s3:GetObject",
        "arn:aws:s3:::bkt/*",
    ]
)
_policyish = st.recursive(
    _fields | st.booleans() | st.integers(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_fields, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_json, _policyish))
def test_any_json_is_a_policy_or_malformed_policy(value: object) -> None:
    text = json.dumps(value)
    for kind in ("bucket", "identity"):
        try:
            parse_policy(text, kind=kind, bucket="bkt")  # type: ignore[arg-type]
        except MalformedPolicy:
            pass
