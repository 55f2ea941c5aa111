"""Verifying a SigV4 request: ``Authorization`` header or presigned query.

Both checks run their steps in the order S3 does, so a request with two
faults gets the answer S3 would give. That order, as measured against
s3.us-east-1.amazonaws.com by other S3 implementations' test suites:

* header: ``x-amz-content-sha256`` present and well-formed; a readable
  date (``x-amz-date``, else ``Date``); clock skew; the three components;
  the credential scope; the scope's date; headers that must be signed; the
  access key; the signature.
* query: ``X-Amz-Algorithm``; all six parameters; the date; ``X-Amz-Expires``;
  not yet valid; expired; the credential scope; its date; headers that must
  be signed; the access key; the signature.

The clock (``now``) and the key table (``lookup``) are parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import AuthResult, AuthType, Credential
from sealbox.errors import S3Error

from . import canonical, keys, parse

Lookup = Callable[[str], Credential | None]

NOT_SIGNED = "There were headers present in the request which were not signed"
NOT_YET_VALID = "Request is not yet valid"
EXPIRED = "Request has expired"
HEADER_CREDENTIAL_DATE = "Invalid credential date. Date is not the same as X-Amz-Date."


class _Signed(NamedTuple):
    """What both forms hand to the signature check (a tuple: built per request)."""

    auth_type: AuthType
    algorithm: str
    date_line: str
    signed_at: datetime
    scope: parse.CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    payload_hash: str
    query: str


def verify_header(
    facts: RequestFacts,
    lookup: Lookup,
    now: datetime,
    region: str,
    *,
    service: str = parse.SERVICE,
    body_sha256: str | None = None,
) -> AuthResult:
    """Verify ``Authorization: AWS4-HMAC-SHA256 …`` (the scheme is already checked).

    ``service`` and ``body_sha256`` serve the other AWS APIs on this port
    (IAM): they sign with their own service name, and their payload line is
    the SHA-256 of the body itself, with no ``x-amz-content-sha256`` header
    (botocore's ``SigV4Auth``; only S3 sends that header). Given
    ``body_sha256``, the header is neither required nor believed.
    """
    headers = facts.headers
    payload_hash = parse.check_payload_hash(headers) if body_sha256 is None else body_sha256
    date_line = headers["x-amz-date"] if "x-amz-date" in headers else headers.get("date", "")
    signed_at = parse.parse_request_date(date_line)
    if signed_at is None:
        raise S3Error("AccessDenied", parse.NO_DATE)
    if abs((now - signed_at).total_seconds()) > parse.MAX_SKEW_SECONDS:
        raise S3Error(
            "RequestTimeTooSkewed",
            RequestTime=date_line,
            ServerTime=parse.format_server_time(now),
            MaxAllowedSkewMilliseconds=str(parse.MAX_SKEW_SECONDS * 1000),
        )
    header = parse.parse_authorization(headers["authorization"])
    scope = parse.parse_credential(
        header.credential,
        region,
        code="AuthorizationHeaderMalformed",
        prefix=parse.HEADER_MALFORMED,
        service=service,
    )
    if scope.date != signed_at.strftime("%Y%m%d"):
        raise S3Error(
            "AuthorizationHeaderMalformed", parse.HEADER_MALFORMED + HEADER_CREDENTIAL_DATE
        )
    check_headers_signed(headers, header.signed_headers)
    return _verify_signature(
        facts,
        _credential(lookup, scope.access_key),
        _Signed(
            auth_type="REST-HEADER",
            algorithm=header.algorithm,
            date_line=date_line,
            signed_at=signed_at,
            scope=scope,
            signed_headers=header.signed_headers,
            signature=header.signature,
            payload_hash=payload_hash,
            query=canonical.canonical_query(facts.raw_query),
        ),
    )


def verify_presigned(
    facts: RequestFacts,
    lookup: Lookup,
    now: datetime,
    region: str,
    *,
    service: str = parse.SERVICE,
    body_sha256: str | None = None,
) -> AuthResult:
    """Verify a presigned URL (``X-Amz-Algorithm=AWS4-HMAC-SHA256&…`` in the query).

    ``service`` and ``body_sha256`` as for ``verify_header``."""
    params, query = presigned_parts(facts.raw_query)
    age = (now - params.signed_at).total_seconds()
    fields: dict[str, Any]
    if -age > parse.MAX_SKEW_SECONDS:
        # S3 names the date in epoch milliseconds here, and the expiry as a time.
        fields = {
            "X-Amz-Date": str(int(params.signed_at.timestamp() * 1000)),
            "Expires": _expires_at(params),
            "ServerTime": parse.format_server_time(now),
        }
        raise S3Error("AccessDenied", NOT_YET_VALID, **fields)
    # Valid through X-Amz-Date + X-Amz-Expires; X-Amz-Expires=0 is a URL
    # valid for no time at all, refused as expired even in its first second
    # (S3's parameter is a duration; s3s-project/s3s#645 does the same).
    if age > params.expires or params.expires == 0:
        fields = {
            "X-Amz-Expires": params.expires_raw,
            "Expires": _expires_at(params),
            "ServerTime": parse.format_server_time(now),
        }
        raise S3Error("AccessDenied", EXPIRED, **fields)
    scope = _query_scope(params.credential, region, service)
    if scope.date != params.amz_date[:8]:
        raise S3Error(
            "AuthorizationQueryParametersError",
            f'Invalid credential date "{scope.date}". This date is not the same as '
            f'X-Amz-Date: "{params.amz_date[:8]}".',
        )
    check_headers_signed(facts.headers, params.signed_headers)
    # The payload line is the hash the URL carries as a parameter, else the
    # x-amz-content-sha256 header the request sends, else UNSIGNED-PAYLOAD
    # (S3 signs "you don't know anything about the payload" as that keyword).
    payload_hash = params.content_sha256 if body_sha256 is None else body_sha256
    if payload_hash is None:
        payload_hash = facts.headers.get("x-amz-content-sha256", canonical.UNSIGNED_PAYLOAD)
    credential = _credential(lookup, scope.access_key)
    headers_block = canonical.canonical_headers(facts.headers, params.signed_headers)
    # Everything the signature covers, as sent, and who signed: a link seen
    # before with the same credential object needs no HMAC again.
    memo_key = (facts.raw_query, facts.raw_path, facts.method, headers_block, payload_hash,
                region, service)
    hit = _VERIFIED.get(memo_key)
    if hit is not None and hit[0] is credential:
        return hit[1]
    result = _verify_signature(
        facts,
        credential,
        _Signed(
            auth_type="REST-QUERY-STRING",
            algorithm=params.algorithm,
            date_line=params.amz_date,
            signed_at=params.signed_at,
            scope=scope,
            signed_headers=params.signed_headers,
            signature=params.signature,
            payload_hash=payload_hash,
            query=query,
        ),
        headers_block,
    )
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[memo_key] = (credential, result)
    return result


# A link is usually fetched more than once (retries, ranges, one object for
# many readers): what depends on the query string alone is worked out once.
# Pure functions of their arguments, bounded, holding nothing secret (the
# signature in a link is not a secret to whoever holds the link, and is
# only compared, never trusted, from here).
# Links whose signature checked out, by everything the signature covers as
# sent (the query holds the signature itself), with the credential object
# that checked them: a hit stands only for that same object, so a key
# disabled, rotated or deleted (the access gate then hands out another
# object, or none) is checked afresh. Expiry and the other request checks
# run before the lookup, every time. Only successes are kept; bounded.
_VERIFIED: dict[tuple[str, ...], tuple[Credential, AuthResult]] = {}
_VERIFIED_MAX = 1024


@lru_cache(maxsize=1024)
def presigned_parts(raw_query: str) -> tuple[parse.PresignedParams, str]:
    """The ``X-Amz-*`` parameters of a presigned URL (checked, or the
    ``S3Error`` S3 gives) and its canonical query (without the signature)."""
    # The text reading is the one the request view and the mechanism's
    # choice already made (a cache hit); the bytes one is for the canonical query.
    params = parse.parse_presigned(parse.presigned_query(canonical.parse_query(raw_query)))
    return params, canonical.canonical_query(raw_query, exclude=("X-Amz-Signature",))


@lru_cache(maxsize=256)
def _query_scope(credential: str, region: str, service: str) -> parse.CredentialScope:
    return parse.parse_credential(credential, region, code="AuthorizationQueryParametersError",
                                  prefix=parse.QUERY_CREDENTIAL, service=service)


def _expires_at(params: parse.PresignedParams) -> str:
    return parse.format_server_time(params.signed_at + timedelta(seconds=params.expires))


def _must_be_signed(name: str) -> bool:
    # S3 refuses Host, Content-MD5 and every x-amz-* header but
    # x-amz-content-sha256 when they are sent and not signed; other headers
    # (Content-Type, Range, Date, If-*, …) may go unsigned.
    if name == "host" or name == "content-md5":
        return True
    return name.startswith("x-amz-") and name != "x-amz-content-sha256"


def check_headers_signed(headers: Mapping[str, str], signed_headers: Sequence[str]) -> None:
    """Refuse a request that sends a header S3 requires to be signed and leaves it out.

    ``headers`` has lower-case names (``RequestFacts``). The usual request
    names each such header in ``signed_headers`` as sent, which one pass
    finds (a presigned URL's ``host``); the lowered set, the names and their
    order are built only when one is not found so."""
    for name in headers:
        if name not in signed_headers and _must_be_signed(name):
            break
    else:
        return
    signed = {name.lower() for name in signed_headers}
    missing = sorted(name for name in headers if name not in signed and _must_be_signed(name))
    if missing:
        raise S3Error(
            "AccessDenied", NOT_SIGNED, HeadersNotSigned=", ".join(hash_set_order(missing))
        )


def hash_set_order(names: list[str]) -> list[str]:
    """``names`` (sorted) in the order S3 lists them in ``HeadersNotSigned``.

    S3 is a Java service and lists the names as a ``java.util.HashSet``
    filled in name order iterates them: by hash bucket (``String.hashCode``
    spread as ``h ^ (h >>> 16)``, 16 buckets doubled while more than 3/4
    full), in insertion order within a bucket.
    """
    capacity = 16
    while len(names) > capacity * 3 // 4:
        capacity *= 2

    def bucket(name: str) -> int:
        h = 0
        for char in name:
            h = (31 * h + ord(char)) & 0xFFFFFFFF
        return (h ^ (h >> 16)) & (capacity - 1)

    return sorted(names, key=bucket)


def _credential(lookup: Lookup, access_key: str) -> Credential:
    credential = lookup(access_key)
    if credential is None or not credential.active:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return credential


def _verify_signature(facts: RequestFacts, credential: Credential, signed: _Signed,
                      headers_block: str | None = None) -> AuthResult:
    access_key = signed.scope.access_key
    if headers_block is None:
        headers_block = canonical.canonical_headers(facts.headers, signed.signed_headers)
    canonical_request = canonical.canonical_request(
        facts.method,
        canonical.canonical_uri(facts.raw_path),
        signed.query,
        headers_block,
        signed.signed_headers,
        signed.payload_hash,
    )
    string_to_sign = canonical.string_to_sign(
        signed.date_line, signed.scope.scope, canonical_request, signed.algorithm
    )
    key = keys.credential_signing_key(
        credential, signed.scope.date, signed.scope.region, signed.scope.service
    )
    expected = keys.sign(key, string_to_sign)
    if not keys.signatures_match(expected, signed.signature):
        raise S3Error(
            "SignatureDoesNotMatch",
            AWSAccessKeyId=access_key,
            StringToSign=string_to_sign,
            SignatureProvided=signed.signature,
            StringToSignBytes=canonical.hex_bytes(string_to_sign),
            CanonicalRequest=canonical_request,
            CanonicalRequestBytes=canonical.hex_bytes(canonical_request),
        )
    return AuthResult(
        principal=credential.principal,
        auth_type=signed.auth_type,
        signature_version=canonical.ALGORITHM,
        payload_hash=signed.payload_hash,
        signed_at=signed.signed_at,
        scope=signed.scope.scope,
        signature=signed.signature,
        signing_key=key,
    )
