"""Why a CloudFront signed URL fails on one of this server's distributions.

The check is ``auth.cloudfront.verify_request``, as the edge runs it; its
refusal says why (``reason``), which becomes the cause. A signature that
does not verify is tried again with the URL's other scheme and the
distribution's other names (a canned policy signs the whole URL), and a
custom policy whose ``Resource`` does not match is tried with the other
scheme, so a changed scheme or host is named as such.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sealbox.auth import cloudfront
from sealbox.auth.cloudfront import CloudFrontRefusal, KeyLookup
from sealbox.doctor.model import Cause, Diagnosis, Seen, invalid

KIND = "CloudFront-URL"


def is_cloudfront(seen: Seen) -> bool:
    """Whether the URL carries CloudFront's signing parameters."""
    names = {part.partition("=")[0] for part in seen.raw_query.split("&")}
    return "Key-Pair-Id" in names or ("Signature" in names and "AWSAccessKeyId" not in names
                                      and ("Expires" in names or "Policy" in names))


def diagnose(seen: Seen, trusted_keys: KeyLookup, now: datetime,
             hosts: tuple[str, ...] = ()) -> Diagnosis:
    """The causes of ``seen``'s refusal by its distribution, or none.
    ``trusted_keys`` are the trusted key groups of the behaviour the path
    falls in; ``hosts`` the distribution's other names (its domain, aliases)."""
    at = (seen.at or now).timestamp()
    try:
        _verify(seen.url, seen, trusted_keys, at)
    except CloudFrontRefusal as refusal:
        return invalid(KIND, _explain(refusal, seen, trusted_keys, at, hosts))
    return Diagnosis((), KIND)


def diagnose_recorded(seen: Seen, code: str, reason: str) -> Diagnosis:
    """The cause of a refusal the edge recorded (its ``code`` and ``reason``).
    The signature is only a fingerprint then, so variations are not tried."""
    if code not in cloudfront.REFUSAL_MESSAGES:
        return invalid(KIND, Cause("AccessDenied", f"The edge refused it: {reason}."))
    refusal = CloudFrontRefusal(code, reason)
    at = (seen.at.timestamp() if seen.at is not None else 0.0)
    return invalid(KIND, _explain(refusal, seen, {}, at, (), recorded=True))


def _verify(url: str, seen: Seen, trusted_keys: KeyLookup, at: float) -> None:
    cloudfront.verify_request(url, {}, source_ip=seen.client_ip, now=at,
                              trusted_keys=trusted_keys)


def _explain(refusal: CloudFrontRefusal, seen: Seen, trusted_keys: KeyLookup, at: float,
             hosts: tuple[str, ...], *, recorded: bool = False) -> Cause:
    reason = refusal.reason
    _, inputs = cloudfront.signing_inputs(seen.url, {})
    key_pair_id = inputs.get("Key-Pair-Id", "")
    if refusal.code in ("MissingKey", "InvalidKey"):
        return Cause("KeyNotTrusted", f"The key-pair id {key_pair_id!r} is not in the trusted "
                     "key groups of this path's cache behaviour: add its public key to a "
                     "trusted key group of the distribution, or sign with a trusted key.",
                     got=key_pair_id or None)
    if "not base64" in reason:
        part = "Signature" if "Signature" in reason else "Policy"
        return Cause("BadBase64", f"The {part} is not base64 in CloudFront's URL-safe alphabet "
                     "('+' as '-', '=' as '_', '/' as '~'): it was cut or re-encoded on the way.",
                     got=inputs.get(part, "")[:64])
    if refusal.code == "MalformedSignature":
        return Cause("BadBase64", f"The Signature is unusable ({reason}).")
    if refusal.code == "MalformedPolicy":
        return Cause("MalformedPolicy", f"The policy is malformed: {reason}. A policy is one "
                     "Statement with a Resource and Condition.DateLessThan.AWS:EpochTime.")
    policy = _policy(inputs)
    if reason == "expired":
        ends = _iso(policy.date_less_than) if policy else None
        return Cause("PolicyExpired", f"The signed URL's policy ended at {ends}; it is "
                     f"{_iso(int(at))}. Sign a new one.", expected=f"before {ends}",
                     got=_iso(int(at)))
    if reason.startswith("not yet valid"):
        starts = _iso(policy.date_greater_than) if policy and policy.date_greater_than else None
        return Cause("NotYetValid", f"The policy starts at {starts} (DateGreaterThan); it is "
                     f"{_iso(int(at))}.", expected=f"at or after {starts}", got=_iso(int(at)))
    if reason.startswith("viewer address"):
        network = str(policy.source_network) if policy else None
        return Cause("IpNotAllowed", f"The policy allows viewers from {network}; this viewer "
                     f"is {seen.client_ip or 'unknown'}.", expected=network, got=seen.client_ip)
    if reason == "resource outside the policy":
        other = _other_scheme(seen.url)
        if policy and policy.resource and cloudfront.wildcard_match(policy.resource, other):
            return _scheme_changed(seen)
        return Cause("PolicyResourceMismatch", f"The policy's Resource {policy and policy.resource!r}"
                     f" does not cover {cloudfront.viewer_resource(seen.url)!r}.",
                     expected=policy.resource if policy else None,
                     got=cloudfront.viewer_resource(seen.url))
    if reason == "signature does not match the policy" and "Policy" not in inputs:
        # A canned policy signs the whole URL: try the URL as it may have been.
        if not recorded and _verifies(_other_scheme(seen.url), seen, trusted_keys, at):
            return _scheme_changed(seen)
        for host in () if recorded else hosts:
            if host != seen.host and _verifies(
                    seen.with_host(host).url, seen, trusted_keys, at):
                return Cause("HostChanged", f"The URL was signed for {host} and used with "
                             f"{seen.host}.", expected=host, got=seen.host)
        return Cause("PolicyResourceMismatch", "The signature does not cover this URL: the "
                     "URL (path or query) changed after it was signed, or it was signed with "
                     f"another private key than {key_pair_id}'s.",
                     got=cloudfront.viewer_resource(seen.url))
    if reason == "signature does not match the policy":
        return Cause("WrongSecret", f"The signature does not verify with the public key of "
                     f"{key_pair_id}: it was signed with another private key, or the policy "
                     "changed after signing.", got=key_pair_id)
    return Cause("AccessDenied", f"CloudFront would refuse it: {reason}.")


def _verifies(url: str, seen: Seen, trusted_keys: KeyLookup, at: float) -> bool:
    try:
        _verify(url, seen, trusted_keys, at)
    except CloudFrontRefusal as refusal:
        return refusal.reason != "signature does not match the policy"
    return True


def _policy(inputs: dict[str, str]) -> cloudfront.SignedPolicy | None:
    try:
        if "Policy" in inputs:
            return cloudfront.parse_policy(cloudfront.b64decode_cloudfront(inputs["Policy"]))
        expires = inputs.get("Expires", "")
        if expires.isascii() and expires.isdigit() and len(expires) <= 11:
            return cloudfront.SignedPolicy(resource=None, date_less_than=int(expires))
    except (CloudFrontRefusal, ValueError):
        pass
    return None


def _other_scheme(url: str) -> str:
    if url.startswith("https://"):
        return "http://" + url[len("https://"):]
    return "https://" + url.removeprefix("http://")


def _scheme_changed(seen: Seen) -> Cause:
    other = "http" if seen.scheme == "https" else "https"
    return Cause("SchemeChanged", f"The URL was signed for {other}:// and used with "
                 f"{seen.scheme}://; use {other}://.", expected=other, got=seen.scheme)


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
