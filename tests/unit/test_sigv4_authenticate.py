"""``authenticate`` picks the mechanism a request uses, in S3's order."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sealbox.auth.authenticate import authenticate
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import ANONYMOUS_AUTH, Credential, root_principal
from sealbox.errors import S3Error

AK = "AKIAIOSFODNN7EXAMPLE"
CRED = Credential(AK, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", root_principal(AK))
NOW = datetime(2013, 5, 24, tzinfo=UTC)
V4_HEADER = (
    f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64
)
V4_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
    "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=60"
    "&X-Amz-SignedHeaders=host&X-Amz-Signature=" + "0" * 64
)
ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
)


def run(query: str = "", **headers: str) -> object:
    facts = RequestFacts("GET", "/bkt/key", query, {"host": "localhost:9000", **headers})
    return authenticate(facts, lambda key: CRED if key == AK else None, NOW, "us-east-1")


def refused(query: str = "", **headers: str) -> S3Error:
    with pytest.raises(S3Error) as info:
        run(query, **headers)
    return info.value


@pytest.mark.parametrize("query", ["", "list-type=2&prefix=a", "X-Amz-Date=20130524T000000Z"])
def test_request_without_credentials_is_anonymous(query: str) -> None:
    assert run(query) is ANONYMOUS_AUTH


def test_empty_authorization_header_without_query_credentials_is_anonymous() -> None:
    assert run(authorization="") is ANONYMOUS_AUTH


@pytest.mark.parametrize("query", [V4_QUERY, "Signature=abc&Expires=1&AWSAccessKeyId=AK"])
def test_header_and_query_credentials_together_are_refused(query: str) -> None:
    err = refused(query, authorization=V4_HEADER)
    assert (err.code, err.status, err.message) == ("InvalidArgument", 400, ONE_MECHANISM)
    assert list(err.fields.items()) == [
        ("ArgumentName", "Authorization"),
        ("ArgumentValue", V4_HEADER),
    ]


def test_an_empty_authorization_header_beside_a_presigned_query_is_refused() -> None:
    assert refused(V4_QUERY, authorization="").message == ONE_MECHANISM


def test_v4_and_v2_query_credentials_together_are_refused() -> None:
    err = refused(V4_QUERY + "&Signature=abc")
    assert (err.code, err.message) == ("InvalidArgument", ONE_MECHANISM)
    assert err.fields == {"ArgumentName": "Authorization"}


def test_authorization_header_without_a_space_is_invalid_argument() -> None:
    err = refused(authorization="AWS4-HMAC-SHA256")
    assert (err.code, err.status) == ("InvalidArgument", 400)
    assert err.message == "Authorization header is invalid -- one and only one ' ' (space) required"
    assert err.fields == {"ArgumentName": "Authorization", "ArgumentValue": "AWS4-HMAC-SHA256"}


@pytest.mark.parametrize("value", ["Bearer abc", "AWS4-HMAC-SHA512 Credential=x", "Basic dTpw"])
def test_unknown_authorization_scheme_is_unsupported(value: str) -> None:
    err = refused(authorization=value)
    assert (err.code, err.status, err.message) == (
        "InvalidArgument",
        400,
        "Unsupported Authorization Type",
    )
    assert err.fields == {"ArgumentName": "Authorization", "ArgumentValue": value}


def test_sigv2_authorization_header_goes_to_sigv2_verification() -> None:
    # A well-formed V2 header reaches the V2 key lookup (here: unknown key).
    err = refused(authorization="AWS AKIDUNKNOWN:frJIUN8DYpKDtOLCwo//yllqDzg=",
                  date="Fri, 24 May 2013 00:00:00 GMT")
    assert (err.code, err.status) == ("InvalidAccessKeyId", 403)


@pytest.mark.parametrize(
    "query", ["AWSAccessKeyId=AK&Expires=1369353600&Signature=abc", "AWSAccessKeyId=AK"]
)
def test_sigv2_query_goes_to_sigv2_verification(query: str) -> None:
    err = refused(query)
    assert (err.code, err.status) in (("InvalidAccessKeyId", 403), ("AccessDenied", 403))


def test_scheme_is_matched_without_case() -> None:
    # Reaches the SigV4 checks (here: no x-amz-content-sha256), not "Unsupported".
    err = refused(authorization=V4_HEADER.replace("AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1))
    assert err.code == "InvalidRequest"


def test_v4_header_goes_to_header_verification() -> None:
    err = refused(authorization=V4_HEADER)
    assert err.message == "Missing required header for this request: x-amz-content-sha256"


def test_x_amz_query_parameters_without_algorithm_are_a_broken_presigned_url() -> None:
    err = refused("X-Amz-Credential=AK%2F20130524%2Fus-east-1%2Fs3%2Faws4_request")
    assert err.code == "AuthorizationQueryParametersError"
    assert err.message.startswith("Query-string authentication version 4 requires")


def test_presigned_query_goes_to_presigned_verification() -> None:
    err = refused(V4_QUERY)
    assert err.code == "SignatureDoesNotMatch"
    assert err.fields["CanonicalRequest"].endswith("UNSIGNED-PAYLOAD")
