"""Why a SigV4 request fails: a presigned URL or an ``Authorization`` header.

The checks run in S3's order (``auth.sigv4.verify``): the parameters, the
time, the credential scope, the key, the headers that must be there, and
the signature. When the signature does not verify, the doctor signs
variations of the request with the key's secret — the other hosts the
server answers as, the path encoded the other ways clients encode keys,
the query without a parameter added on the way, the other methods, common
values of a signed header — and names the variation that verifies: that is
what the signer signed. When none verifies, the URL was signed with
another secret (or changed in a way no variation covers, which the message
says).

Signatures are computed with ``auth.sigv4`` (canonical, keys): there is no
second canonicalizer here, only other inputs to the same one.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import NamedTuple

from sealbox.auth.principal import Credential
from sealbox.auth.sigv4 import canonical, keys, parse, verify
from sealbox.doctor.model import (
    Cause,
    Diagnosis,
    Seen,
    Server,
    candidate_hosts,
    invalid,
    signature_matches,
)
from sealbox.errors import S3Error

PRESIGNED = "SigV4-Presigned"
HEADER = "SigV4-Header"
METHODS = ("GET", "PUT", "HEAD", "DELETE", "POST")
# Values a signed Content-Type commonly had when the request sent another.
COMMON_CONTENT_TYPES = (
    "", "application/octet-stream", "binary/octet-stream", "text/plain",
    "text/plain;charset=UTF-8", "text/plain; charset=utf-8", "application/json",
    "application/xml", "text/html", "text/csv", "image/png", "image/jpeg", "image/gif",
    "application/pdf", "application/zip", "video/mp4", "application/x-www-form-urlencoded",
)
MAX_VARIATIONS = 400  # each is one SHA-256 and one HMAC: a bound on the work per question


@dataclass(frozen=True)
class _Signed:
    """What the request claims: the parts the signature covers besides the request."""

    kind: str
    date_line: str
    signed_at: datetime
    scope: parse.CredentialScope
    signed_headers: tuple[str, ...]
    signature: str
    payload_hash: str
    pairs: tuple[tuple[bytes, bytes], ...]  # the query, decoded, wire order
    exclude: tuple[str, ...]  # left out of the canonical query (the signature)
    expires: int | None = None  # presigned: X-Amz-Expires


def is_sigv4(seen: Seen) -> bool:
    """Whether the request claims SigV4 (a presigned query or the header)."""
    names = {name for name, _ in canonical.parse_query(seen.raw_query)}
    return ("X-Amz-Algorithm" in names or "X-Amz-Signature" in names
            or seen.headers.get("authorization", "").startswith(canonical.ALGORITHM))


def diagnose(seen: Seen, server: Server) -> Diagnosis:
    """The causes of ``seen``'s failure, or none when the signature is right."""
    presigned = "authorization" not in seen.headers
    kind = PRESIGNED if presigned else HEADER
    now = seen.at or server.now
    try:
        signed = _presigned(seen) if presigned else _header(seen)
    except S3Error as error:
        return invalid(kind, _malformed(error))
    early = _time(signed, now, presigned) or _scope(signed, server.region)
    if early is not None:
        return invalid(kind, early)
    credential = server.lookup(signed.scope.access_key)
    if credential is None:
        return invalid(kind, Cause("UnknownAccessKey", f"No access key {signed.scope.access_key} "
                                   "exists on this server: the URL was signed with a key of "
                                   "another server or one that was deleted.",
                                   got=signed.scope.access_key))
    if not credential.active:
        return invalid(kind, Cause("AccessKeyInactive", f"The access key "
                                   f"{signed.scope.access_key} is inactive; activate it or "
                                   "sign with an active key.", got=signed.scope.access_key))
    missing = _headers(seen, signed)
    if missing is not None:
        return invalid(kind, missing)
    sign = _Signer(credential, signed)
    if sign.verifies(seen):
        return Diagnosis((), kind)
    for variant in _variations(seen, signed, server):
        if sign.verifies(variant.seen, variant.uri, pairs=variant.pairs):
            return invalid(kind, variant.cause)
    return invalid(kind, _wrong_secret(signed))


