"""Bucket CORS: PutBucketCors, GetBucketCors, DeleteBucketCors, the
preflight ``OPTIONS`` answer, and the CORS headers of actual responses.

The configuration is kept as a bucket setting named ``cors`` (a small JSON
document; ``sealbox.store.meta``), validated as S3 validates it on the way
in. Matching and the headers sent are pure, in ``sealbox.http.cors``.

Preflights are answered without authentication: browsers send them with
no credentials (Fetch standard, "CORS-preflight fetch"), and S3 answers
them from the bucket's CORS configuration alone. Their errors are S3's,
as recorded against AWS in LocalStack's test_s3_cors.snapshot.json:

- no ``Origin``: 400 ``BadRequest`` "Insufficient information. Origin
  request header needed.";
- no such bucket: 403 ``AccessForbidden`` "CORSResponse: Bucket not found";
- no CORS configuration: 403 ``AccessForbidden`` "CORSResponse: CORS is
  not enabled for this bucket." (``Method`` is the requested method, or
  ``OPTIONS`` when none was named; ``ResourceType`` is ``BUCKET``);
- no rule matches: 403 ``AccessForbidden`` "CORSResponse: This CORS
  request is not allowed. …" with S3's typo ("evalution") kept, and
  ``ResourceType`` ``OBJECT`` or ``BUCKET`` after the URL.

A configured bucket asked with no (or an unknown)
``Access-Control-Request-Method`` gets 400 ``BadRequest`` "Invalid
Access-Control-Request-Method: null" (or the value): Scality CloudServer
and Huawei OBS, both modelled on S3, word it so; AWS's recording shows the
configuration is looked at first (no configuration and no method is 403).

Cost on the hot path: every browser request carries ``Origin``, so the
configuration of its bucket is read for each. It is cached per process
for ``CACHE_SECONDS`` (a stated staleness, as the architecture allows for
in-memory caches): a change made through this process is seen at once;
one made through another worker or node within ``CACHE_SECONDS``. S3
documents bucket configurations as eventually consistent, too.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import weakref
from dataclasses import replace
from typing import Any

from sealbox.api.common.context import Context, Services
from sealbox.api.s3.common import require_bucket
from sealbox.api.s3.xml import find_all, parse_xml, render
from sealbox.auth.sigv4.checksum import ALGORITHMS, declared_checksums
from sealbox.errors import S3Error
from sealbox.http.cors import (
    CORS_METHODS,
    CorsRule,
    find_rule,
    parse_header_list,
    response_headers,
)
from sealbox.http.header_values import has_control
from sealbox.server.request import Request
from sealbox.server.responses import Response, empty_response, xml_response
from sealbox.store.meta import MetaStore, NoSuchBucket

SETTING = "cors"
MAX_RULES = 100
MAX_CORS_BODY = 64 * 1024  # "The maximum size of a CORS configuration is 64 KB"
MAX_ID_LENGTH = 255
CACHE_SECONDS = 1.0
CACHE_MAX_BUCKETS = 10_000

NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers "
    "are not whitelisted by the resource's CORS spec."
)
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
BUCKET_NOT_FOUND = "CORSResponse: Bucket not found"
NO_ORIGIN = "Insufficient information. Origin request header needed."

_RULE_CHILDREN = frozenset(
    {"ID", "AllowedOrigin", "AllowedMethod", "AllowedHeader", "ExposeHeader", "MaxAgeSeconds"}
)


# -- the document: XML in, JSON kept, XML out -------------------------------------


def parse_cors_xml(body: bytes) -> tuple[CorsRule, ...]:
    """The rules of a ``<CORSConfiguration>``, refused as S3 refuses them."""
    root = parse_xml(body, "CORSConfiguration", max_length=MAX_CORS_BODY)
    if any(child.tag != "CORSRule" for child in root):
        raise S3Error("MalformedXML")
    elements = find_all(root, "CORSRule")
    if not elements:
        raise S3Error("MalformedXML")  # AWS-recorded: CORSRules=[] is MalformedXML
    if len(elements) > MAX_RULES:
        raise S3Error("InvalidRequest", "The number of CORS rules should not exceed allowed "
                      f"limit of {MAX_RULES} rules.")
    return tuple(_parse_rule(element) for element in elements)


def _parse_rule(element: Any) -> CorsRule:
    values: dict[str, list[str]] = {name: [] for name in _RULE_CHILDREN}
    for child in element:
        if child.tag not in _RULE_CHILDREN or len(child):
            raise S3Error("MalformedXML")
        values[child.tag].append(child.text or "")
    origins, methods = values["AllowedOrigin"], values["AllowedMethod"]
    if not origins or not methods or len(values["ID"]) > 1 or len(values["MaxAgeSeconds"]) > 1:
        raise S3Error("MalformedXML")
    for method in methods:
        if method not in CORS_METHODS:
            raise S3Error("InvalidRequest", "Found unsupported HTTP method in CORS config. "
                          f"Unsupported method is {method}")
    for kind in ("AllowedOrigin", "AllowedHeader"):
        for value in values[kind]:
            if value.count("*") > 1:
                raise S3Error("InvalidRequest",
                              f'{kind} "{value}" can not have more than one wildcard.')
    _check_header_values(values)
    rule_id = values["ID"][0] if values["ID"] else None
    if rule_id is not None and len(rule_id) > MAX_ID_LENGTH:
        raise S3Error("InvalidArgument", f"ID length should not exceed allowed limit of "
                      f"{MAX_ID_LENGTH}", ArgumentName="ID", ArgumentValue=rule_id[:64])
    max_age = None
    if values["MaxAgeSeconds"]:
        text = values["MaxAgeSeconds"][0].strip()
        if not text.isascii() or not text.isdigit() or len(text) > 10:
            raise S3Error("MalformedXML")
        max_age = int(text)
    return CorsRule(
        allowed_origins=tuple(origins),
        allowed_methods=tuple(methods),
        allowed_headers=tuple(values["AllowedHeader"]),
        expose_headers=tuple(values["ExposeHeader"]),
        max_age_seconds=max_age,
        id=rule_id or None,
    )


def _check_header_values(values: dict[str, list[str]]) -> None:
    """Refuse what could never be matched or sent: a control character in
    any value (XML carries CR, LF and DEL: ``&#13;``), and non-ASCII text in
    AllowedHeader and ExposeHeader, which name headers (ASCII tokens;
    ExposeHeader is sent back in ``Access-Control-Expose-Headers``)."""
    for kind in ("AllowedOrigin", "AllowedHeader", "ExposeHeader"):
        for value in values[kind]:
            if has_control(value) or (kind != "AllowedOrigin" and not value.isascii()):
                raise S3Error("InvalidRequest", f"{kind} holds a character that is not "
                              f"allowed in a header: {value[:64]!r}")


def servable_rules(rules: tuple[CorsRule, ...]) -> tuple[CorsRule, ...]:
    """The rules with any ExposeHeader or AllowedMethod that could not be
    sent dropped (kept unchecked by an older version): one bad value must
    not break every cross-origin request to the bucket."""
    def fits(value: str) -> bool:
        return value.isascii() and not has_control(value)

    if all(fits(v) for r in rules for v in (*r.expose_headers, *r.allowed_methods)):
        return rules
    return tuple(replace(r, expose_headers=tuple(filter(fits, r.expose_headers)),
                         allowed_methods=tuple(filter(fits, r.allowed_methods)))
                 for r in rules)


def encode_rules(rules: tuple[CorsRule, ...]) -> str:
    """The stored form: JSON, so the hot path never parses XML."""
    return json.dumps({"rules": [
        {"id": r.id, "origins": r.allowed_origins, "methods": r.allowed_methods,
         "headers": r.allowed_headers, "expose": r.expose_headers, "max_age": r.max_age_seconds}
        for r in rules
    ]}, ensure_ascii=False, separators=(",", ":"))


def decode_rules(document: str) -> tuple[CorsRule, ...]:
    return tuple(
        CorsRule(tuple(r["origins"]), tuple(r["methods"]), tuple(r["headers"]),
                 tuple(r["expose"]), r["max_age"], r["id"])
        for r in json.loads(document)["rules"]
    )


def render_cors(rules: tuple[CorsRule, ...]) -> bytes:
    """GetBucketCors's body, elements in the API reference's order."""
    return render("CORSConfiguration", [
        ("CORSRule", [
            *[("AllowedHeader", h) for h in r.allowed_headers],
            *[("AllowedMethod", m) for m in r.allowed_methods],
            *[("AllowedOrigin", o) for o in r.allowed_origins],
            *[("ExposeHeader", h) for h in r.expose_headers],
            ("ID", r.id),
            ("MaxAgeSeconds", r.max_age_seconds),
        ])
        for r in rules
    ])


# -- the per-process cache --------------------------------------------------------


class _RulesCache:
    """bucket → (monotonic expiry, rules or None) for one MetaStore."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[float, tuple[CorsRule, ...] | None]] = {}


_caches: weakref.WeakKeyDictionary[MetaStore, _RulesCache] = weakref.WeakKeyDictionary()


def _cache(meta: MetaStore) -> _RulesCache:
    cache = _caches.get(meta)
    if cache is None:
        cache = _caches[meta] = _RulesCache()
    return cache


async def bucket_rules(services: Services, bucket: str) -> tuple[CorsRule, ...] | None:
    """The bucket's CORS rules (None without a configuration or a bucket),
    at most ``CACHE_SECONDS`` old."""
    entries = _cache(services.meta).entries
    now = time.monotonic()
    hit = entries.get(bucket)
    if hit is not None and hit[0] > now:
        return hit[1]
    document = await services.run(services.meta.get_bucket_setting, bucket, SETTING)
    rules = servable_rules(decode_rules(document)) if document is not None else None
    if len(entries) >= CACHE_MAX_BUCKETS:
        entries.clear()  # Origin headers aimed at made-up buckets must not grow it forever
    entries[bucket] = (now + CACHE_SECONDS, rules)
    return rules


def forget(meta: MetaStore, bucket: str) -> None:
    """Drop the cached rules of ``bucket`` after this process changed them."""
    _cache(meta).entries.pop(bucket, None)


# -- operations -------------------------------------------------------------------


def check_body_digests(request: Request, body: bytes) -> None:
    """Content-MD5 and any ``x-amz-checksum-*`` header must match the body
    (S3 requires an integrity header on PutBucketCors; SDKs always send one)."""
    value = request.headers.get("content-md5")
    if value is not None:
        try:
            expected = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            expected = b""
        if len(expected) != 16:
            raise S3Error("InvalidDigest", ContentMD5=value[:64])
        if not hmac.compare_digest(hashlib.md5(body).digest(), expected):
            raise S3Error("BadDigest")
    for name, digest in declared_checksums(request.headers).items():
        hasher = ALGORITHMS[name].new()
        hasher.update(body)
        if not hmac.compare_digest(hasher.digest(), digest):
            raise S3Error("BadDigest", f"The {name.upper()} you specified did not match the "
                          "calculated checksum.")


async def put_bucket_cors(ctx: Context) -> Response:
    body = await ctx.request.read(MAX_CORS_BODY)
    check_body_digests(ctx.request, body)
    rules = parse_cors_xml(body)
    try:
        await ctx.services.run(ctx.services.meta.put_bucket_setting, ctx.bucket, SETTING,
                               encode_rules(rules))
    except NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    forget(ctx.services.meta, ctx.bucket)
    return empty_response(200)


async def get_bucket_cors(ctx: Context) -> Response:
    document = await ctx.services.read(ctx.services.meta.get_bucket_setting, ctx.bucket, SETTING)
    if document is None:
        await require_bucket(ctx)
        raise S3Error("NoSuchCORSConfiguration", BucketName=ctx.bucket)
    return xml_response(render_cors(decode_rules(document)))


async def delete_bucket_cors(ctx: Context) -> Response:
    await require_bucket(ctx)
    await ctx.services.run(ctx.services.meta.delete_bucket_setting, ctx.bucket, SETTING)
    forget(ctx.services.meta, ctx.bucket)
    return empty_response(204)  # also when there was none, as S3 answers


# -- browsers ---------------------------------------------------------------------


async def preflight(request: Request, bucket: str, key: str | None,
                    services: Services) -> Response:
    """The answer to ``OPTIONS`` on a bucket or an object (no authentication)."""
    origin = request.headers.get("origin")
    if not origin:
        raise S3Error("BadRequest", NO_ORIGIN)
    method = request.headers.get("access-control-request-method")
    rules = await bucket_rules(services, bucket)
    if rules is None:
        exists = await services.run(services.meta.get_bucket, bucket) is not None
        raise S3Error("AccessForbidden", NOT_ENABLED if exists else BUCKET_NOT_FOUND,
                      Method=method or "OPTIONS", ResourceType="BUCKET")
    if method not in CORS_METHODS:
        raise S3Error("BadRequest", f"Invalid Access-Control-Request-Method: {method or 'null'}")
    requested = parse_header_list(request.headers.get("access-control-request-headers", ""))
    rule = find_rule(rules, origin, method, requested)
    if rule is None:
        raise S3Error("AccessForbidden", NOT_ALLOWED, Method=method,
                      ResourceType="OBJECT" if key is not None else "BUCKET")
    return empty_response(200, response_headers(rule, origin, requested))


async def actual_response_headers(request: Request, bucket: str,
                                  services: Services) -> list[tuple[str, str]]:
    """The CORS headers for a non-preflight request to ``bucket``: those of
    the first matching rule, or none. S3 reads ``Access-Control-Request-*``
    here too when a client sends them (see ``sealbox.http.cors``)."""
    origin = request.headers.get("origin")
    if not origin:
        return []
    rules = await bucket_rules(services, bucket)
    if not rules:
        return []
    method = request.headers.get("access-control-request-method") or request.method
    requested = parse_header_list(request.headers.get("access-control-request-headers", ""))
    rule = find_rule(rules, origin, method, requested)
    return [] if rule is None else response_headers(rule, origin, requested)


async def cors_preflight(ctx: Context) -> Response:
    return await preflight(ctx.request, ctx.bucket, ctx.endpoint.key, ctx.services)


HANDLERS = {
    "PutBucketCors": put_bucket_cors,
    "GetBucketCors": get_bucket_cors,
    "DeleteBucketCors": delete_bucket_cors,
    "CorsPreflight": cors_preflight,  # unauthenticated: handlers.SELF_AUTHENTICATING
}
