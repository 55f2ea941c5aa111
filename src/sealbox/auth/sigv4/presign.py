"""Signing requests ourselves: presigned URLs and signed headers, for the CLI,
the signing endpoint and tests.

The output is what botocore produces for the same inputs (the tests check
it): the path and query are re-encoded with S3's UriEncode, so the URL sent
is the URL signed; ``Host`` carries the port unless it is the scheme's
default, as HTTP clients send it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from sealbox.auth.principal import Credential

from . import canonical, keys
from .parse import AMZ_DATE_FORMAT, MAX_EXPIRES_SECONDS, SERVICE, TERMINATOR

# Headers a user agent or proxy may add or change on the way; botocore leaves
# them out of SignedHeaders for the same reason.
UNSIGNABLE_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_header(url: str) -> str:
    """The Host header an HTTP client sends for ``url``."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    if parts.port is not None and parts.port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


def _scope(now: datetime, region: str) -> tuple[str, str, str]:
    when = now.astimezone(UTC)
    amz_date = when.strftime(AMZ_DATE_FORMAT)
    day = amz_date[:8]
    return amz_date, day, f"{day}/{region}/{SERVICE}/{TERMINATOR}"


def _encoded_query(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(
        f"{canonical.uri_encode(n, encode_slash=True)}={canonical.uri_encode(v, encode_slash=True)}"
        for n, v in pairs
    )


def presign_url(
    method: str,
    url: str,
    credential: Credential,
    region: str,
    expires: int,
    now: datetime,
    extra_signed_headers: Mapping[str, str] | None = None,
) -> str:
    """A presigned URL for ``method url``, valid ``expires`` seconds from ``now``.

    ``url`` may carry a query (``?response-content-type=…``), kept and signed.
    ``extra_signed_headers`` are headers the caller will send with the URL and
    wants bound to it (``x-amz-server-side-encryption``, ``content-type``…).
    """
    if not 1 <= expires <= MAX_EXPIRES_SECONDS:
        raise ValueError(f"expires must be 1..{MAX_EXPIRES_SECONDS} seconds, not {expires}")
    parts = urlsplit(url)
    amz_date, day, scope = _scope(now, region)
    headers = {"host": host_header(url)}
    for name, value in (extra_signed_headers or {}).items():
        headers[name.lower()] = value
    signed_headers = sorted(headers)
    pairs = list(canonical.parse_query_bytes(parts.query))
    auth = [
        ("X-Amz-Algorithm", canonical.ALGORITHM),
        ("X-Amz-Credential", f"{credential.access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", ";".join(signed_headers)),
    ]
    pairs += [(n.encode(), v.encode("utf-8")) for n, v in auth]
    query = _encoded_query(pairs)
    path = canonical.canonical_uri(parts.path)
    payload_hash = headers.get("x-amz-content-sha256", canonical.UNSIGNED_PAYLOAD)
    creq = canonical.canonical_request(
        method.upper(),
        path,
        canonical.canonical_query(query),
        canonical.canonical_headers(headers, signed_headers),
        signed_headers,
        payload_hash,
    )
    key = keys.signing_key(credential.secret_key, day, region, SERVICE)
    signature = keys.sign(key, canonical.string_to_sign(amz_date, scope, creq))
    return urlunsplit(
        (parts.scheme, parts.netloc, path, f"{query}&X-Amz-Signature={signature}", "")
    )


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    credential: Credential,
    region: str,
    now: datetime,
    payload_hash: str = canonical.UNSIGNED_PAYLOAD,
) -> dict[str, str]:
    """The headers to send ``method url`` signed with an ``Authorization`` header.

    Returns ``headers`` plus ``Host``, ``X-Amz-Date``, ``X-Amz-Content-SHA256``
    (``payload_hash``: the body's hex SHA-256, or ``UNSIGNED-PAYLOAD``) and
    ``Authorization``. Every given header is signed except those a proxy may
    rewrite (``UNSIGNABLE_HEADERS``). Send ``url`` with its path and query
    encoded as ``canonical`` encodes them (``presign_url`` shows how).
    """
    parts = urlsplit(url)
    amz_date, day, scope = _scope(now, region)
    replaced = ("authorization", "x-amz-date", "x-amz-content-sha256")
    out = {name: value for name, value in headers.items() if name.lower() not in replaced}
    lowered = {name.lower(): value for name, value in out.items()}
    if "host" not in lowered:
        out["Host"] = lowered["host"] = host_header(url)
    out["X-Amz-Date"] = lowered["x-amz-date"] = amz_date
    out["X-Amz-Content-SHA256"] = lowered["x-amz-content-sha256"] = payload_hash
    signed_headers = sorted(name for name in lowered if name not in UNSIGNABLE_HEADERS)
    creq = canonical.canonical_request(
        method.upper(),
        canonical.canonical_uri(parts.path),
        canonical.canonical_query(parts.query),
        canonical.canonical_headers(lowered, signed_headers),
        signed_headers,
        payload_hash,
    )
    key = keys.signing_key(credential.secret_key, day, region, SERVICE)
    signature = keys.sign(key, canonical.string_to_sign(amz_date, scope, creq))
    out["Authorization"] = (
        f"{canonical.ALGORITHM} Credential={credential.access_key}/{scope}, "
        f"SignedHeaders={';'.join(signed_headers)}, Signature={signature}"
    )
    return out
