"""Why a SigV2 request fails: a V2 presigned URL (``AWSAccessKeyId``,
``Signature``, ``Expires``) or ``Authorization: AWS AKID:signature``.

As for SigV4 (``doctor.sigv4``), the doctor signs variations with the
key's secret, through ``auth.sigv2.string_to_sign``, and names the one
that verifies. V2 signs the path as sent (not re-encoded), the method,
Content-MD5, Content-Type, the date or Expires, the x-amz-* headers and the
signed subresources; for a virtual-host request the bucket the Host names.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote_from_bytes

from sealbox.auth import sigv2
from sealbox.auth.facts import RequestFacts
from sealbox.auth.sigv4 import canonical, parse
from sealbox.doctor.model import (
    Cause,
    Diagnosis,
    Seen,
    Server,
    candidate_hosts,
    invalid,
    signature_matches,
)
from sealbox.doctor.sigv4 import COMMON_CONTENT_TYPES, METHODS

KIND = "SigV2"


def is_sigv2(seen: Seen) -> bool:
    names = {name for name, _ in canonical.parse_query(seen.raw_query)}
    return ("AWSAccessKeyId" in names and "Signature" in names) or seen.headers.get(
        "authorization", "").startswith("AWS ")


def diagnose(seen: Seen, server: Server) -> Diagnosis:
    """The causes of ``seen``'s failure, or none when the signature is right."""
    now = seen.at or server.now
    header = seen.headers.get("authorization", "")
    params = dict(reversed(canonical.parse_query(seen.raw_query)))  # the first of each
    if header.startswith("AWS "):
        # The first colon: a recorded signature ("sha256:…") holds one too.
        access_key, _, provided = header[4:].strip().partition(":")
        date_text = seen.headers.get("x-amz-date") or seen.headers.get("date", "")
        signed_at = parse.parse_request_date(date_text)
        if signed_at is None:
            return invalid(KIND, Cause("Malformed", "The request has no Date or x-amz-date."))
        if abs((now - signed_at).total_seconds()) > parse.MAX_SKEW_SECONDS:
            return invalid(KIND, Cause(
                "ClockSkew", f"The request is dated {parse.format_server_time(signed_at)}; "
                f"this server's time is {parse.format_server_time(now)} (15 minutes apart at "
                "most). Set the signer's clock (NTP).",
                expected=parse.format_server_time(now), got=parse.format_server_time(signed_at)))
        date_line = "" if "x-amz-date" in seen.headers else seen.headers.get("date", "")
    else:
        access_key, provided = params["AWSAccessKeyId"], params["Signature"]
        date_line = params.get("Expires", "")
        if not (date_line.isascii() and date_line.isdigit()) or len(date_line) > 12:
            return invalid(KIND, Cause("Malformed", "Expires must be a time in epoch seconds.",
                                       got=date_line[:64]))
        expires = datetime.fromtimestamp(int(date_line), tz=UTC)
        if now > expires:
            stamp = parse.format_server_time
            return invalid(KIND, Cause("Expired", f"The URL expired at {stamp(expires)}; it is "
                                       f"{stamp(now)}. Sign a new one.",
                                       expected=f"before {stamp(expires)}", got=stamp(now)))
    credential = server.lookup(access_key)
    if credential is None:
        return invalid(KIND, Cause("UnknownAccessKey", f"No access key {access_key} exists on "
                                   "this server.", got=access_key))
    if not credential.active:
        return invalid(KIND, Cause("AccessKeyInactive", f"The access key {access_key} is "
                                   "inactive.", got=access_key))

    def verifies(variant: Seen) -> bool:
        facts = RequestFacts(variant.method, variant.raw_path, variant.raw_query, variant.headers)
        bucket = server.virtual_bucket(variant.host)
        texts = [sigv2.string_to_sign(facts, date_line, bucket)]
        if bucket is None and variant.raw_path.count("/") == 1 and len(variant.raw_path) > 1:
            texts.append(sigv2.string_to_sign(replace(facts, raw_path=variant.raw_path + "/"),
                                              date_line, bucket))
        return any(signature_matches(sigv2.sign(credential.secret_key, t), provided)
                   for t in texts)

    if verifies(seen):
        return Diagnosis((), KIND)
    for cause, variant in _variations(seen, server):
        if verifies(variant):
            return invalid(KIND, cause)
    return invalid(KIND, Cause("WrongSecret", f"The signature does not verify with the secret "
                               f"of {access_key}, and no change on the way explains it: it was "
                               "signed with another secret (or Content-Type, Content-MD5 or an "
                               "x-amz-* header changed).", got=access_key))


def _variations(seen: Seen, server: Server) -> Iterator[tuple[Cause, Seen]]:
    for host in candidate_hosts(seen, server):
        if server.virtual_bucket(host) != server.virtual_bucket(seen.host):
            yield (Cause("HostChanged", f"The URL was signed for the host {host} (another "
                         f"bucket) and arrived for {seen.host}.", expected=host, got=seen.host),
                   seen.with_host(host))
    for path, message in _paths(seen.raw_path):
        yield (Cause("PathEncoding", message, expected=path, got=seen.raw_path),
               replace(seen, raw_path=path))
    for method in METHODS:
        if method != seen.method:
            yield (Cause("MethodMismatch", f"The URL was signed for {method} and is used with "
                         f"{seen.method}.", expected=method, got=seen.method),
                   replace(seen, method=method))
    sent_type = seen.headers.get("content-type", "")
    for value in COMMON_CONTENT_TYPES:
        if value != sent_type:
            headers = {k: v for k, v in seen.headers.items() if k != "content-type"}
            if value:
                headers["content-type"] = value
            code = "SignedHeaderChanged" if sent_type else "SignedHeaderMissing"
            yield (Cause(code, f"V2 signs Content-Type: it was signed as {value!r} and sent as "
                         f"{sent_type!r}.", expected=value, got=sent_type),
                   replace(seen, headers=headers))
    for name, _ in canonical.parse_query(seen.raw_query):
        if name in sigv2.SIGNED_SUBRESOURCES:
            kept = "&".join(p for p in seen.raw_query.split("&")
                            if p.partition("=")[0] != name)
            yield (Cause("QueryChanged", f"The query parameter {name!r} was added after the "
                         "URL was signed.", got=name), replace(seen, raw_query=kept))


def _paths(raw_path: str) -> Iterator[tuple[str, str]]:
    """V2 signs the path as sent: the other spellings a signer may have used."""
    if "+" in raw_path:
        yield raw_path.replace("+", "%20"), ("The key was signed with a space (%20) where the "
                                             "URL has '+'; encode the space as %20.")
    if "%20" in raw_path:
        yield raw_path.replace("%20", "+"), ("The key was signed with '+' where the URL has "
                                             "%20.")
    if "%25" in raw_path:
        once = canonical.decode_path(raw_path).decode("utf-8", "surrogateescape")
        yield once, ("The path was encoded twice on the way (a '%' became '%25'); send the URL "
                     "as it was signed.")
    if "%2F" in raw_path.upper():
        yield (raw_path.replace("%2F", "/").replace("%2f", "/"),
               "The key was signed with '/' where the URL has %2F.")
    decoded = canonical.decode_path(raw_path)
    encoded = quote_from_bytes(decoded, safe="/~")
    if encoded != raw_path:
        yield encoded, "The key was signed encoded another way (botocore's quoting)."
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return
    for form in ("NFC", "NFD"):
        other = unicodedata.normalize(form, text)
        if other != text:
            yield (quote_from_bytes(other.encode(), safe="/~"),
                   (f"The key was signed in Unicode {form} form and the URL carries another "
                   "form of the same characters."))
