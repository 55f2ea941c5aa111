"""Bucket CORS rules: which rule a browser request matches, and the headers
S3 answers with. Pure: strings in, a rule and header pairs out.

How S3 matches ("CORS configuration", Amazon S3 User Guide):

- The request's ``Origin`` must match one of the rule's ``AllowedOrigin``
  values. An AllowedOrigin holds at most one ``*``, which stands for any
  run of characters (``http://*.example.com``); ``*`` alone matches every
  origin. Origins are compared case-sensitively: browsers send them in
  their serialized (lower-case) form, and the reimplementations that track
  S3's recorded answers (LocalStack, Scality CloudServer) compare exactly.
- The method must be one of the rule's ``AllowedMethod`` values (GET, PUT,
  POST, DELETE, HEAD; case-sensitive). For a preflight it is the
  ``Access-Control-Request-Method``; for any other request S3 also uses
  that header when it is present, else the request's own method
  (LocalStack's AWS-recorded ``get-wrong-op``: a GET carrying
  ``Access-Control-Request-Method: PUT`` gets no CORS headers).
- Every header named in ``Access-Control-Request-Headers`` must match an
  ``AllowedHeader``, case-insensitively; an AllowedHeader holds at most one
  ``*`` (``*`` alone, or ``x-amz-*``). A rule without AllowedHeader admits
  no requested header at all.
- The first rule that matches on all three wins; later rules are not read.

What S3 sends for the matching rule (LocalStack's AWS-recorded snapshots in
tests/aws/services/s3/test_s3_cors.snapshot.json; Scality's
corsResponse.js agrees), on preflight and actual responses alike:

- ``Access-Control-Allow-Origin``: ``*`` when the rule's AllowedOrigin list
  contains exactly ``*``, else the request's Origin, then
  ``Access-Control-Allow-Credentials: true`` (credentials may not be
  allowed with ``*``);
- ``Access-Control-Allow-Methods``: all the rule's methods, ``", "``-joined;
- ``Access-Control-Allow-Headers``: the requested headers, lower-cased,
  only when the request named some;
- ``Access-Control-Expose-Headers``: the rule's ExposeHeader values, if any;
- ``Access-Control-Max-Age``: the rule's MaxAgeSeconds, if set;
- ``Vary: Origin, Access-Control-Request-Headers,
  Access-Control-Request-Method``.

When no rule matches, S3 adds none of these, not even ``Vary``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from sealbox.wildcards import Glob

CORS_METHODS = frozenset({"GET", "PUT", "POST", "DELETE", "HEAD"})
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"


@dataclass(frozen=True)
class CorsRule:
    """One CORSRule, values as the bucket owner wrote them (GetBucketCors
    gives them back unchanged, header casing included)."""

    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None


@lru_cache(maxsize=4096)
def _glob(pattern: str) -> Glob:
    # Only the first ``*`` is a wildcard (PutBucketCors refuses a second);
    # ``?`` is itself: CORS has no one-character wildcard.
    head, star, tail = pattern.partition("*")
    return Glob(((head, False), (star, True), (tail, False)))


def wildcard_match(pattern: str, value: str) -> bool:
    """``value`` matches ``pattern``, whose first ``*`` (if any) stands for
    any run of characters, the empty run included (``sealbox.wildcards``)."""
    return _glob(pattern).match(value)


def parse_header_list(value: str) -> tuple[str, ...]:
    """The header names of ``Access-Control-Request-Headers``, lower-cased,
    empty items dropped (browsers send ``content-type,x-amz-date``)."""
    return tuple(name for item in value.split(",") if (name := item.strip().lower()))


def origin_allowed(rule: CorsRule, origin: str) -> bool:
    return any(wildcard_match(allowed, origin) for allowed in rule.allowed_origins)


def headers_allowed(rule: CorsRule, requested: Iterable[str]) -> bool:
    """Every requested (lower-case) header matches one of the rule's
    AllowedHeader patterns, compared case-insensitively."""
    patterns = [p.lower() for p in rule.allowed_headers]
    return all(any(wildcard_match(p, name) for p in patterns) for name in requested)


def find_rule(
    rules: Iterable[CorsRule], origin: str, method: str, requested_headers: tuple[str, ...] = ()
) -> CorsRule | None:
    """The first rule admitting this origin, method and every requested
    header (lower-case names, as ``parse_header_list`` gives them)."""
    for rule in rules:
        if (
            method in rule.allowed_methods
            and origin_allowed(rule, origin)
            and headers_allowed(rule, requested_headers)
        ):
            return rule
    return None


def response_headers(
    rule: CorsRule, origin: str, requested_headers: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """The CORS headers S3 sends for a request ``rule`` matched."""
    headers: list[tuple[str, str]] = []
    if "*" in rule.allowed_origins:
        headers.append(("access-control-allow-origin", "*"))
    else:
        headers.append(("access-control-allow-origin", origin))
        headers.append(("access-control-allow-credentials", "true"))
    headers.append(("access-control-allow-methods", ", ".join(rule.allowed_methods)))
    if requested_headers:
        headers.append(("access-control-allow-headers", ", ".join(requested_headers)))
    if rule.expose_headers:
        headers.append(("access-control-expose-headers", ", ".join(rule.expose_headers)))
    if rule.max_age_seconds is not None:
        headers.append(("access-control-max-age", str(rule.max_age_seconds)))
    headers.append(("vary", VARY))
    return headers