def _presigned(seen: Seen) -> _Signed:
    params, _ = verify.presigned_parts(seen.raw_query)
    scope = _scope_parts(params.credential)
    payload = params.content_sha256 or seen.headers.get("x-amz-content-sha256",
                                                        canonical.UNSIGNED_PAYLOAD)
    return _Signed(PRESIGNED, params.amz_date, params.signed_at, scope, params.signed_headers,
                   params.signature, payload, canonical.parse_query_bytes(seen.raw_query),
                   ("X-Amz-Signature",), params.expires)


def _header(seen: Seen) -> _Signed:
    header = parse.parse_authorization(seen.headers["authorization"])
    date_line = seen.headers.get("x-amz-date", seen.headers.get("date", ""))
    signed_at = parse.parse_request_date(date_line)
    if signed_at is None:
        raise S3Error("AccessDenied", parse.NO_DATE)
    payload = parse.check_payload_hash(seen.headers)
    return _Signed(HEADER, date_line, signed_at, _scope_parts(header.credential),
                   header.signed_headers, header.signature, payload,
                   canonical.parse_query_bytes(seen.raw_query), ())


def _scope_parts(credential: str) -> parse.CredentialScope:
    parts = credential.split("/")
    if len(parts) != 5:
        raise S3Error("AuthorizationQueryParametersError", parse.CREDENTIAL_FORMAT)
    return parse.CredentialScope(*parts)


def _malformed(error: S3Error) -> Cause:
    if error.message == parse.EXPIRES_TOO_LONG:
        return Cause("ExpiresTooLong", "X-Amz-Expires is over 7 days (604800 seconds), the "
                     "longest a presigned URL may live; sign it for a week or less.",
                     expected="at most 604800")
    return Cause("Malformed", f"The signature's parameters are malformed: {error.message}")


def _time(signed: _Signed, now: datetime, presigned: bool) -> Cause | None:
    skew = (signed.signed_at - now).total_seconds()
    stamp = parse.format_server_time
    if not presigned:
        if abs(skew) > parse.MAX_SKEW_SECONDS:
            return Cause("ClockSkew", f"The request was signed at {stamp(signed.signed_at)} but "
                         f"arrived at {stamp(now)}: the signer's clock is {abs(int(skew))} "
                         "seconds off (15 minutes at most). Set its clock (NTP).",
                         expected=stamp(now), got=stamp(signed.signed_at))
        return None
    if skew > parse.MAX_SKEW_SECONDS:
        return Cause("NotYetValid", f"The URL is dated {stamp(signed.signed_at)}, "
                     f"{int(skew)} seconds after this server's time {stamp(now)}: the "
                     "signer's clock is ahead. Set its clock (NTP).",
                     expected=f"at or before {stamp(now)}", got=stamp(signed.signed_at))
    lifetime = signed.expires or 0
    expires_at = signed.signed_at + timedelta(seconds=lifetime)
    if now > expires_at:
        return Cause("Expired", f"The URL expired at {stamp(expires_at)} (signed at "
                     f"{stamp(signed.signed_at)} for {lifetime} seconds); it is "
                     f"{stamp(now)}. Sign a new one.",
                     expected=f"before {stamp(expires_at)}", got=stamp(now))
    return None


def _scope(signed: _Signed, region: str) -> Cause | None:
    scope = signed.scope
    if scope.region != region:
        return Cause("WrongRegion", f"The URL was signed for the region {scope.region!r}; this "
                     f"server is {region!r}. Sign with region {region} (AWS_REGION, "
                     "--region, or the SDK's region setting).", expected=region, got=scope.region)
    if scope.service != parse.SERVICE:
        return Cause("WrongService", f"The URL was signed for the service {scope.service!r}; S3 "
                     "requests are signed for 's3'.", expected=parse.SERVICE, got=scope.service)
    if scope.terminator != parse.TERMINATOR or scope.date != signed.date_line[:8]:
        return Cause("Malformed", "The credential scope is malformed: it must be "
                     "AKID/YYYYMMDD/region/s3/aws4_request with the date of X-Amz-Date.",
                     got=f"{scope.date}/{scope.region}/{scope.service}/{scope.terminator}")
    return None


