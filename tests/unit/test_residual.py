"""sealbox.access.residual: policies less what steady facts settle decide
exactly as the policies as written, for any mix of statements and requests."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sealbox.access.context import request_context
from sealbox.access.evaluate import AccessRequest, evaluate
from sealbox.access.model import MalformedPolicy, Policy, parse_policy
from sealbox.access.residual import ResidualPolicies
from sealbox.auth.principal import ACCOUNT_ID, ANONYMOUS, Principal, root_principal

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ALICE = Principal("user", "alice", f"arn:aws:iam::{ACCOUNT_ID}:user/alice", "AKIAALICE")
BOB = Principal("user", "bob", f"arn:aws:iam::{ACCOUNT_ID}:user/bob", "AKIABOB")
PRINCIPALS = [ALICE, BOB, root_principal("AKIAROOT"), ANONYMOUS]

CONDITIONS: list[dict[str, Any]] = [
    {},
    {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
    {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}},
    {"Bool": {"aws:SecureTransport": "false"}},
    {"StringLike": {"aws:Referer": "https://*.example.com/*"}},
    {"Null": {"aws:Referer": "true"}},
    {"StringEquals": {"aws:username": "alice"}},
    {"StringNotEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256"}},
    {"DateGreaterThan": {"aws:CurrentTime": "2026-12-03T11:00:00Z"}},
    {"DateLessThan": {"aws:CurrentTime": "2026-12-03T11:00:00Z"}},
    {"NumericGreaterThan": {"s3:signatureAge": "60000"}},
    {"NumericLessThan": {"aws:EpochTime": "1999999999"},
     "IpAddress": {"aws:SourceIp": "198.51.100.0/24"}},
    {"StringEquals": {"aws:userid": "${aws:username}"}},
]
ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:*", ["s3:GetObject", "s3:ListBucket"]]
RESOURCES = ["arn:aws:s3:::bkt/*", "arn:aws:s3:::bkt/public/*", "arn:aws:s3:::bkt",
             "arn:aws:s3:::bkt/${aws:username}/*", "arn:aws:s3:::other/*"]
PRINCIPAL_ELEMENTS: list[Any] = ["*", {"AWS": ALICE.arn}, {"AWS": ACCOUNT_ID}]


def random_statement(rng: random.Random, bucket: bool) -> dict[str, Any]:
    st: dict[str, Any] = {
        "Effect": rng.choice(["Allow", "Allow", "Deny"]),
        rng.choice(["Action", "Action", "NotAction"]): rng.choice(ACTIONS),
        rng.choice(["Resource", "Resource", "NotResource"]): rng.choice(RESOURCES),
    }
    if rng.random() < 0.5:
        st["Sid"] = f"S{rng.randrange(1000)}"
    condition = rng.choice(CONDITIONS)
    if condition:
        st["Condition"] = condition
    if bucket:
        st["Principal"] = rng.choice(PRINCIPAL_ELEMENTS)
    return st


def policy(rng: random.Random, kind: str) -> Policy:
    while True:  # until a valid one (an action must apply to a resource)
        try:
            return _policy(rng, kind)
        except MalformedPolicy:
            continue


def _policy(rng: random.Random, kind: str) -> Policy:
    bucket = kind == "bucket"
    if bucket:
        # a bucket policy names only its own bucket
        statements = []
        while len(statements) < rng.randrange(1, 6):
            st = random_statement(rng, True)
            if "other" not in json.dumps(st):
                statements.append(st)
    else:
        statements = [random_statement(rng, False) for _ in range(rng.randrange(1, 4))]
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    return parse_policy(document, kind=kind, bucket="bkt" if bucket else None)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(40))
def test_residual_policies_decide_as_the_policies_as_written(seed: int) -> None:
    rng = random.Random(seed)
    identity = tuple(policy(rng, "identity") for _ in range(rng.randrange(0, 4)))
    bucket = policy(rng, "bucket") if rng.random() < 0.8 else None
    residual = ResidualPolicies(identity, bucket)
    for _ in range(60):
        principal = rng.choice(PRINCIPALS)
        context = request_context(
            principal, now=NOW + timedelta(minutes=rng.randrange(-120, 120)),
            source_ip=rng.choice(["192.0.2.7", "10.1.2.3", "198.51.100.9"]),
            secure_transport=rng.random() < 0.5,
            referer=rng.choice([None, "https://www.example.com/page", "https://evil.test/"]),
            auth_type=None if principal is ANONYMOUS else "REST-QUERY-STRING",
            signature_version=None if principal is ANONYMOUS else rng.choice(
                ["AWS4-HMAC-SHA256", "AWS"]),
            signed_at=NOW - timedelta(seconds=rng.randrange(0, 200)))
        action = rng.choice(["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject"])
        resource = rng.choice(["arn:aws:s3:::bkt/public/a", "arn:aws:s3:::bkt/alice/x",
                               "arn:aws:s3:::bkt/bob/y", "arn:aws:s3:::bkt"])
        restrict = rng.random() < 0.3

        asked: dict[str, Any] = {"principal": principal, "action": action, "resource": resource,
                                 "context": context, "restrict_public_buckets": restrict}
        written = evaluate(AccessRequest(identity_policies=identity, bucket_policy=bucket,
                                         **asked))
        left_identity, left_bucket = residual.for_context(context).narrowed(action, resource)
        shortcut = evaluate(AccessRequest(identity_policies=left_identity,
                                          bucket_policy=left_bucket, **asked))
        assert (shortcut.allowed, shortcut.reason, shortcut.policy) == (
            written.allowed, written.reason, written.policy)
        assert (shortcut.statement.as_written if shortcut.statement else None) is (
            written.statement)


def test_a_statement_ruled_out_by_a_steady_fact_is_dropped_and_a_changing_one_kept() -> None:
    bucket = parse_policy(json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Loopback", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": "arn:aws:s3:::bkt/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        {"Sid": "Fresh", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::bkt/*",
         "Condition": {"NumericGreaterThan": {"s3:signatureAge": "600000"},
                       "Bool": {"aws:SecureTransport": "false"}}},
    ]}), kind="bucket", bucket="bkt")
    context = request_context(ALICE, now=NOW, source_ip="127.0.0.1", secure_transport=False,
                              signed_at=NOW)
    left = ResidualPolicies((), bucket).for_context(context).bucket_policy
    assert left is not None
    assert [st.sid for st in left.statements] == ["Fresh"]
    (fresh,) = left.statements
    assert [c.key for c in fresh.conditions] == ["s3:signatureage"]
    assert fresh.as_written is bucket.statements[1]
