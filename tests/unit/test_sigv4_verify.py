"""SigV4 verification: AWS's documented requests are accepted, and every way
S3 refuses one is answered with S3's code, status, message and fields."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sealbox.auth.authenticate import authenticate
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import Credential, root_principal
from sealbox.auth.sigv4 import parse, verify
from sealbox.errors import S3Error

DOCS = json.loads(
    (
        Path(__file__).resolve().parents[1] / "vectors" / "sigv4" / "s3-docs-examples.json"
    ).read_text()
)
AK = DOCS["access_key"]
SK = DOCS["secret_key"]
REGION = "us-east-1"
SIGNED_AT = datetime(2013, 5, 24, tzinfo=UTC)
CRED = Credential(AK, SK, root_principal(AK))


def lookup(access_key: str) -> Credential | None:
    return CRED if access_key == AK else None


def header_request(case: dict) -> RequestFacts:
    headers = dict(case["headers"])
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request, "
        f"SignedHeaders={case['signed_headers']}, Signature={case['signature']}"
    )
    return RequestFacts(case["method"], case["path"], case["query"], headers)


GET = header_request(DOCS["header_examples"][0])
PRESIGNED_CASE = DOCS["presigned_examples"][0]
PRESIGNED = RequestFacts(
    "GET", PRESIGNED_CASE["path"], PRESIGNED_CASE["query"], PRESIGNED_CASE["headers"]
)


def with_headers(facts: RequestFacts, **changes: str | None) -> RequestFacts:
    headers = dict(facts.headers)
    for name, value in changes.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return replace(facts, headers=headers)


def with_authorization(facts: RequestFacts, old: str, new: str) -> RequestFacts:
    return with_headers(facts, authorization=facts.headers["authorization"].replace(old, new))


def with_query(facts: RequestFacts, old: str, new: str) -> RequestFacts:
    assert old in facts.raw_query
    return replace(facts, raw_query=facts.raw_query.replace(old, new))


def refused(facts: RequestFacts, now: datetime = SIGNED_AT, find: Callable = lookup) -> S3Error:
    with pytest.raises(S3Error) as info:
        authenticate(facts, find, now, REGION)
    return info.value


# --- accepted ----------------------------------------------------------------


@pytest.mark.parametrize("case", DOCS["header_examples"], ids=lambda c: c["name"])
def test_s3_docs_header_example_is_accepted(case: dict) -> None:
    result = authenticate(header_request(case), lookup, SIGNED_AT, REGION)
    assert result.principal == CRED.principal
    assert result.auth_type == "REST-HEADER"
    assert result.signature_version == "AWS4-HMAC-SHA256"
    assert result.payload_hash == case["headers"]["x-amz-content-sha256"]
    assert result.signed_at == SIGNED_AT
    assert result.scope == "20130524/us-east-1/s3/aws4_request"
    assert result.signature == case["signature"]
    assert result.signing_key == bytes.fromhex(DOCS["signing_key"])


def test_s3_docs_presigned_example_is_accepted_until_it_expires() -> None:
    for now in (SIGNED_AT, SIGNED_AT + timedelta(seconds=86400)):
        result = authenticate(PRESIGNED, lookup, now, REGION)
        assert result.auth_type == "REST-QUERY-STRING"
        assert result.payload_hash == "UNSIGNED-PAYLOAD"
        assert result.signed_at == SIGNED_AT
        assert result.signature == PRESIGNED_CASE["signature"]


def test_header_auth_accepts_skew_of_exactly_fifteen_minutes_either_way() -> None:
    for delta in (timedelta(minutes=15), timedelta(minutes=-15)):
        assert authenticate(GET, lookup, SIGNED_AT + delta, REGION).auth_type == "REST-HEADER"


def test_header_auth_accepts_components_without_spaces_and_in_any_order() -> None:
    case = DOCS["header_examples"][0]
    facts = with_headers(
        GET,
        authorization=(
            f"AWS4-HMAC-SHA256 Signature={case['signature']},"
            f"Credential={AK}/20130524/us-east-1/s3/aws4_request,"
            f"SignedHeaders={case['signed_headers']}"
        ),
    )
    assert authenticate(facts, lookup, SIGNED_AT, REGION).principal == CRED.principal


def test_unsigned_content_type_and_user_agent_may_be_sent() -> None:
    facts = with_headers(GET, content_type="text/plain", user_agent="curl/8")
    assert authenticate(facts, lookup, SIGNED_AT, REGION).auth_type == "REST-HEADER"


# --- header auth: refusals, in S3's order -------------------------------------


def test_header_auth_without_content_sha256_is_invalid_request() -> None:
    err = refused(with_headers(GET, x_amz_content_sha256=None))
    assert (err.code, err.status) == ("InvalidRequest", 400)
    assert err.message == "Missing required header for this request: x-amz-content-sha256"
    assert err.fields == {}


@pytest.mark.parametrize("value", ["abc", "unsigned-payload", "e3b0" * 15 + "e3b", "g" * 64])
def test_header_auth_with_malformed_content_sha256_is_invalid_argument(value: str) -> None:
    err = refused(with_headers(GET, x_amz_content_sha256=value))
    assert (err.code, err.status) == ("InvalidArgument", 400)
    assert err.message == (
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value."
    )
    assert list(err.fields.items()) == [
        ("ArgumentName", "x-amz-content-sha256"),
        ("ArgumentValue", value),
    ]


@pytest.mark.parametrize(
    "changes",
    [
        {"x_amz_date": None},
        {"x_amz_date": "yesterday"},
        {"x_amz_date": "20130524T000000"},
        {"x_amz_date": "2013-05-24T00:00:00Z", "date": "Fri, 24 May 2013 00:00:00 GMT"},
        {"x_amz_date": None, "date": "not a date"},
    ],
    ids=["missing", "words", "no-Z", "extended-format", "bad-Date"],
)
def test_header_auth_without_a_readable_date_is_access_denied(changes: dict) -> None:
    err = refused(with_headers(GET, **changes))
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == "AWS authentication requires a valid Date or x-amz-date header"


@pytest.mark.parametrize(
    "delta", [timedelta(minutes=15, seconds=1), -timedelta(minutes=15, seconds=1)]
)
def test_header_auth_more_than_fifteen_minutes_off_is_request_time_too_skewed(
    delta: timedelta,
) -> None:
    now = SIGNED_AT + delta
    err = refused(GET, now=now)
    assert (err.code, err.status) == ("RequestTimeTooSkewed", 403)
    assert (
        err.message == "The difference between the request time and the current time is too large."
    )
    assert list(err.fields.items()) == [
        ("RequestTime", "20130524T000000Z"),
        ("ServerTime", now.strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("MaxAllowedSkewMilliseconds", "900000"),
    ]


def test_header_auth_skew_names_the_date_header_as_sent() -> None:
    facts = with_headers(GET, x_amz_date=None, date="Fri, 24 May 2013 00:00:00 GMT")
    err = refused(facts, now=SIGNED_AT + timedelta(hours=1))
    assert err.fields["RequestTime"] == "Fri, 24 May 2013 00:00:00 GMT"


MALFORMED = "The authorization header is malformed; "


@pytest.mark.parametrize(
    ("old", "new", "message", "fields"),
    [
        (", Signature=", ", Sig=", MALFORMED + parse.THREE_COMPONENTS, {}),
        (
            ", SignedHeaders=",
            ", Signature=x, SignedHeaders=",
            MALFORMED + parse.THREE_COMPONENTS,
            {},
        ),
        ("Credential=", "Credential", MALFORMED + parse.THREE_COMPONENTS, {}),
        (
            "/20130524/us-east-1/s3/aws4_request",
            "/20130524/us-east-1/s3",
            MALFORMED + "the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            {},
        ),
        (
            "/20130524/",
            "/2013052/",
            MALFORMED + 'incorrect date format "2013052". This date in the credential must be '
            'in the format "yyyyMMdd".',
            {},
        ),
        (
            "/20130524/",
            "/20131324/",
            MALFORMED + 'incorrect date format "20131324". This date in the credential must be '
            'in the format "yyyyMMdd".',
            {},
        ),
        (
            "/us-east-1/",
            "//",
            MALFORMED + "a non-empty region must be provided in the credential.",
            {},
        ),
        (
            "/us-east-1/",
            "/us-west-2/",
            MALFORMED + "the region 'us-west-2' is wrong; expecting 'us-east-1'",
            {"Region": "us-east-1"},
        ),
        (
            "/s3/",
            "/s4/",
            MALFORMED + 'incorrect service "s4". This endpoint belongs to "s3".',
            {},
        ),
        (
            "/aws4_request",
            "/aws4_reques",
            MALFORMED + 'incorrect terminal "aws4_reques". This endpoint uses "aws4_request".',
            {},
        ),
        (
            "/20130524/",
            "/20130523/",
            MALFORMED + "Invalid credential date. Date is not the same as X-Amz-Date.",
            {},
        ),
    ],
    ids=[
        "no-signature",
        "duplicate-component",
        "component-without-equals",
        "credential-four-parts",
        "credential-date-format",
        "credential-date-not-a-day",
        "empty-region",
        "wrong-region",
        "wrong-service",
        "wrong-terminal",
        "credential-date-not-request-date",
    ],
)
def test_header_auth_malformed_authorization_is_authorization_header_malformed(
    old: str, new: str, message: str, fields: dict
) -> None:
    err = refused(with_authorization(GET, old, new))
    assert (err.code, err.status) == ("AuthorizationHeaderMalformed", 400)
    assert err.message == message
    assert err.fields == fields


def test_header_auth_region_is_checked_before_service_and_date() -> None:
    err = refused(with_authorization(GET, "/20130524/us-east-1/s3/", "/20130523/eu-west-1/s4/"))
    assert err.fields == {"Region": "us-east-1"}


@pytest.mark.parametrize(
    ("changes", "signed", "not_signed"),
    [
        ({"x_amz_meta_a": "1"}, None, "x-amz-meta-a"),
        ({"content_md5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, None, "content-md5"),
        ({}, "range;x-amz-content-sha256;x-amz-date", "host"),
        ({}, "host;range;x-amz-content-sha256", "x-amz-date"),
        ({"x_amz_acl": "private", "x_amz_meta_a": "1"}, None, "x-amz-meta-a, x-amz-acl"),
    ],
    ids=["meta", "content-md5", "host", "x-amz-date", "two"],
)
def test_header_auth_with_a_header_that_must_be_signed_unsigned_is_access_denied(
    changes: dict, signed: str | None, not_signed: str
) -> None:
    facts = with_headers(GET, **changes)
    if signed is not None:
        facts = with_authorization(facts, "host;range;x-amz-content-sha256;x-amz-date", signed)
    err = refused(facts)
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == "There were headers present in the request which were not signed"
    assert err.fields == {"HeadersNotSigned": not_signed}


# What `String.join(", ", new HashSet<>(names))` printed on OpenJDK for each
# list of names added in order (the 14-name list makes the set resize).
JAVA_HASH_SET_ORDER = [
    (["x-amz-acl", "x-amz-meta-a"], "x-amz-meta-a, x-amz-acl"),
    (["a", "p"], "p, a"),
    (["a", "b", "c"], "a, b, c"),
    (
        ["content-md5", "host", "x-amz-acl", "x-amz-date"]
        + [f"x-amz-meta-{c}" for c in "abcdefghi"]
        + ["x-amz-security-token"],
        (
            "x-amz-acl, x-amz-date, x-amz-meta-i, x-amz-meta-h, x-amz-meta-e, x-amz-security-token, "
            "x-amz-meta-d, x-amz-meta-g, x-amz-meta-f, x-amz-meta-a, x-amz-meta-c, x-amz-meta-b, "
            "content-md5, host"
        ),
    ),
]


@pytest.mark.parametrize(("names", "java"), JAVA_HASH_SET_ORDER)
def test_headers_not_signed_are_listed_in_java_hash_set_order(names: list, java: str) -> None:
    assert ", ".join(verify.hash_set_order(sorted(names))) == java


def test_header_auth_with_unknown_access_key_is_invalid_access_key_id() -> None:
    err = refused(with_authorization(GET, f"Credential={AK}/", "Credential=AKIDUNKNOWN/"))
    assert (err.code, err.status) == ("InvalidAccessKeyId", 403)
    assert err.message == "The AWS Access Key Id you provided does not exist in our records."
    assert err.fields == {"AWSAccessKeyId": "AKIDUNKNOWN"}


def test_inactive_credential_is_invalid_access_key_id() -> None:
    inactive = replace(CRED, active=False)
    err = refused(GET, find=lambda key: inactive)
    assert err.code == "InvalidAccessKeyId"
    assert err.fields == {"AWSAccessKeyId": AK}


def test_header_auth_bad_signature_is_signature_does_not_match_with_s3_fields() -> None:
    case = DOCS["header_examples"][0]
    wrong = "0" * 64
    err = refused(with_authorization(GET, case["signature"], wrong))
    assert (err.code, err.status) == ("SignatureDoesNotMatch", 403)
    assert err.message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    sts = (
        "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        + case["canonical_request_sha256"]
    )
    assert list(err.fields) == [
        "AWSAccessKeyId",
        "StringToSign",
        "SignatureProvided",
        "StringToSignBytes",
        "CanonicalRequest",
        "CanonicalRequestBytes",
    ]
    assert err.fields["AWSAccessKeyId"] == AK
    assert err.fields["StringToSign"] == sts
    assert err.fields["SignatureProvided"] == wrong
    assert err.fields["StringToSignBytes"] == " ".join(f"{b:02x}" for b in sts.encode())
    assert err.fields["CanonicalRequest"] == case["canonical_request"]
    assert err.fields["CanonicalRequestBytes"].startswith("47 45 54 0a 2f 74 65 73 74")


def test_signature_in_upper_case_hex_is_refused() -> None:
    case = DOCS["header_examples"][0]
    err = refused(with_authorization(GET, case["signature"], case["signature"].upper()))
    assert err.code == "SignatureDoesNotMatch"


def test_a_signed_header_that_is_absent_is_signed_empty_and_refused() -> None:
    facts = with_headers(GET, range=None)
    err = refused(facts)
    assert err.code == "SignatureDoesNotMatch"
    assert "\nrange:\n" in err.fields["CanonicalRequest"]


# --- presigned: refusals, in S3's order ---------------------------------------

QUERY_ERROR = ("AuthorizationQueryParametersError", 400)


def test_presigned_with_another_algorithm_is_refused() -> None:
    err = refused(with_query(PRESIGNED, "AWS4-HMAC-SHA256", "AWS4-HMAC-SHA512"))
    assert (err.code, err.status) == QUERY_ERROR
    assert err.message == 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'


@pytest.mark.parametrize(
    "name",
    [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Signature",
        "X-Amz-Date",
        "X-Amz-SignedHeaders",
        "X-Amz-Expires",
    ],
)
def test_presigned_missing_a_parameter_is_authorization_query_parameters_error(name: str) -> None:
    pieces = [p for p in PRESIGNED.raw_query.split("&") if not p.startswith(name + "=")]
    err = refused(replace(PRESIGNED, raw_query="&".join(pieces)))
    assert (err.code, err.status) == QUERY_ERROR
    assert err.message == (
        "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
        "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
    )


@pytest.mark.parametrize(
    "value", ["2013-05-24T00:00:00Z", "20130524", "20130524T000000", "20131324T000000Z"]
)
def test_presigned_with_a_malformed_date_is_refused(value: str) -> None:
    err = refused(with_query(PRESIGNED, "X-Amz-Date=20130524T000000Z", f"X-Amz-Date={value}"))
    assert (err.code, err.status) == QUERY_ERROR
    assert err.message == "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "X-Amz-Expires should be a number"),
        ("", "X-Amz-Expires should be a number"),
        ("1.5", "X-Amz-Expires should be a number"),
        ("9223372036854775808", "X-Amz-Expires should be a number"),
        ("-1", "X-Amz-Expires must be non-negative"),
        ("-0", "X-Amz-Expires must be non-negative"),
        ("%2B60", "X-Amz-Expires should be a number"),  # "+60"; a bare + is a space
        ("%2B86400", "X-Amz-Expires should be a number"),
        ("+60", "X-Amz-Expires should be a number"),
        ("6_0", "X-Amz-Expires should be a number"),
        ("\u0666\u0660", "X-Amz-Expires should be a number"),  # Arabic-Indic "60"
        ("1" * 5000, "X-Amz-Expires should be a number"),
        ("0x3c", "X-Amz-Expires should be a number"),
        (
            "604801",
            (
                "X-Amz-Expires must be less than a week (in seconds); that is, the given "
                "X-Amz-Expires must be less than 604800 seconds"
            ),
        ),
    ],
)
def test_presigned_with_a_bad_expires_is_refused(value: str, message: str) -> None:
    err = refused(with_query(PRESIGNED, "X-Amz-Expires=86400", f"X-Amz-Expires={value}"))
    assert (err.code, err.status) == QUERY_ERROR
    assert err.message == message


@pytest.mark.parametrize("name", ["X-Amz-Signature", "X-Amz-Algorithm", "X-Amz-Credential",
                                  "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Expires"])
@pytest.mark.parametrize("second", ["same", "other"])
def test_presigned_with_a_repeated_auth_parameter_is_refused(name: str, second: str) -> None:
    value = next(p.partition("=")[2] for p in PRESIGNED.raw_query.split("&")
                 if p.startswith(name + "="))
    extra = f"{name}={value if second == 'same' else '0' + value}"
    for query in (f"{PRESIGNED.raw_query}&{extra}", f"{extra}&{PRESIGNED.raw_query}"):
        err = refused(replace(PRESIGNED, raw_query=query))
        assert (err.code, err.status) == QUERY_ERROR
        assert err.message.endswith(f"{name} is repeated.")


def test_presigned_with_a_repeated_signature_spelled_differently_is_refused() -> None:
    # Names are compared decoded: %53 is "S".
    signature = next(p for p in PRESIGNED.raw_query.split("&") if p.startswith("X-Amz-Sig"))
    err = refused(replace(PRESIGNED, raw_query=PRESIGNED.raw_query + "&X-Amz-%53ignature="
                          + signature.partition("=")[2]))
    assert (err.code, err.status) == QUERY_ERROR
    both = PRESIGNED.raw_query + "&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD"
    both += "&X-Amz-Content-SHA256=UNSIGNED-PAYLOAD"
    err = refused(replace(PRESIGNED, raw_query=both))
    assert err.message.endswith("X-Amz-Content-Sha256 is repeated.")


def test_a_repeated_parameter_refusal_is_not_cached_as_the_first_links_success() -> None:
    # The parse is memoised per query text: the good link still verifies
    # after its doubled form is refused, and the other way round.
    ok = authenticate(PRESIGNED, lookup, SIGNED_AT, REGION)
    doubled = replace(PRESIGNED, raw_query=PRESIGNED.raw_query + "&X-Amz-Signature=00")
    assert refused(doubled).code == "AuthorizationQueryParametersError"
    assert authenticate(PRESIGNED, lookup, SIGNED_AT, REGION) == ok
    assert refused(doubled).code == "AuthorizationQueryParametersError"


def test_presigned_expires_of_exactly_a_week_is_allowed() -> None:
    # The parameter passes; the signature (made over 86400) then does not.
    err = refused(with_query(PRESIGNED, "X-Amz-Expires=86400", "X-Amz-Expires=604800"))
    assert err.code == "SignatureDoesNotMatch"


def test_presigned_expires_of_zero_has_expired_in_its_first_second() -> None:
    facts = with_query(PRESIGNED, "X-Amz-Expires=86400", "X-Amz-Expires=0")
    for now in (SIGNED_AT, SIGNED_AT - timedelta(seconds=1)):
        err = refused(facts, now=now)
        assert (err.code, err.status, err.message) == ("AccessDenied", 403,
                                                       "Request has expired")


def test_presigned_dated_in_the_future_is_not_yet_valid() -> None:
    now = SIGNED_AT - timedelta(minutes=15, seconds=1)
    err = refused(PRESIGNED, now=now)
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == "Request is not yet valid"
    assert list(err.fields.items()) == [
        ("X-Amz-Date", "1369353600000"),
        ("Expires", "2013-05-25T00:00:00Z"),
        ("ServerTime", "2013-05-23T23:44:59Z"),
    ]


def test_presigned_a_little_in_the_future_is_accepted() -> None:
    now = SIGNED_AT - timedelta(minutes=15)
    assert authenticate(PRESIGNED, lookup, now, REGION).auth_type == "REST-QUERY-STRING"


def test_presigned_past_its_expiry_has_expired() -> None:
    now = SIGNED_AT + timedelta(seconds=86401)
    err = refused(PRESIGNED, now=now)
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.message == "Request has expired"
    assert list(err.fields.items()) == [
        ("X-Amz-Expires", "86400"),
        ("Expires", "2013-05-25T00:00:00Z"),
        ("ServerTime", "2013-05-25T00:00:01Z"),
    ]


def test_presigned_expiry_is_checked_before_the_signature() -> None:
    facts = with_query(PRESIGNED, "X-Amz-Signature=aeee", "X-Amz-Signature=0eee")
    assert refused(facts, now=SIGNED_AT + timedelta(days=2)).message == "Request has expired"


CREDENTIAL = "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
QUERY_CRED = "Error parsing the X-Amz-Credential parameter; "


@pytest.mark.parametrize(
    ("credential", "message", "fields"),
    [
        (
            f"{AK}%2F20130524%2Fus-east-1%2Fs3",
            QUERY_CRED + "the Credential is mal-formed; expecting "
            '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
            {},
        ),
        (
            f"{AK}%2F20130524%2Fus-west-2%2Fs3%2Faws4_request",
            QUERY_CRED + "the region 'us-west-2' is wrong; expecting 'us-east-1'",
            {"Region": "us-east-1"},
        ),
        (
            f"{AK}%2F20130524%2Fus-east-1%2Fs4%2Faws4_request",
            QUERY_CRED + 'incorrect service "s4". This endpoint belongs to "s3".',
            {},
        ),
        (
            f"{AK}%2F20130523%2Fus-east-1%2Fs3%2Faws4_request",
            (
                'Invalid credential date "20130523". This date is not the same as '
                'X-Amz-Date: "20130524".'
            ),
            {},
        ),
    ],
    ids=["four-parts", "wrong-region", "wrong-service", "date-not-request-date"],
)
def test_presigned_with_a_bad_credential_is_authorization_query_parameters_error(
    credential: str, message: str, fields: dict
) -> None:
    err = refused(with_query(PRESIGNED, CREDENTIAL, f"X-Amz-Credential={credential}"))
    assert (err.code, err.status) == QUERY_ERROR
    assert err.message == message
    assert err.fields == fields


def test_presigned_credential_with_raw_slashes_is_read_the_same() -> None:
    facts = with_query(
        PRESIGNED, CREDENTIAL, f"X-Amz-Credential={AK}/20130524/us-east-1/s3/aws4_request"
    )
    assert authenticate(facts, lookup, SIGNED_AT, REGION).auth_type == "REST-QUERY-STRING"


def test_presigned_with_an_unsigned_amz_header_is_access_denied() -> None:
    err = refused(with_headers(PRESIGNED, x_amz_acl="public-read"))
    assert (err.code, err.status) == ("AccessDenied", 403)
    assert err.fields == {"HeadersNotSigned": "x-amz-acl"}


def test_presigned_with_unknown_access_key_is_invalid_access_key_id() -> None:
    err = refused(with_query(PRESIGNED, f"Credential={AK}", "Credential=AKIDUNKNOWN"))
    assert (err.code, err.status) == ("InvalidAccessKeyId", 403)
    assert err.fields == {"AWSAccessKeyId": "AKIDUNKNOWN"}


def test_presigned_bad_signature_is_signature_does_not_match_without_x_amz_signature() -> None:
    facts = with_query(PRESIGNED, "X-Amz-Signature=aeee", "X-Amz-Signature=beee")
    err = refused(facts)
    assert (err.code, err.status) == ("SignatureDoesNotMatch", 403)
    assert err.fields["SignatureProvided"].startswith("beee")
    assert err.fields["StringToSign"].endswith(PRESIGNED_CASE["canonical_request_sha256"])
    assert "X-Amz-Signature" not in err.fields["CanonicalRequest"]
    assert err.fields["CanonicalRequest"].endswith("\nhost\nUNSIGNED-PAYLOAD")


def test_presigned_signs_the_content_sha256_header_a_request_sends() -> None:
    facts = with_headers(
        PRESIGNED,
        x_amz_content_sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    )
    err = refused(facts)
    assert err.code == "SignatureDoesNotMatch"
    assert err.fields["CanonicalRequest"].endswith(
        "\nhost\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )


def test_presigned_with_the_signature_changed_in_case_is_refused() -> None:
    upper = PRESIGNED_CASE["signature"].upper()
    facts = with_query(PRESIGNED, PRESIGNED_CASE["signature"], upper)
    assert refused(facts).code == "SignatureDoesNotMatch"
