"""Which link a URL is, for revoking it: a managed link, an S3 SigV4 or SigV2
presigned URL made anywhere (boto3, the AWS CLI, the JS SDK), or a
CloudFront signed URL (or signed cookies) for one of the distributions.

A URL is revoked by its signature's fingerprint until its own expiry. It
must be a link this server would admit: ``identify`` reads what the URL
says, and the caller's ``verify`` checks its signature against the keys
this server holds (``verify_url``), so a URL from elsewhere, or one with a
made-up signature, is refused with a clear 400 and stores nothing.
Pure: the key lookups and the clock are arguments.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from sealbox.auth.cloudfront import (
    CloudFrontRefusal,
    KeyLookup,
    b64decode_cloudfront,
    parse_policy,
    signing_inputs,
    verify_request,
)
from sealbox.auth.facts import RequestFacts
from sealbox.auth.principal import AuthResult
from sealbox.auth.sigv4 import canonical
from sealbox.auth.sigv4.presign import host_header
from sealbox.auth.sigv4.verify import presigned_parts
from sealbox.errors import S3Error
from sealbox.links import model
from sealbox.links.model import LinkError

NOT_A_LINK = ("The URL is not a signed link: it carries no S3 (X-Amz-Signature or "
              "Signature with AWSAccessKeyId) or CloudFront (Signature with Key-Pair-Id) "
              "signature")
NOT_OURS = "The URL is not a link signed for this server: its signature does not check out"
EXPIRED = "The link has already expired; there is nothing to revoke"
_METHODS = ("GET", "HEAD", "PUT", "DELETE", "POST")
MAX_URL = 16 * 1024


@dataclass(frozen=True)
class SignedUrl:
    """What a signed URL says about itself (not yet checked)."""

    kind: str  # "sigv4", "sigv2", "cloudfront"
    signature: str
    expires: int  # epoch seconds
    link_id: str | None = None  # a managed link's id
    signed_headers: tuple[str, ...] = ("host",)

    @property
    def fingerprint(self) -> str:
        return model.fingerprint(self.signature)


def _first(query: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in canonical.parse_query(query):
        found.setdefault(name, value)
    return found


def identify(url: str, cookies: Mapping[str, str] | None = None) -> SignedUrl:
    """What ``url`` (with signed ``cookies``, CloudFront's) says it is, or
    ``LinkError`` 400."""
    if not isinstance(url, str) or len(url) > MAX_URL:
        raise LinkError(f"Url must be a URL of at most {MAX_URL} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LinkError("Url must be an http:// or https:// URL")
    query = _first(parts.query)
    if "X-Amz-Signature" in query:
        try:
            params, _ = presigned_parts(parts.query)
        except S3Error as error:
            raise LinkError(f"The URL's SigV4 parameters are malformed: {error.message}") from None
        return SignedUrl("sigv4", params.signature,
                         int(params.signed_at.timestamp()) + params.expires,
                         query.get(model.LINK_PARAMETER), params.signed_headers)
    if "Signature" in query and "AWSAccessKeyId" in query:
        return SignedUrl("sigv2", query["Signature"], _epoch(query.get("Expires")))
    _, inputs = signing_inputs(url, cookies or {})
    if "Signature" in inputs and "Key-Pair-Id" in inputs:
        if "Policy" in inputs:
            try:
                policy = parse_policy(b64decode_cloudfront(inputs["Policy"]))
            except (CloudFrontRefusal, ValueError):
                raise LinkError("The CloudFront policy of the link is malformed") from None
            expires = policy.date_less_than
        else:
            expires = _epoch(inputs.get("Expires"))
        return SignedUrl("cloudfront", inputs["Signature"], expires)
    raise LinkError(NOT_A_LINK)


def _epoch(value: str | None) -> int:
    try:
        return int(value or "")
    except ValueError:
        raise LinkError("The link's Expires is not a time in epoch seconds") from None


def verify_url(url: str, signed: SignedUrl, now: int, *,
               authenticate: Callable[[RequestFacts], AuthResult],
               cloudfront_keys: Callable[[str, str], KeyLookup | None],
               cookies: Mapping[str, str] | None = None) -> None:
    """``LinkError`` unless ``url`` is a live link this server would admit
    (its signature, by its own keys). ``authenticate`` checks an S3 request
    (sealbox.auth.authenticate with the server's key table, clock and
    region); ``cloudfront_keys(host, path)`` gives the keys the
    distribution answering ``host`` trusts for ``path``, or None."""
    if signed.expires <= now:
        raise LinkError(EXPIRED)
    parts = urlsplit(url)
    if signed.kind == "cloudfront":
        _verify_cloudfront(url, signed, now, cloudfront_keys(parts.netloc, parts.path or "/"),
                           cookies or {})
        return
    headers = {"host": host_header(url)}
    if set(signed.signed_headers) - {"host"}:
        # Signed with headers we cannot see: the access key must be ours
        # (checked by the lookup inside ``authenticate``), the rest can't be.
        only_key = True
    else:
        only_key = False
    for method in _METHODS:
        facts = RequestFacts(method, parts.path or "/", parts.query, headers)
        try:
            authenticate(facts)
            return
        except S3Error as error:
            if error.code in ("InvalidAccessKeyId", "AccessDenied"):
                raise LinkError(NOT_OURS) from None
            if only_key and error.code in ("SignatureDoesNotMatch",):
                return
    raise LinkError(NOT_OURS)


def _verify_cloudfront(url: str, signed: SignedUrl, now: int, keys: KeyLookup | None,
                       cookies: Mapping[str, str]) -> None:
    if keys is None:
        raise LinkError("The URL names no distribution of this server that takes signed "
                        "links")
    _, inputs = signing_inputs(url, cookies)
    source_ip = None
    at = now
    if "Policy" in inputs:
        try:
            policy = parse_policy(b64decode_cloudfront(inputs["Policy"]))
        except (CloudFrontRefusal, ValueError):
            raise LinkError("The CloudFront policy of the link is malformed") from None
        if policy.source_network is not None:  # judged for a viewer inside it
            source_ip = str(policy.source_network.network_address)
        if policy.date_greater_than is not None and policy.date_greater_than > now:
            at = policy.date_greater_than
    try:
        verify_request(url, cookies, source_ip=source_ip, now=float(at), trusted_keys=keys)
    except CloudFrontRefusal as refusal:
        raise LinkError(f"{NOT_OURS} ({refusal.reason})") from None


def parse_cookie_text(text: object) -> dict[str, str]:
    """Signed cookies for a revocation: a Cookie header's text
    (``CloudFront-Policy=…; CloudFront-Signature=…``) or a JSON object."""
    if text is None:
        return {}
    if isinstance(text, dict):
        if all(isinstance(k, str) and isinstance(v, str) for k, v in text.items()):
            return dict(text)
        raise LinkError("Cookies must map cookie names to values")
    if not isinstance(text, str) or len(text) > MAX_URL:
        raise LinkError("Cookies must be a Cookie header's text")
    out: dict[str, str] = {}
    for part in text.split(";"):
        name, eq, value = part.strip().partition("=")
        if eq:
            out[name] = unquote(value)
    return out


__all__ = ["SignedUrl", "identify", "parse_cookie_text", "verify_url"]