def _headers(seen: Seen, signed: _Signed) -> Cause | None:
    """A signed header the request does not send, or one S3 requires signed
    that it sends unsigned."""
    for name in signed.signed_headers:
        if name.lower() not in seen.headers:
            return Cause("SignedHeaderMissing", f"The header {name} was signed but the "
                         f"request does not send it; send {name} with the value it was signed "
                         "with.", expected=name)
    try:
        verify.check_headers_signed(seen.headers, signed.signed_headers)
    except S3Error as error:
        names = str(error.fields.get("HeadersNotSigned", ""))
        return Cause("SignedHeaderMissing", f"The request sends {names} but the signature "
                     "does not cover it: S3 requires Host, Content-MD5 and x-amz-* headers to "
                     "be signed. Sign them, or do not send them.", got=names)
    return None


class _Signer:
    """The signature the key makes for a request, under the claimed scope."""

    def __init__(self, credential: Credential, signed: _Signed) -> None:
        self.signed = signed
        scope = signed.scope
        self.key = keys.signing_key(credential.secret_key, scope.date, scope.region,
                                    scope.service)

    def verifies(self, seen: Seen, uri: str | None = None, *,
                 pairs: tuple[tuple[bytes, bytes], ...] | None = None) -> bool:
        signed = self.signed
        query = canonical.canonical_query_from_pairs(
            signed.pairs if pairs is None else pairs, exclude=signed.exclude)
        request = canonical.canonical_request(
            seen.method, uri if uri is not None else canonical.canonical_uri(seen.raw_path),
            query, canonical.canonical_headers(seen.headers, signed.signed_headers),
            signed.signed_headers, signed.payload_hash)
        text = canonical.string_to_sign(signed.date_line, signed.scope.scope, request)
        return signature_matches(keys.sign(self.key, text), signed.signature)


class _Variant(NamedTuple):
    """A request the signer may have signed instead, and what to say if so:
    ``uri`` a canonical URI in place of the path's, ``pairs`` a query."""

    cause: Cause
    seen: Seen
    uri: str | None = None
    pairs: tuple[tuple[bytes, bytes], ...] | None = None


def _variations(seen: Seen, signed: _Signed, server: Server) -> Iterator[_Variant]:
    """(cause, request) for each variation, most likely first, bounded."""
    for produced, item in enumerate(_all_variations(seen, signed, server)):
        if produced >= MAX_VARIATIONS:
            return
        yield item


def _all_variations(seen: Seen, signed: _Signed, server: Server) -> Iterator[_Variant]:
    for host in candidate_hosts(seen, server):
        yield _Variant(_host_cause(seen, host), seen.with_host(host))
    for uri, message in _paths(seen.raw_path):
        yield _Variant(Cause("PathEncoding", message, expected=uri,
                             got=canonical.canonical_uri(seen.raw_path)), seen, uri)
    for cause, pairs in _queries(signed):
        yield _Variant(cause, seen, pairs=pairs)
    for method in METHODS:
        if method != seen.method:
            yield _Variant(Cause("MethodMismatch", f"The URL was signed for {method} and is used with "
                         f"{seen.method}; use {method}, or sign the URL for {seen.method}.",
                         expected=method, got=seen.method),
                           _with(seen, method=method))
    for name in signed.signed_headers:
        lower = name.lower()
        if lower in ("host", "x-amz-date", "x-amz-content-sha256"):
            continue
        for value in _header_values(lower):
            if value != seen.headers.get(lower):
                yield _Variant(Cause("SignedHeaderChanged", f"The header {name} was signed as "
                             f"{value!r} but sent as {seen.headers.get(lower, '')!r}; send the "
                             "value that was signed, or sign the one you send.",
                             expected=value, got=seen.headers.get(lower, "")),
                               _with(seen, headers={**seen.headers, lower: value}))


def _with(seen: Seen, **changes: object) -> Seen:
    return replace(seen, **changes)  # type: ignore[arg-type]


def _header_values(name: str) -> tuple[str, ...]:
    return COMMON_CONTENT_TYPES if name == "content-type" else ("",)


def _host_cause(seen: Seen, host: str) -> Cause:
    scheme_port = {"http": "443", "https": "80"}.get(seen.scheme)
    if scheme_port and (host == f"{seen.host}:{scheme_port}"
                        or seen.host == f"{host}:{scheme_port}"):
        other = "https" if seen.scheme == "http" else "http"
        return Cause("SchemeChanged", f"The URL was signed for {other}:// (Host {host}) and is "
                     f"used with {seen.scheme}:// (Host {seen.host}); use {other}://.",
                     expected=other, got=seen.scheme)
    return Cause("HostChanged", f"The URL was signed for the host {host} and arrived for "
                 f"{seen.host}: a proxy or a different endpoint changed the Host header. Sign "
                 f"with the endpoint clients use ({seen.host}), or have the proxy keep the "
                 "Host header.", expected=host, got=seen.host)


