"""Signature Version 2: AWS's documented examples and botocore as the reference signer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sealbox.auth import sigv2
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import Credential, root_principal
from sealbox.errors import S3Error

# The example credentials of the S3 developer guide's V2 page ("Signing and
# authenticating REST requests"), and its worked examples as data.
AK = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CRED = Credential(AK, SECRET, root_principal(AK))


def lookup(key: str) -> Credential | None:
    return CRED if key == AK else None


DOC_HEADER_EXAMPLES = [
    # (method, path, bucket from Host, headers, signature)
    ("GET", "/photos/puppy.jpg", "awsexamplebucket1",
     {"date": "Tue, 27 Mar 2007 19:36:42 +0000"}, "qgk2+6Sv9/oM7G3qLEjTH1a1l1g="),
    ("PUT", "/photos/puppy.jpg", "awsexamplebucket1",
     {"date": "Tue, 27 Mar 2007 21:15:45 +0000", "content-type": "image/jpeg",
      "content-length": "94328"}, "iqRzw+ileNPu1fhspnRs8nOjjIA="),
]


@pytest.mark.parametrize(("method", "path", "bucket", "headers", "signature"), DOC_HEADER_EXAMPLES)
def test_documented_header_examples_verify(method, path, bucket, headers, signature) -> None:
    headers = {**headers, "authorization": f"AWS {AK}:{signature}"}
    facts = RequestFacts(method, path, "", headers)
    now = parsedate_to_datetime(headers["date"]) + timedelta(minutes=1)
    assert sigv2.verify_header(facts, lookup, now, bucket).principal == CRED.principal


def test_documented_query_example_verifies_before_expiry_and_not_after() -> None:
    query = (f"AWSAccessKeyId={AK}&Expires=1175139620&"
             "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D")
    facts = RequestFacts("GET", "/photos/puppy.jpg", query, {"host": "johnsmith.s3.amazonaws.com"})
    before = datetime.fromtimestamp(1175139620 - 60, tz=UTC)
    assert sigv2.verify_query(facts, lookup, before, "johnsmith").auth_type == "REST-QUERY-STRING"
    with pytest.raises(S3Error) as info:
        sigv2.verify_query(facts, lookup, before + timedelta(minutes=2), "johnsmith")
    assert (info.value.code, info.value.message) == ("AccessDenied", "Request has expired")
    assert list(info.value.fields) == ["Expires", "ServerTime"]


URLS = [
    "http://h:9/bkt/a%20b%2Bc.txt",
    "http://h:9/bkt/k?response-content-type=text%2Fplain&x=1",
    "http://h:9/bkt/k?uploadId=abc&partNumber=2",
    "http://h:9/bkt?uploads",
    "http://h:9/bkt/%C3%BC%E2%82%AC/~tilde",
]


@pytest.mark.parametrize("url", URLS)
def test_botocore_query_signatures_verify(url: str) -> None:
    request = AWSRequest("GET", url)
    HmacV1QueryAuth(Credentials(AK, SECRET), expires=60).add_auth(request)
    parts = urlsplit(request.url)
    facts = RequestFacts("GET", parts.path, parts.query, {"host": "h:9"})
    assert sigv2.verify_query(facts, lookup, datetime.now(UTC)).principal.name == "root"


@pytest.mark.parametrize("url", URLS)
def test_botocore_header_signatures_verify_and_a_changed_byte_does_not(url: str) -> None:
    request = AWSRequest("PUT", url, headers={"Content-Type": "text/plain",
                                              "x-amz-meta-note": "two  spaces"})
    HmacV1Auth(Credentials(AK, SECRET)).add_auth(request)
    parts = urlsplit(request.url)
    headers = {k.lower(): v for k, v in request.headers.items()}
    now = datetime.now(UTC)
    facts = RequestFacts("PUT", parts.path, parts.query, headers)
    assert sigv2.verify_header(facts, lookup, now).principal.name == "root"
    forged = RequestFacts("PUT", parts.path, parts.query,
                          {**headers, "x-amz-meta-note": "two  spaceS"})
    with pytest.raises(S3Error) as info:
        sigv2.verify_header(forged, lookup, now)
    assert info.value.code == "SignatureDoesNotMatch"
    assert list(info.value.fields) == ["AWSAccessKeyId", "StringToSign", "SignatureProvided",
                                       "StringToSignBytes"]


def test_x_amz_date_empties_the_date_line() -> None:
    facts = RequestFacts("GET", "/b/k", "", {"x-amz-date": "Tue, 27 Mar 2007 19:36:42 +0000",
                                             "date": "ignored"})
    text = sigv2.string_to_sign(facts, "", None)
    assert text == "GET\n\n\n\nx-amz-date:Tue, 27 Mar 2007 19:36:42 +0000\n/b/k"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (f"AWSAccessKeyId={AK}&Signature=x", "Query-string authentication requires the "
         "Signature, Expires and AWSAccessKeyId parameters"),
        (f"AWSAccessKeyId={AK}&Signature=x&Expires=soon",
         "Invalid date (should be seconds since epoch): soon"),
        # str.isdigit() is true of these; int() refuses the first, reads the second
        (f"AWSAccessKeyId={AK}&Signature=x&Expires=%C2%B2",
         "Invalid date (should be seconds since epoch): \u00b2"),
        (f"AWSAccessKeyId={AK}&Signature=x&Expires=%D9%A6%D9%A0",
         "Invalid date (should be seconds since epoch): \u0666\u0660"),
    ],
)
def test_malformed_query_is_access_denied(query: str, message: str) -> None:
    with pytest.raises(S3Error) as info:
        sigv2.verify_query(RequestFacts("GET", "/b/k", query, {}), lookup,
                           datetime.now(UTC))
    assert (info.value.code, info.value.message) == ("AccessDenied", message)


@pytest.mark.parametrize("name", ["Signature", "Expires", "AWSAccessKeyId"])
def test_a_repeated_query_parameter_is_access_denied(name: str) -> None:
    query = (f"AWSAccessKeyId={AK}&Expires=1175139620&"
             "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D")
    value = next(p.partition("=")[2] for p in query.split("&") if p.startswith(name + "="))
    before = datetime.fromtimestamp(1175139620 - 60, tz=UTC)
    for doubled in (f"{query}&{name}={value}", f"{name}=x&{query}"):
        facts = RequestFacts("GET", "/photos/puppy.jpg", doubled,
                             {"host": "johnsmith.s3.amazonaws.com"})
        with pytest.raises(S3Error) as info:
            sigv2.verify_query(facts, lookup, before, "johnsmith")
        assert (info.value.code, info.value.status) == ("AccessDenied", 403)
        assert info.value.message.endswith(f"{name} is repeated")


def test_malformed_header_is_invalid_argument() -> None:
    facts = RequestFacts("GET", "/b/k", "", {"authorization": "AWS nocolon", "date": "x"})
    with pytest.raises(S3Error) as info:
        sigv2.verify_header(facts, lookup, datetime.now(UTC))
    assert info.value.code == "InvalidArgument"


def test_skewed_header_is_request_time_too_skewed() -> None:
    facts = RequestFacts("GET", "/b/k", "", {"authorization": f"AWS {AK}:sig",
                                             "date": "Tue, 27 Mar 2007 19:36:42 +0000"})
    with pytest.raises(S3Error) as info:
        sigv2.verify_header(facts, lookup, datetime(2007, 3, 27, 20, 0, tzinfo=UTC))
    assert info.value.code == "RequestTimeTooSkewed"


def test_unknown_key_is_invalid_access_key_id() -> None:
    facts = RequestFacts("GET", "/b/k", "", {"authorization": "AWS NOBODY:sig",
                                             "date": "Tue, 27 Mar 2007 19:36:42 +0000"})
    with pytest.raises(S3Error) as info:
        sigv2.verify_header(facts, lookup, datetime(2007, 3, 27, 19, 40, tzinfo=UTC))
    assert (info.value.code, info.value.fields) == ("InvalidAccessKeyId", {"AWSAccessKeyId": "NOBODY"})
