"""The access gate keeps what a client's steady facts settle (its residual
policies) across requests; what changes per request — the clock, the
signature's age, the client's own facts — still decides every time."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealbox.access.context import MAX_VALUE_CHARS, ValueTooLong
from sealbox.api.common.access_gate import AccessGate
from sealbox.auth.principal import (
    ACCOUNT_ID,
    ANONYMOUS,
    AuthResult,
    Credential,
    Principal,
    root_principal,
)
from sealbox.clock import FixedClock
from sealbox.server.request import Request
from sealbox.store.meta import Bucket
from sealbox.store.sqlite import SqliteMetaStore

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
ROOT = root_principal("AKIAROOT")
OBJECTS = "arn:aws:s3:::bkt/*"


def request(*, client: str = "127.0.0.1", referer: str | None = None) -> Request:
    headers = [(b"host", b"127.0.0.1:9000")]
    if referer is not None:
        headers.append((b"referer", referer.encode()))
    return Request.from_scope({
        "type": "http", "method": "GET", "path": "/bkt/k", "raw_path": b"/bkt/k",
        "query_string": b"", "headers": headers, "client": (client, 5555),
        "server": ("127.0.0.1", 9000), "scheme": "http"}, None)


@pytest.fixture
def gate(tmp_path: Path) -> tuple[AccessGate, FixedClock]:
    meta = SqliteMetaStore(str(tmp_path / "meta.db"))
    meta.create_bucket(Bucket("bkt", T0, "us-east-1", f"arn:aws:iam::{ACCOUNT_ID}:root"))
    meta.put_bucket_setting("bkt", "policy", json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "NotAfterNoon", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": OBJECTS,
         "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-12-03T12:00:00Z"}}},
        {"Sid": "FreshLinks", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": OBJECTS, "Condition": {"NumericGreaterThan": {"s3:signatureAge": "60000"}}},
        {"Sid": "OnlyLoopback", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": OBJECTS, "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        {"Sid": "FromMySite", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": OBJECTS, "Condition": {"StringLike": {"aws:Referer": "https://my.site/*"}}},
    ]}))
    clock = FixedClock(T0)
    return AccessGate(meta, Credential("AKIAROOT", "secret", ROOT), clock), clock


def allowed(gate: AccessGate, principal: Principal, req: Request,
            signed_at: datetime) -> bool:
    auth = AuthResult(principal, "REST-QUERY-STRING", "AWS4-HMAC-SHA256", signed_at=signed_at)
    return gate.decide(req, auth, "GetObject", "s3:GetObject", "arn:aws:s3:::bkt/k",
                       bucket="bkt", key="k").allowed


def test_the_clock_and_the_signatures_age_decide_every_request(
        gate: tuple[AccessGate, FixedClock]) -> None:
    judge, clock = gate
    same = request()
    assert allowed(judge, ROOT, same, T0)  # noon exactly: not after it
    clock.at = T0 + timedelta(seconds=1)  # the same facts, later: the Deny applies
    assert not allowed(judge, ROOT, same, T0 + timedelta(seconds=1))
    clock.at = T0
    assert allowed(judge, ROOT, same, T0 - timedelta(seconds=60))
    assert not allowed(judge, ROOT, same, T0 - timedelta(seconds=61))  # a stale link
    assert allowed(judge, ROOT, same, T0)


def test_each_clients_steady_facts_decide_for_it(gate: tuple[AccessGate, FixedClock]) -> None:
    judge, _ = gate
    assert allowed(judge, ROOT, request(), T0)
    assert not allowed(judge, ROOT, request(client="192.0.2.7"), T0)  # not from loopback
    assert allowed(judge, ROOT, request(), T0)
    assert not allowed(judge, ANONYMOUS, request(), T0)  # no Referer: no Allow
    assert allowed(judge, ANONYMOUS, request(referer="https://my.site/page"), T0)
    assert not allowed(judge, ANONYMOUS, request(referer="https://evil.test/"), T0)
    assert allowed(judge, ANONYMOUS, request(referer="https://my.site/other"), T0)


def test_a_referer_over_the_cap_refuses_the_request_it_is_never_cut(
        gate: tuple[AccessGate, FixedClock]) -> None:
    # A server whose header limit was raised past S3's 8 KB still judges no
    # value longer than MAX_VALUE_CHARS: cut short, "https://my.site/…" could
    # pass a rule the whole value fails.
    judge, _ = gate
    referer = "https://my.site/" + "a" * MAX_VALUE_CHARS
    long_request = Request.from_scope({
        "type": "http", "method": "GET", "path": "/bkt/k", "raw_path": b"/bkt/k",
        "query_string": b"", "headers": [(b"host", b"h"), (b"referer", referer.encode())],
        "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 9000), "scheme": "http"},
        None, max_header_bytes=64 * 1024)
    with pytest.raises(ValueTooLong) as refused:
        allowed(judge, ANONYMOUS, long_request, T0)
    assert (refused.value.code, refused.value.status) == ("RequestHeaderSectionTooLarge", 400)
    assert allowed(judge, ANONYMOUS, request(referer="https://my.site/page"), T0)
