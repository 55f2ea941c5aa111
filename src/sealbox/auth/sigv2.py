"""AWS Signature Version 2, for legacy clients: ``Authorization: AWS AKID:sig``
and presigned query strings (``AWSAccessKeyId``, ``Signature``, ``Expires``).

botocore still presigns S3 URLs with V2 unless told otherwise, so the
default ``generate_presigned_url`` output depends on this. The string to
sign is the one of "Signing and authenticating REST requests" in the S3
developer guide (the legacy V2 page):

    VERB \\n Content-MD5 \\n Content-Type \\n Date-or-Expires \\n
    CanonicalizedAmzHeaders CanonicalizedResource

Pure: the clock and the key lookup are parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from datetime import UTC, datetime

from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import AuthResult, Credential
from sealbox.auth.sigv4 import canonical, parse
from sealbox.errors import S3Error

Lookup = Callable[[str], Credential | None]
ALGORITHM = "AWS"

# The query parameters that are part of the canonical resource, as S3 (and
# botocore's HmacV1Auth) list them; any other parameter is not signed.
SIGNED_SUBRESOURCES = frozenset(
    ["accelerate", "acl", "cors", "defaultObjectAcl", "delete", "lifecycle", "location", "logging", "notification", "partNumber", "policy", "requestPayment", "response-cache-control", "response-content-disposition", "response-content-encoding", "response-content-language", "response-content-type", "response-expires", "restore", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning", "versions", "website", "replication", "analytics", "metrics", "inventory", "select", "select-type", "object-lock", "storageClass"]
)
QUERY_PARAMETERS = ("AWSAccessKeyId", "Signature", "Expires")


def canonical_resource(raw_path: str, raw_query: str, bucket: str | None) -> str:
    """``/bucket`` (virtual-host only) + the path as sent + signed subresources
    sorted by name, with their values decoded (as botocore sends them)."""
    resource = (f"/{bucket}" if bucket else "") + raw_path
    subresources = sorted(
        (name, value, has_value)
        for name, value, has_value in _query_items(raw_query)
        if name in SIGNED_SUBRESOURCES
    )
    if subresources:
        resource += "?" + "&".join(f"{n}={v}" if has else n for n, v, has in subresources)
    return resource


def _query_items(raw_query: str) -> list[tuple[str, str, bool]]:
    """(name, value, has a value) of each parameter. An empty value counts as
    none (``?uploads=`` signs as ``?uploads``): rclone sends the ``=`` but
    signs without it, and AWS's V2 guide appends a value "if it has one"."""
    return [(name, value, bool(value)) for name, value in canonical.parse_query(raw_query)]


def string_to_sign(facts: RequestFacts, date_line: str, bucket: str | None) -> str:
    headers = facts.headers
    amz = sorted(
        (name, value.strip())
        for name, value in headers.items()
        if name.startswith("x-amz-")
    )
    amz_lines = "".join(f"{name}:{value}\n" for name, value in amz)
    return "\n".join([
        facts.method,
        headers.get("content-md5", ""),
        headers.get("content-type", ""),
        date_line,
        amz_lines + canonical_resource(facts.raw_path, facts.raw_query, bucket),
    ])


def sign(secret: str, text: str) -> str:
    """The V2 signature of ``text``: base64 of its HMAC-SHA1 under ``secret``."""
    digest = hmac.new(secret.encode(), text.encode("utf-8", "surrogateescape"), hashlib.sha1)
    return base64.b64encode(digest.digest()).decode()


def _candidates(facts: RequestFacts, date_line: str, bucket: str | None) -> list[str]:
    """The strings to sign a request may have been signed with.

    A path-style bucket request (``PUT /bucket``) is signed by botocore with
    the resource ``/bucket/`` (its auth path), and S3 accepts that, so both
    forms are tried for a bare bucket path.
    """
    texts = [string_to_sign(facts, date_line, bucket)]
    path = facts.raw_path
    if bucket is None and path.count("/") == 1 and len(path) > 1:
        slashed = RequestFacts(facts.method, path + "/", facts.raw_query, facts.headers)
        texts.append(string_to_sign(slashed, date_line, bucket))
    return texts


