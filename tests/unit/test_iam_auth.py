"""SigV4 for the IAM Query API: botocore's ``SigV4Auth`` with service
``iam`` signs the form body's SHA-256 and sends no x-amz-content-sha256;
``authenticate_signed_body`` checks exactly that, and the S3 path is
unchanged. ``iam.auth_error`` words S3's refusals as IAM does."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sealbox.api.iam.query import auth_error
from sealbox.auth.authenticate import authenticate_signed_body
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import ANONYMOUS_AUTH, Credential, root_principal
from sealbox.auth.sigv4 import verify
from sealbox.errors import S3Error

AK, SK = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CRED = Credential(AK, SK, root_principal(AK))
BODY = b"Action=ListUsers&Version=2010-05-08"


def lookup(key: str) -> Credential | None:
    return CRED if key == AK else None


def signed(body: bytes = BODY, service: str = "iam",
           secret: str = SK) -> tuple[RequestFacts, datetime]:
    request = AWSRequest("POST", "http://127.0.0.1:9000/", data=body, headers={
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    auth = SigV4Auth(Credentials(AK, secret), service, "us-east-1")
    auth.add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = "127.0.0.1:9000"
    return RequestFacts("POST", "/", "", headers), datetime.now(UTC)


def check(facts: RequestFacts, now: datetime, body: bytes = BODY) -> object:
    return authenticate_signed_body(facts, lookup, now, "us-east-1", service="iam",
                                    body_sha256=hashlib.sha256(body).hexdigest())


def test_botocore_iam_request_authenticates_as_its_signer() -> None:
    facts, now = signed()
    assert "x-amz-content-sha256" not in facts.headers
    result = check(facts, now)
    assert result.principal == CRED.principal  # type: ignore[attr-defined]
    assert result.payload_hash == hashlib.sha256(BODY).hexdigest()  # type: ignore[attr-defined]


def test_changed_body_does_not_match_the_signature() -> None:
    facts, now = signed()
    with pytest.raises(S3Error) as info:
        check(facts, now, body=BODY + b"&UserName=mallory")
    assert info.value.code == "SignatureDoesNotMatch"


def test_wrong_secret_does_not_match() -> None:
    facts, now = signed(secret="x" * 40)
    with pytest.raises(S3Error) as info:
        check(facts, now)
    assert info.value.code == "SignatureDoesNotMatch"


def test_s3_scoped_signature_is_refused_for_its_service() -> None:
    facts, now = signed(service="s3")
    with pytest.raises(S3Error) as info:
        check(facts, now)
    assert 'incorrect service "s3". This endpoint belongs to "iam".' in info.value.message


def test_no_credentials_is_anonymous() -> None:
    facts = RequestFacts("POST", "/", "", {"host": "h"})
    assert check(facts, datetime.now(UTC)) is ANONYMOUS_AUTH


def test_sigv2_header_is_refused() -> None:
    facts = RequestFacts("POST", "/", "", {"host": "h", "authorization": f"AWS {AK}:abc"})
    with pytest.raises(S3Error) as info:
        check(facts, datetime.now(UTC))
    assert info.value.code == "InvalidArgument"


def test_presigned_iam_query_authenticates() -> None:
    request = AWSRequest("GET", "http://127.0.0.1:9000/?Action=ListUsers&Version=2010-05-08")
    SigV4QueryAuth(Credentials(AK, SK), "iam", "us-east-1", expires=60).add_auth(request)
    url = urlsplit(request.url)
    facts = RequestFacts("GET", "/", url.query, {"host": "127.0.0.1:9000"})
    assert check(facts, datetime.now(UTC), body=b"").principal == CRED.principal  # type: ignore[attr-defined]


def test_skewed_clock_is_refused() -> None:
    facts, now = signed()
    with pytest.raises(S3Error) as info:
        check(facts, now + timedelta(hours=1))
    assert info.value.code == "RequestTimeTooSkewed"
    assert auth_error(info.value).code == "SignatureDoesNotMatch"
    assert auth_error(info.value).message.startswith("Signature expired: ")


def test_s3_header_auth_still_requires_x_amz_content_sha256() -> None:
    facts, now = signed(service="s3")
    with pytest.raises(S3Error) as info:
        verify.verify_header(facts, lookup, now, "us-east-1")
    assert info.value.code == "InvalidRequest"


@pytest.mark.parametrize(("s3_code", "fields", "iam_code", "status"), [
    ("InvalidAccessKeyId", {"AWSAccessKeyId": "X"}, "InvalidClientTokenId", 403),
    ("SignatureDoesNotMatch", {}, "SignatureDoesNotMatch", 403),
    ("AuthorizationHeaderMalformed", {}, "IncompleteSignature", 400),
    ("AuthorizationHeaderMalformed", {"Region": "us-east-1"}, "SignatureDoesNotMatch", 403),
    ("InvalidArgument", {}, "IncompleteSignature", 400),
])
def test_s3_refusals_become_iams(s3_code: str, fields: dict[str, str], iam_code: str,
                                 status: int) -> None:
    error = auth_error(S3Error(s3_code, "m", **fields))
    assert (error.code, error.status) == (iam_code, status)
    assert "AWSAccessKeyId" not in error.message and error.message
