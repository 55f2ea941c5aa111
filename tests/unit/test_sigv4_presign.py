"""Our own signer: it reproduces AWS's documented signatures and botocore's
output, and what it signs, ``authenticate`` accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from sealbox.auth.authenticate import authenticate
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4 import canonical, presign_url, sign_headers
from sealbox.auth.sigv4.presign import host_header
from sealbox.errors import S3Error

DOCS = json.loads(
    (
        Path(__file__).resolve().parents[1] / "vectors" / "sigv4" / "s3-docs-examples.json"
    ).read_text()
)
DOC_CRED = Credential(DOCS["access_key"], DOCS["secret_key"], root_principal(DOCS["access_key"]))
DOC_NOW = datetime(2013, 5, 24, tzinfo=UTC)
REGION = "us-east-1"


def lookup(access_key: str) -> Credential | None:
    return DOC_CRED if access_key == DOC_CRED.access_key else None


def facts_for(method: str, url: str, headers: dict[str, str] | None = None) -> RequestFacts:
    parts = urlsplit(url)
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    lowered.setdefault("host", host_header(url))
    return RequestFacts(method, parts.path, parts.query, lowered)


# --- AWS's documented signatures ---------------------------------------------------


def test_presign_url_reproduces_the_s3_docs_presigned_get() -> None:
    url = presign_url(
        "GET", "https://examplebucket.s3.amazonaws.com/test.txt", DOC_CRED, REGION, 86400, DOC_NOW
    )
    case = DOCS["presigned_examples"][0]
    assert url == f"https://examplebucket.s3.amazonaws.com/test.txt?{case['query']}"


def test_sign_headers_reproduces_the_s3_docs_get_object() -> None:
    case = DOCS["header_examples"][0]
    signed = sign_headers(
        "GET",
        "https://examplebucket.s3.amazonaws.com/test.txt",
        {"Range": "bytes=0-9"},
        DOC_CRED,
        REGION,
        DOC_NOW,
        payload_hash=canonical.EMPTY_SHA256,
    )
    assert signed["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders={case['signed_headers']}, Signature={case['signature']}"
    )
    assert signed["X-Amz-Date"] == "20130524T000000Z"
    assert signed["Host"] == "examplebucket.s3.amazonaws.com"


def test_sign_headers_reproduces_the_s3_docs_put_object() -> None:
    case = DOCS["header_examples"][1]
    signed = sign_headers(
        "PUT",
        "https://examplebucket.s3.amazonaws.com/test$file.text",
        {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY"},
        DOC_CRED,
        REGION,
        DOC_NOW,
        payload_hash=case["headers"]["x-amz-content-sha256"],
    )
    assert signed["Authorization"].endswith(
        f"SignedHeaders={case['signed_headers']}, Signature={case['signature']}"
    )


@pytest.mark.parametrize("case", DOCS["header_examples"][2:], ids=lambda c: c["name"])
def test_sign_headers_reproduces_the_s3_docs_bucket_examples(case: dict) -> None:
    signed = sign_headers(
        "GET",
        f"https://examplebucket.s3.amazonaws.com/?{case['query']}",
        {},
        DOC_CRED,
        REGION,
        DOC_NOW,
        payload_hash=canonical.EMPTY_SHA256,
    )
    assert signed["Authorization"].endswith(f"Signature={case['signature']}")


# --- round trips ------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:9000/bkt/a b+c~d!*'()é.txt",
        "http://localhost:9000/bkt/already%20encoded%2Bplus",
        "https://bkt.s3.example.com:443/k?response-content-disposition=attachment%3B%20filename%3D%22a%2Bb%22",
        "http://[::1]:9000/bkt/k?versionId=3%2F4&uploads",
    ],
)
def test_presigned_url_is_accepted_until_it_expires(url: str) -> None:
    signed = presign_url("GET", url, DOC_CRED, REGION, 600, DOC_NOW)
    facts = facts_for("GET", signed)
    assert authenticate(facts, lookup, DOC_NOW + timedelta(seconds=600), REGION).auth_type == (
        "REST-QUERY-STRING"
    )
    with pytest.raises(S3Error) as info:
        authenticate(facts, lookup, DOC_NOW + timedelta(seconds=601), REGION)
    assert info.value.message == "Request has expired"


def test_presigned_url_binds_extra_signed_headers() -> None:
    extra = {"Content-Type": "image/png", "x-amz-server-side-encryption": "AES256"}
    signed = presign_url(
        "PUT",
        "http://localhost:9000/bkt/k",
        DOC_CRED,
        REGION,
        60,
        DOC_NOW,
        extra_signed_headers=extra,
    )
    assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-server-side-encryption" in signed
    assert authenticate(facts_for("PUT", signed, extra), lookup, DOC_NOW, REGION)
    with pytest.raises(S3Error) as info:
        authenticate(
            facts_for("PUT", signed, {**extra, "Content-Type": "text/html"}),
            lookup,
            DOC_NOW,
            REGION,
        )
    assert info.value.code == "SignatureDoesNotMatch"


@pytest.mark.parametrize("expires", [0, -1, 604801])
def test_presign_url_refuses_an_expiry_s3_would_refuse(expires: int) -> None:
    with pytest.raises(ValueError):
        presign_url("GET", "http://localhost:9000/b/k", DOC_CRED, REGION, expires, DOC_NOW)


def test_sign_headers_round_trip_with_odd_key_query_and_header_spacing() -> None:
    url = "http://localhost:9000/bkt/a%20b%2Bc?prefix=x%2By&list-type=2"
    headers = {"x-amz-meta-note": "  two   spaces  ", "Content-Type": "text/plain"}
    signed = sign_headers("GET", url, headers, DOC_CRED, REGION, DOC_NOW)
    result = authenticate(facts_for("GET", url, signed), lookup, DOC_NOW, REGION)
    assert result.payload_hash == "UNSIGNED-PAYLOAD"


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://localhost:9000/b", "localhost:9000"),
        ("http://localhost:80/b", "localhost"),
        ("https://s3.example.com:443/b", "s3.example.com"),
        ("https://s3.example.com:8443/b", "s3.example.com:8443"),
        ("http://[::1]:9000/b", "[::1]:9000"),
        ("http://user:pw@Example.COM/b", "example.com"),
    ],
)
def test_host_header_keeps_a_non_default_port(url: str, host: str) -> None:
    assert host_header(url) == host


# --- the same output as botocore ------------------------------------------------------

WHEN = datetime(2024, 2, 29, 12, 30, 15, tzinfo=UTC)


@pytest.fixture()
def pinned_botocore() -> Iterator[None]:
    with mock.patch.object(
        botocore.auth, "get_current_datetime", lambda **_: WHEN.replace(tzinfo=None)
    ):
        yield


@settings(max_examples=100, deadline=None)
@given(
    key=st.text(min_size=1, max_size=20),
    meta=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=10),
)
def test_sign_headers_equals_botocore_s3sigv4auth(key: str, meta: str) -> None:
    url = f"http://localhost:9000/bkt/{quote(key, safe='/~')}"
    headers = {"x-amz-meta-m": meta} if meta else {}
    with mock.patch.object(
        botocore.auth, "get_current_datetime", lambda **_: WHEN.replace(tzinfo=None)
    ):
        request = AWSRequest(method="PUT", url=url, headers=dict(headers), data=b"")
        botocore.auth.S3SigV4Auth(
            Credentials(DOC_CRED.access_key, DOC_CRED.secret_key), "s3", REGION
        ).add_auth(request)
    ours = sign_headers(
        "PUT", url, headers, DOC_CRED, REGION, WHEN, payload_hash=canonical.EMPTY_SHA256
    )
    assert ours["Authorization"] == request.headers["Authorization"]


def test_presign_url_equals_botocore_s3sigv4queryauth(pinned_botocore: None) -> None:
    url = "http://localhost:9000/bkt/a%20b?response-content-type=text%2Fplain"
    request = AWSRequest(method="GET", url=url)
    botocore.auth.S3SigV4QueryAuth(
        Credentials(DOC_CRED.access_key, DOC_CRED.secret_key), "s3", REGION, expires=3600
    ).add_auth(request)
    assert presign_url("GET", url, DOC_CRED, REGION, 3600, WHEN) == request.url