def _check(lookup: Lookup, access_key: str, provided: str, texts: list[str], auth_type: str,
           signed_at: datetime | None) -> AuthResult:
    credential = lookup(access_key)
    if credential is None or not credential.active:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    provided_bytes = provided.encode("utf-8", "surrogateescape")
    matched = False
    for text in texts:  # every candidate is compared, in constant time each
        expected = sign(credential.secret_key, text)
        matched |= hmac.compare_digest(expected.encode(), provided_bytes)
    if not matched:
        text = texts[0]
        raise S3Error(
            "SignatureDoesNotMatch",
            AWSAccessKeyId=access_key,
            StringToSign=text,
            SignatureProvided=provided,
            StringToSignBytes=canonical.hex_bytes(text),
        )
    return AuthResult(
        principal=credential.principal,
        auth_type=auth_type,  # type: ignore[arg-type]
        signature_version=ALGORITHM,
        payload_hash="UNSIGNED-PAYLOAD",
        signed_at=signed_at,
        signature=provided,  # a URL's signature identifies it (revocation, sealbox.links)
    )


def verify_header(facts: RequestFacts, lookup: Lookup, now: datetime,
                  bucket: str | None = None) -> AuthResult:
    """Verify ``Authorization: AWS AKID:signature``."""
    value = facts.headers["authorization"]
    credentials = value.partition(" ")[2]
    access_key, colon, provided = credentials.rpartition(":")
    if not colon or not access_key or not provided:
        raise S3Error("InvalidArgument", "AWS authorization header is invalid.  Expected "
                      "AwsAccessKeyId:signature", ArgumentName="Authorization",
                      ArgumentValue=value)
    headers = facts.headers
    raw_date = headers.get("x-amz-date") or headers.get("date", "")
    signed_at = parse.parse_request_date(raw_date)
    if signed_at is None:
        raise S3Error("AccessDenied", parse.NO_DATE)
    if abs((now - signed_at).total_seconds()) > parse.MAX_SKEW_SECONDS:
        raise S3Error("RequestTimeTooSkewed", RequestTime=raw_date,
                      ServerTime=parse.format_server_time(now),
                      MaxAllowedSkewMilliseconds=str(parse.MAX_SKEW_SECONDS * 1000))
    # With x-amz-date present, the Date line of the string to sign is empty.
    date_line = "" if "x-amz-date" in headers else headers.get("date", "")
    texts = _candidates(facts, date_line, bucket)
    return _check(lookup, access_key, provided, texts, "REST-HEADER", signed_at)


def verify_query(facts: RequestFacts, lookup: Lookup, now: datetime,
                 bucket: str | None = None) -> AuthResult:
    """Verify a V2 presigned URL (``AWSAccessKeyId``, ``Signature``, ``Expires``)."""
    params: dict[str, str] = {}
    for name, value in canonical.parse_query(facts.raw_query):
        if name in params and name in QUERY_PARAMETERS:
            # One of each: the first Signature is compared and the first
            # Expires signed, so a second would be carried along unchecked.
            # Refused in the words of the other refusals of these parameters
            # (S3's V2 query refusals are all AccessDenied).
            raise S3Error("AccessDenied", "Query-string authentication requires the Signature, "
                          f"Expires and AWSAccessKeyId parameters once each; {name} is repeated")
        params.setdefault(name, value)
    if any(name not in params for name in QUERY_PARAMETERS):
        raise S3Error("AccessDenied", "Query-string authentication requires the Signature, "
                      "Expires and AWSAccessKeyId parameters")
    expires_text = params["Expires"]
    # ASCII digits only: str.isdigit() is true of "²" and "٦٠" too, which
    # int() then refuses or reads.
    if not (expires_text.isascii() and expires_text.isdigit()) or len(expires_text) > 12:
        raise S3Error("AccessDenied", "Invalid date (should be seconds since epoch): "
                      f"{expires_text[:64]}")
    expires = datetime.fromtimestamp(int(expires_text), tz=UTC)
    if now > expires:
        raise S3Error("AccessDenied", "Request has expired",
                      Expires=parse.format_server_time(expires),
                      ServerTime=parse.format_server_time(now))
    # The date line of a presigned V2 request is the Expires value.
    texts = _candidates(facts, expires_text, bucket)
    return _check(lookup, params["AWSAccessKeyId"], params["Signature"], texts,
                  "REST-QUERY-STRING", None)