def _paths(raw_path: str) -> Iterator[tuple[str, str]]:
    """(canonical URI, what to say): the same path encoded the other ways
    signers and proxies encode keys."""
    decoded = canonical.decode_path(raw_path)

    def encode(data: bytes) -> str:
        return canonical.uri_encode(data, encode_slash=False)

    # On the raw path: a '+' sent as is (not a %2B) and a space sent as %20.
    if "+" in raw_path:
        yield (canonical.canonical_uri(raw_path.replace("+", "%20")),
               ("The key was signed with a space where the URL has '+': in a path '+' is a "
               "plus sign (only a query reads it as a space). Encode the space as %20."))
    if "%20" in raw_path:
        yield (canonical.canonical_uri(raw_path.replace("%20", "+")),
               ("The key was signed with '+' where the URL has a space: send the plus sign "
               "as %2B."))
    if "%2f" in raw_path.lower():
        uri = "/".join(canonical.uri_encode(canonical.decode_path(part), encode_slash=True)
                       for part in raw_path.split("/"))
        yield (uri, ("The key was signed with its '/' encoded as %2F; S3 signs a slash in a "
               "key as a plain '/'. Sign the key with '/' unencoded."))
    if "%25" in raw_path:
        yield (canonical.canonical_uri(decoded.decode("utf-8", "surrogateescape")),
               ("The path was encoded twice on the way (a '%' became '%25'): send the URL "
               "exactly as it was signed, without encoding it again."))
    sent = canonical.canonical_uri(raw_path)
    double = encode(sent.encode())
    if double != sent:
        yield (double, ("The signer encoded the path twice (as AWS signs other services, not "
               "S3); sign S3 requests with the path encoded once."))
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return
    if not text.isascii():
        for form in ("NFC", "NFD"):
            other = unicodedata.normalize(form, text)
            if other != text:
                yield (encode(other.encode()),
                       (f"The key was signed in Unicode {form} form and the URL carries another "
                       "form of the same characters (macOS file names are NFD): use the key's "
                       "exact bytes."))


def _queries(signed: _Signed) -> Iterator[tuple[Cause, tuple[tuple[bytes, bytes], ...]]]:
    """The query as signed before a parameter was added, or before a literal
    plus was sent unencoded (a space then)."""
    pairs = signed.pairs
    own = [i for i, (name, _) in enumerate(pairs) if not name.startswith(b"X-Amz-")]
    for index in own:
        added = pairs[index][0].decode("utf-8", "replace")
        yield (Cause("QueryChanged", f"The query parameter {added!r} was added after the URL "
                     "was signed; remove it, or sign the URL with it.", got=added),
               pairs[:index] + pairs[index + 1:])
    if len(own) > 1:
        names = ", ".join(pairs[i][0].decode("utf-8", "replace") for i in own)
        yield (Cause("QueryChanged", f"The query parameters {names} were added after the URL "
                     "was signed; remove them, or sign the URL with them.", got=names),
               tuple(p for i, p in enumerate(pairs) if i not in own))
    for index, (raw_name, value) in enumerate(pairs):
        if b" " in value and not raw_name.startswith(b"X-Amz-Signature"):
            text = raw_name.decode("utf-8", "replace")
            yield (Cause("QueryChanged", f"The value of {text!r} was signed with a '+' that "
                         "was sent unencoded, which a query reads as a space; send it as %2B.",
                         expected=value.replace(b" ", b"+").decode("utf-8", "replace"),
                         got=value.decode("utf-8", "replace")),
                   pairs[:index] + ((raw_name, value.replace(b" ", b"+")),) + pairs[index + 1:])


def _wrong_secret(signed: _Signed) -> Cause:
    others = [h for h in signed.signed_headers if h.lower() not in ("host",)]
    extra = (f" (or a signed header changed: {', '.join(others)})" if others else "")
    return Cause("WrongSecret", f"The signature does not verify with the secret of "
                 f"{signed.scope.access_key}, and no change on the way explains it: it was "
                 f"signed with another secret{extra}. Sign with this key's current secret.",
                 got=signed.scope.access_key)
