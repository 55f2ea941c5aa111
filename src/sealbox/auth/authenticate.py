"""Who is asking: pick the authentication mechanism a request uses and run it.

``authenticate`` is the one entry point the server calls. It is pure: the
clock and the key table are arguments. Mechanisms, checked in S3's order:

1. an ``Authorization`` header beside ``X-Amz-Algorithm`` or ``Signature``
   in the query is refused (one mechanism only);
2. ``Authorization: AWS4-HMAC-SHA256 …`` → SigV4 header auth;
   ``Authorization: AWS …`` → SigV2 (``sigv2.verify_header``);
   any other scheme → ``InvalidArgument``;
3. ``X-Amz-Algorithm``/``X-Amz-Credential``/``X-Amz-Signature`` in the
   query → SigV4 presigned URL;
   ``Signature``/``AWSAccessKeyId`` in the query → SigV2 presigned;
4. nothing → the anonymous principal, which the access layer then judges.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sealbox.auth import sigv2
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import ANONYMOUS_AUTH, AuthResult, Credential
from sealbox.auth.sigv4 import canonical, verify
from sealbox.errors import S3Error

ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
)
ONE_SPACE = "Authorization header is invalid -- one and only one ' ' (space) required"
UNSUPPORTED_TYPE = "Unsupported Authorization Type"

_V4_QUERY_NAMES = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
_V2_QUERY_NAMES = ("Signature", "AWSAccessKeyId")


@lru_cache(maxsize=256)
def _names(raw_query: str) -> frozenset[str]:
    """The parameter names of a query (cached: a link's query repeats)."""
    return frozenset(map(itemgetter(0), canonical.parse_query(raw_query)))


def authenticate(
    facts: RequestFacts,
    lookup: Callable[[str], Credential | None],
    now: datetime,
    region: str,
    *,
    virtual_bucket: str | None = None,
) -> AuthResult:
    """Authenticate one request, or raise the ``S3Error`` S3 would answer.

    ``virtual_bucket`` is the bucket named by the Host header of a
    virtual-host style request: SigV2 signs ``/bucket/key`` even then.

    ``lookup`` maps an access key id to its credential (``None`` if unknown);
    ``now`` is an aware UTC datetime; ``region`` is the region this server
    presents (credential scopes must name it).
    """
    names = _names(facts.raw_query)
    header = facts.headers.get("authorization")
    if header is not None and ("X-Amz-Algorithm" in names or "Signature" in names):
        raise S3Error(
            "InvalidArgument", ONE_MECHANISM, ArgumentName="Authorization", ArgumentValue=header
        )
    if header:
        scheme, space, _ = header.partition(" ")
        argument: dict[str, Any] = {"ArgumentName": "Authorization", "ArgumentValue": header}
        if not space:
            raise S3Error("InvalidArgument", ONE_SPACE, **argument)
        if scheme.upper() == canonical.ALGORITHM:
            return verify.verify_header(facts, lookup, now, region)
        if scheme.upper() == "AWS":
            return sigv2.verify_header(facts, lookup, now, virtual_bucket)
        raise S3Error("InvalidArgument", UNSUPPORTED_TYPE, **argument)
    if any(name in names for name in _V4_QUERY_NAMES):
        if "Signature" in names:
            raise S3Error("InvalidArgument", ONE_MECHANISM, ArgumentName="Authorization")
        return verify.verify_presigned(facts, lookup, now, region)
    if any(name in names for name in _V2_QUERY_NAMES):
        return sigv2.verify_query(facts, lookup, now, virtual_bucket)
    return ANONYMOUS_AUTH


def authenticate_signed_body(
    facts: RequestFacts,
    lookup: Callable[[str], Credential | None],
    now: datetime,
    region: str,
    *,
    service: str,
    body_sha256: str,
) -> AuthResult:
    """Authenticate a request to one of the other AWS APIs served on this port
    (the IAM Query API), signed with SigV4 only, as botocore signs them: the
    credential scope names ``service`` and the payload line is the body's
    SHA-256 (``body_sha256``, hex). Raises the ``S3Error`` the S3 checks
    raise; the caller words it as its API does. No credentials at all →
    the anonymous principal.
    """
    names = {name for name, _ in canonical.parse_query(facts.raw_query)}
    header = facts.headers.get("authorization")
    if header is not None and "X-Amz-Algorithm" in names:
        raise S3Error("InvalidArgument", ONE_MECHANISM, ArgumentName="Authorization")
    if header:
        scheme, space, _ = header.partition(" ")
        if not space or scheme.upper() != canonical.ALGORITHM:
            raise S3Error("InvalidArgument", UNSUPPORTED_TYPE, ArgumentName="Authorization")
        return verify.verify_header(
            facts, lookup, now, region, service=service, body_sha256=body_sha256
        )
    if any(name in names for name in _V4_QUERY_NAMES):
        return verify.verify_presigned(
            facts, lookup, now, region, service=service, body_sha256=body_sha256
        )
    return ANONYMOUS_AUTH
