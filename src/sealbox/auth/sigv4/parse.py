"""Parsing the SigV4 parts of a request: each function returns a frozen value
or raises the ``S3Error`` S3 answers with, in S3's words.

The messages were collected from S3's answers as other S3 implementations
record them (MinIO ``cmd/api-errors.go``, Ceph RGW, NooBaa, and test suites
that measured s3.us-east-1.amazonaws.com); each constant says which.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cached_property

from sealbox.errors import S3Error
from sealbox.http import dates as http_dates

from .canonical import ALGORITHM

SERVICE = "s3"
TERMINATOR = "aws4_request"
MAX_SKEW_SECONDS = 15 * 60
MAX_EXPIRES_SECONDS = 7 * 24 * 60 * 60  # 604800: S3 takes 604800 and refuses 604801
SERVER_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # how S3 writes ServerTime, Expires
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

HEADER_MALFORMED = "The authorization header is malformed; "
QUERY_CREDENTIAL = "Error parsing the X-Amz-Credential parameter; "
CREDENTIAL_FORMAT = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
THREE_COMPONENTS = (
    "the authorization header requires three components: Credential, SignedHeaders, and Signature."
)
NO_DATE = "AWS authentication requires a valid Date or x-amz-date header"
MISSING_HEADER = "Missing required header for this request: "
BAD_PAYLOAD_HASH = (
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value."
)
QUERY_PARAMETERS_REQUIRED = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)
QUERY_ALGORITHM = 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
QUERY_DATE = "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
# Ours: S3's wording for a repeated parameter is not recorded anywhere we found.
QUERY_REPEATED = "Query-string authentication version 4 takes each of its parameters once; "
EXPIRES_NOT_NUMBER = "X-Amz-Expires should be a number"
EXPIRES_NEGATIVE = "X-Amz-Expires must be non-negative"
EXPIRES_TOO_LONG = (
    "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires "
    "must be less than 604800 seconds"
)

# x-amz-content-sha256 values S3 takes besides 64 hex digits (either case).
PAYLOAD_KEYWORDS = frozenset(
    {
        "UNSIGNED-PAYLOAD",
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_REQUIRED_QUERY_PARAMETERS = frozenset({
    "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
    "X-Amz-SignedHeaders", "X-Amz-Expires"})
# The parameters a presigned URL's authentication reads. Each must come once:
# the first value is checked while ``canonical_query`` leaves every
# X-Amz-Signature out of what is signed, so a second one would ride along
# unsigned, and a repeated Expires or Date would be read one way here and
# signed both ways. The two spellings of the payload hash are one parameter.
AUTH_QUERY_PARAMETERS = {
    "X-Amz-Algorithm": "X-Amz-Algorithm",
    "X-Amz-Credential": "X-Amz-Credential",
    "X-Amz-Signature": "X-Amz-Signature",
    "X-Amz-Date": "X-Amz-Date",
    "X-Amz-SignedHeaders": "X-Amz-SignedHeaders",
    "X-Amz-Expires": "X-Amz-Expires",
    "X-Amz-Security-Token": "X-Amz-Security-Token",
    "X-Amz-Content-Sha256": "X-Amz-Content-Sha256",
    "X-Amz-Content-SHA256": "X-Amz-Content-Sha256",
}


@dataclass(frozen=True)
class CredentialScope:
    """``AKID/YYYYMMDD/region/s3/aws4_request``, split."""

    access_key: str
    date: str
    region: str
    service: str
    terminator: str

    @cached_property  # a presigned URL's scope is parsed once a day per key (verify._query_scope)
    def scope(self) -> str:
        """The scope line of the string to sign (everything after the access key)."""
        return f"{self.date}/{self.region}/{self.service}/{self.terminator}"


@dataclass(frozen=True)
class AuthorizationHeader:
    """The three components of ``Authorization: AWS4-HMAC-SHA256 …``."""

    algorithm: str
    credential: str
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)


@dataclass(frozen=True)
class PresignedParams:
    """The ``X-Amz-*`` parameters of a presigned URL, as sent (decoded)."""

    algorithm: str
    credential: str
    amz_date: str
    signed_at: datetime
    expires_raw: str
    expires: int
    signed_headers: tuple[str, ...]
    signature: str = field(repr=False)
    content_sha256: str | None


def format_server_time(when: datetime) -> str:
    """A time as S3 writes ``ServerTime`` and ``Expires``: ``2013-05-24T00:00:00Z``."""
    return when.astimezone(UTC).strftime(SERVER_TIME_FORMAT)


def parse_amz_date(text: str) -> datetime | None:
    """``20130524T000000Z`` → an aware UTC datetime, or None."""
    # The shape checked here (ASCII digits, "T", "Z", an hour below 24, which
    # newer Pythons would read as the next midnight), the date's values by
    # the C parser: a regex and six int() cost a tenth of verifying a
    # presigned URL never seen before.
    if (len(text) != 16 or text[8] != "T" or text[15] != "Z" or not text.isascii()
            or not text[:8].isdigit() or not text[9:15].isdigit() or text[9:11] > "23"):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def parse_http_date(text: str) -> datetime | None:
    """A ``Date`` header → an aware UTC datetime, or None."""
    try:
        return http_dates.parse_http_date(text)
    except ValueError:
        return None


def parse_request_date(text: str) -> datetime | None:
    """An ``x-amz-date``/``Date`` value: ISO 8601 basic, or an HTTP date."""
    found = parse_amz_date(text)
    if found is not None:
        return found
    return parse_http_date(text)


def check_payload_hash(headers: Mapping[str, str]) -> str:
    """The ``x-amz-content-sha256`` a header-signed request must carry, checked."""
    value = headers.get("x-amz-content-sha256")
    if value is None:
        raise S3Error("InvalidRequest", MISSING_HEADER + "x-amz-content-sha256")
    if value not in PAYLOAD_KEYWORDS and not _HEX64.fullmatch(value):
        raise S3Error(
            "InvalidArgument",
            BAD_PAYLOAD_HASH,
            ArgumentName="x-amz-content-sha256",
            ArgumentValue=value,
        )
    return value


def parse_authorization(value: str) -> AuthorizationHeader:
    """Split ``AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…``.

    The caller has already checked the scheme. Components may come in any
    order, with or without a space after each comma; each must appear once.
    """
    algorithm, _, rest = value.partition(" ")
    components: dict[str, str] = {}
    for part in rest.split(","):
        name, eq, content = part.strip().partition("=")
        if not eq or name not in ("Credential", "SignedHeaders", "Signature"):
            raise S3Error("AuthorizationHeaderMalformed", HEADER_MALFORMED + THREE_COMPONENTS)
        if name in components:
            raise S3Error("AuthorizationHeaderMalformed", HEADER_MALFORMED + THREE_COMPONENTS)
        components[name] = content
    if len(components) != 3:
        raise S3Error("AuthorizationHeaderMalformed", HEADER_MALFORMED + THREE_COMPONENTS)
    return AuthorizationHeader(
        algorithm=algorithm,
        credential=components["Credential"],
        signed_headers=tuple(components["SignedHeaders"].split(";")),
        signature=components["Signature"],
    )


def _is_credential_date(text: str) -> bool:
    if not re.fullmatch(r"[0-9]{8}", text):
        return False
    try:
        date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return False
    return True


def parse_credential(
    credential: str, region: str, *, code: str, prefix: str, service: str = SERVICE
) -> CredentialScope:
    """Split and check a credential scope, in the order S3 checks it: the
    number of parts, the date's format, the region, the service, the
    terminator. ``code``/``prefix`` say whether it came from the header
    (AuthorizationHeaderMalformed) or the query (AuthorizationQueryParametersError).
    ``service`` is the service the endpoint answers as (``iam`` for the IAM
    Query API on the same port).
    """
    parts = credential.split("/")
    if len(parts) != 5:
        raise S3Error(code, prefix + CREDENTIAL_FORMAT)
    access_key, scope_date, scope_region, scope_service, terminator = parts
    if not _is_credential_date(scope_date):
        raise S3Error(
            code,
            prefix + f'incorrect date format "{scope_date}". This date in the credential '
            'must be in the format "yyyyMMdd".',
        )
    if not scope_region:
        raise S3Error(code, prefix + "a non-empty region must be provided in the credential.")
    if scope_region != region:
        raise S3Error(
            code,
            prefix + f"the region '{scope_region}' is wrong; expecting '{region}'",
            Region=region,
        )
    if scope_service != service:
        raise S3Error(
            code,
            prefix + f'incorrect service "{scope_service}". This endpoint belongs to "{service}".',
        )
    if terminator != TERMINATOR:
        raise S3Error(
            code,
            prefix + f'incorrect terminal "{terminator}". This endpoint uses "{TERMINATOR}".',
        )
    return CredentialScope(access_key, scope_date, scope_region, scope_service, terminator)


def _parse_expires(text: str) -> int:
    """``X-Amz-Expires``: decimal digits that fit a Java long (S3's type), or
    the refusal S3 gives. A sign is refused: ``+60`` is no signer's output
    and would be a second spelling of ``60``; ``-1`` is negative."""
    # ASCII digits only: str.isdigit alone takes other scripts' digits, and
    # int() takes those, signs, spaces and underscores.
    if not (text.isascii() and text.isdigit()):
        if text[:1] == "-" and text[1:].isascii() and text[1:].isdigit():
            raise S3Error("AuthorizationQueryParametersError", EXPIRES_NEGATIVE)
        raise S3Error("AuthorizationQueryParametersError", EXPIRES_NOT_NUMBER)
    # Length first: int() refuses strings of over 4300 digits with ValueError.
    if len(text) > 19 or (value := int(text)) >= 2**63:
        raise S3Error("AuthorizationQueryParametersError", EXPIRES_NOT_NUMBER)
    return value


def presigned_query(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """The first value of each parameter of a presigned URL's query, refusing
    a repeated authentication parameter (``AUTH_QUERY_PARAMETERS``) with
    ``AuthorizationQueryParametersError``."""
    first = dict(pairs)
    if len(first) == len(pairs) and not (
            "X-Amz-Content-Sha256" in first and "X-Amz-Content-SHA256" in first):
        return first  # no name repeated, nor one parameter under its two spellings
    first = {}
    seen: set[str] = set()
    for name, value in pairs:
        auth_name = AUTH_QUERY_PARAMETERS.get(name)
        if auth_name is not None:
            if auth_name in seen:
                raise S3Error("AuthorizationQueryParametersError",
                              QUERY_REPEATED + f"{auth_name} is repeated.")
            seen.add(auth_name)
        first.setdefault(name, value)
    return first


def parse_presigned(query: Mapping[str, str]) -> PresignedParams:
    """Check the ``X-Amz-*`` parameters of a presigned URL in S3's order: the
    algorithm, that all six are there, the date, then ``X-Amz-Expires``.
    ``query`` holds the first value of each decoded parameter name
    (``presigned_query``, which has refused repeated ones)."""
    algorithm = query.get("X-Amz-Algorithm")
    if algorithm is not None and algorithm != ALGORITHM:
        raise S3Error("AuthorizationQueryParametersError", QUERY_ALGORITHM)
    if not query.keys() >= _REQUIRED_QUERY_PARAMETERS:
        raise S3Error("AuthorizationQueryParametersError", QUERY_PARAMETERS_REQUIRED)
    amz_date = query["X-Amz-Date"]
    signed_at = parse_amz_date(amz_date)
    if signed_at is None:
        raise S3Error("AuthorizationQueryParametersError", QUERY_DATE)
    expires_raw = query["X-Amz-Expires"]
    expires = _parse_expires(expires_raw)
    if expires > MAX_EXPIRES_SECONDS:
        raise S3Error("AuthorizationQueryParametersError", EXPIRES_TOO_LONG)
    return PresignedParams(
        algorithm=query["X-Amz-Algorithm"],
        credential=query["X-Amz-Credential"],
        amz_date=amz_date,
        signed_at=signed_at,
        expires_raw=expires_raw,
        expires=expires,
        signed_headers=tuple(query["X-Amz-SignedHeaders"].split(";")),
        signature=query["X-Amz-Signature"],
        content_sha256=query.get("X-Amz-Content-Sha256", query.get("X-Amz-Content-SHA256")),
    )
