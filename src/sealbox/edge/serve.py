"""The edge: a distribution answering viewers on its own host names, as
CloudFront answers them.

Per viewer request, in CloudFront's order:

1. the distribution is the one whose domain name or alias is the Host
   header (``edge_directory``); a disabled one answers 403;
2. the cache behaviour is the first whose path pattern matches the path,
   else the default one;
3. its viewer protocol policy: ``redirect-to-https`` sends plain-HTTP
   viewers a 301 to the HTTPS URL, ``https-only`` a 403;
4. its allowed methods (GET and HEAD are served; others are refused);
5. when it trusts key groups, the signed URL — or, when the URL carries no
   signing parameter, the signed cookies — must verify
   (``auth.cloudfront``), else CloudFront's 403 XML;
6. the cache (``store.edge_cache``): a fresh entry is a ``Hit``; a stale one
   is revalidated with the origin (same ETag: ``RefreshHit``); otherwise the
   object is fetched from the origin bucket as the distribution
   (``edge_origin``: origin access control and the bucket policy decide),
   kept for the TTL the behaviour and the origin's Cache-Control give
   (``http.freshness``), and served (``Miss``);
7. Range and conditional requests are answered from what was fetched.

A hit is not judged by the bucket again, as on CloudFront: what a
distribution fetched, it serves to every viewer its behaviour admits, until
the entry expires or is invalidated.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from urllib.parse import unquote_to_bytes

from sealbox.api.common.access_gate import AccessGate
from sealbox.api.common.context import Services
from sealbox.api.s3 import cors
from sealbox.api.s3.common import object_response_headers
from sealbox.api.s3.objects import RESPONSE_OVERRIDES, open_spans, response_overrides
from sealbox.api.s3.sealing import read_key
from sealbox.auth.cloudfront import (
    CloudFrontRefusal,
    VerificationCache,
    signing_inputs,
    verify_request,
    viewer_resource,
)
from sealbox.edge.cache import CachedObject, EdgeCache, Source
from sealbox.edge.directory import EdgeDirectory
from sealbox.edge.origin import fetch_record, origin_request, origin_target
from sealbox.edge.responses import (
    cloudfront_headers,
    error_page,
    redirect_to_https,
    refusal_response,
)
from sealbox.errors import S3Error
from sealbox.http.conditional import evaluate_get
from sealbox.http.cookies import parse_cookie_header
from sealbox.http.freshness import TtlSettings, cache_ttl
from sealbox.http.ranges import parse_range
from sealbox.links.model import REVOKED
from sealbox.server.audit import CLOUDFRONT_COOKIE, CLOUDFRONT_URL
from sealbox.server.request import Request
from sealbox.server.responses import FileSpan, Response, error_response
from sealbox.store.edge import Distribution
from sealbox.store.edge_config import CacheBehavior
from sealbox.store.full import EDGE_CACHE_NOTICE, out_of_space
from sealbox.store.meta import SSE_C, SSE_KMS, ObjectRecord

log = logging.getLogger("sealbox.edge")

SERVED_METHODS = frozenset({"GET", "HEAD"})
FILL_ATTEMPTS = 3
SSE_C_AT_THE_EDGE = ("The object is encrypted with a customer-provided key (SSE-C), which a "
                     "distribution cannot pass to its origin; read it from S3 with its key.")
# AWS lets CloudFront decrypt SSE-KMS only where the key's policy allows its
# service principal; sealbox's KMS keys have no key policies.
SSE_KMS_AT_THE_EDGE = ("The object is encrypted with a KMS key (SSE-KMS), which only "
                       "principals of the key's account may use; read it from S3.")
# Headers of a 304, besides the CloudFront ones (RFC 9110 §15.4.5).
NOT_MODIFIED_HEADERS = frozenset({"etag", "last-modified", "cache-control", "expires"})


class Edge:
    """The edge of one server process: its cache, its view of the
    configuration, and its cache of verified signatures."""

    def __init__(self, services: Services, gate: AccessGate, cache: EdgeCache,
                 node: str, tls_port: int | None = None) -> None:
        self.services = services
        self.tls_port = tls_port  # where redirect-to-https sends viewers (--tls-port)
        self.gate = gate
        self.cache = cache
        self.node = node
        self.directory = EdgeDirectory(services.meta, cache, services.clock.now)
        self.verifications = VerificationCache()

    def distribution_for(self, host: str, version: int) -> Distribution | None:
        """The distribution answering on ``host``; synchronous (store reads)."""
        return self.directory.for_host(host, version)

    async def serve(self, request: Request, distribution: Distribution, version: int,
                    request_id: str) -> Response:
        """A viewer's request to ``distribution``; never raises for anything a
        viewer can send."""
        note = request.audit
        note.operation = "EdgeRequest"
        try:
            response = await self._serve(request, distribution, version, request_id)
        except CloudFrontRefusal as refusal:
            log.debug("edge %s refused %s: %s", distribution.id, refusal.code, refusal.reason)
            note.error_code, note.reason, note.cache = refusal.code, refusal.reason, "Error"
            if refusal.key_pair_id:
                note.access_key = refusal.key_pair_id
            response = refusal_response(refusal, request_id, self.node)
        except S3Error as error:  # the origin's answer, or a bad viewer path
            note.error_code, note.reason, note.cache = error.code, error.message, "Error"
            response = error_response(error, request_id, self.node, None, request.method)
            response.headers.extend(cloudfront_headers("Error", request_id, self.node))
        if behavior_cors(request, distribution) is not None and request.method != "OPTIONS":
            # Errors too, as S3 sends them: a page can read a 403 only if it carries them.
            response.headers.extend(await self._cors_headers(request, distribution))
        if request.method == "HEAD":
            response.head_only = True
        return response

    async def _cors_headers(self, request: Request, distribution: Distribution
                            ) -> list[tuple[str, str]]:
        bucket = behavior_cors(request, distribution)
        if bucket is None:
            return []
        return await cors.actual_response_headers(request, bucket, self.services)

    async def _serve(self, request: Request, distribution: Distribution, version: int,
                     request_id: str) -> Response:
        config = distribution.config
        if not config.enabled:
            return error_page(403, "Bad request.", "This distribution is disabled.",
                              request_id, self.node)
        path = _viewer_path(request.raw_path)
        behavior = config.behavior_for(path)
        note = request.audit
        note.bucket, note.key = config.origin(behavior.target_origin_id).bucket, path[1:]
        if not request.secure and behavior.viewer_protocol_policy != "allow-all":
            if behavior.viewer_protocol_policy == "redirect-to-https" and \
                    request.method in SERVED_METHODS:
                return redirect_to_https(https_url(request, self.tls_port), request_id,
                                         self.node)
            return error_page(403, "Bad request.", "This distribution serves HTTPS only.",
                              request_id, self.node)
        if (request.method == "OPTIONS" and "OPTIONS" in behavior.allowed_methods
                and behavior.forward_origin):
            # A CORS preflight, answered by the bucket's CORS rules as S3 answers it.
            bucket = config.origin(behavior.target_origin_id).bucket
            response = await cors.preflight(request, bucket, path, self.services)
            response.headers.extend(cloudfront_headers("Miss", request_id, self.node))
            return response
        if request.method not in behavior.allowed_methods or request.method not in SERVED_METHODS:
            return error_page(403, "Bad request.", "This distribution is not configured to "
                              "allow the HTTP request method that was used for this request.",
                              request_id, self.node)
        now = self.services.clock.now()
        if behavior.restricted:
            self._check_signature(request, behavior, version, now)
        if path == "/" and config.default_root_object:
            path = "/" + config.default_root_object
        cache_path = path
        if behavior.forward_query_string:
            _, _, query = viewer_resource(f"{path}?{request.raw_query}").partition("?")
            cache_path = f"{path}?{query}" if query else path
        return await self._answer(request, distribution, behavior, path, cache_path, version,
                                  now, request_id)

    def _check_signature(self, request: Request, behavior: CacheBehavior, version: int,
                         now: datetime) -> None:
        keys = self.directory.trusted_keys(behavior.trusted_key_groups, version)
        url = _url(request, request.scheme)
        cookies = parse_cookie_header(request.headers.get("cookie"))
        note = request.audit
        if "Signature" in request.query or "Key-Pair-Id" in request.query:
            note.auth, note.signature = CLOUDFRONT_URL, request.query.get("Signature")
        else:
            note.auth, note.signature = CLOUDFRONT_COOKIE, cookies.get("CloudFront-Signature")
        grant = verify_request(url, cookies, source_ip=request.client_ip or None,
                               now=now.timestamp(), trusted_keys=keys, cache=self.verifications)
        note.access_key = grant.key_pair_id
        links = self.services.links
        if links is not None and links.revoked(version):
            # A revoked URL or cookie (sealbox.links): after the verdict
            # cache, on every request.
            _, inputs = signing_inputs(url, cookies)
            try:
                links.check_revoked(inputs.get("Signature"), version)
            except S3Error:
                raise CloudFrontRefusal("AccessDenied", REVOKED) from None

    async def _answer(self, request: Request, distribution: Distribution,
                      behavior: CacheBehavior, path: str, cache_path: str, version: int,
                      now: datetime, request_id: str) -> Response:
        # A response is kept per value of each header in the cache key.
        headers = request.headers
        variant = "\n".join(f"{name}={headers.get(name, '')}"
                             for name in behavior.cache_key_headers)
        key = (distribution.id, cache_path, variant)
        epoch = now.timestamp()
        entry = self.cache.get(key)
        record: ObjectRecord | None = None
        x_cache = "Hit"
        if entry is not None and not entry.fresh(epoch):
            record = await self._fetch(request, distribution, behavior, path, version, now)
            # Kept only while the origin's current version is the one cached:
            # a new version of the same bytes has the same ETag but its own
            # Last-Modified (and version id, metadata), which the entry replays.
            if record.etag == entry.etag and record.last_modified == entry.last_modified:
                entry = self.cache.refresh(entry, epoch, _ttl(record, behavior, now))
                x_cache = "RefreshHit"
            else:
                entry = None
        if entry is None:
            x_cache = "Miss"
            entry, record = await self._fill(request, distribution, behavior, path, key,
                                             version, now, record)
        if entry is not None:
            return self._from_entry(request, entry, x_cache, epoch, now, request_id, behavior)
        assert record is not None
        for attempt in range(FILL_ATTEMPTS):  # not kept: sent from the origin's blobs
            try:
                return self._from_origin(request, record, now, request_id, behavior)
            except FileNotFoundError:  # overwritten meanwhile: read it again
                if attempt == FILL_ATTEMPTS - 1:
                    raise
                record = await self._fetch(request, distribution, behavior, path, version, now)
        raise AssertionError("unreachable")

    async def _fetch(self, request: Request, distribution: Distribution,
                     behavior: CacheBehavior, path: str, version: int,
                     now: datetime) -> ObjectRecord:
        """The origin's record of the object, judged as the distribution."""
        key = path[1:]
        if not key:  # the bucket itself: S3 would list it, which the edge does not
            raise S3Error("AccessDenied")
        origin = distribution.config.origin(behavior.target_origin_id)
        oac = (self.directory.origin_access_control(origin.origin_access_control_id, version)
               if origin.origin_access_control_id else None)
        target = origin_target(distribution, origin, key, oac, now)
        origin_view = origin_request(request, target, behavior)
        services = self.services
        record: ObjectRecord = await services.read(fetch_record, self.gate, services.meta,
                                                   origin_view, target, version)
        if record.sealing is not None and record.sealing.kind == SSE_C:
            # CloudFront cannot pass a customer's key to S3, and neither can
            # a viewer's URL: such an object is read from S3, with its key.
            raise S3Error("InvalidRequest", SSE_C_AT_THE_EDGE)
        if record.sealing is not None and record.sealing.kind == SSE_KMS:
            raise S3Error("InvalidRequest", SSE_KMS_AT_THE_EDGE)
        return record

    async def _fill(self, request: Request, distribution: Distribution,
                    behavior: CacheBehavior, path: str, key: tuple[str, str, str], version: int,
                    now: datetime, record: ObjectRecord | None
                    ) -> tuple[CachedObject | None, ObjectRecord]:
        """Fetch and keep the object; (None, record) when it is not to be kept."""
        for attempt in range(FILL_ATTEMPTS):
            if record is None:
                record = await self._fetch(request, distribution, behavior, path, version, now)
            ttl = _ttl(record, behavior, now)
            # An encrypted object is never kept in the disk cache, which
            # would hold its plaintext: it is decrypted from its blobs on
            # each request instead.
            if ttl <= 0 or not self.cache.fits(record.size) or record.sealing is not None:
                self.cache.drop(key)
                return None, record
            sources = _sources(self.services, record)
            headers = object_response_headers(record)
            try:
                entry = await self.services.run(
                    self.cache.fill, key, sources, record.etag, record.last_modified, headers,
                    now.timestamp(), ttl)
            except FileNotFoundError:  # overwritten meanwhile: read it again
                if attempt == FILL_ATTEMPTS - 1:
                    raise
                record = None
                continue
            except OSError as error:
                if not out_of_space(error):
                    raise
                # A cache is an optimisation: a full disk must not fail the
                # viewer. Served from the origin's blobs, not kept.
                EDGE_CACHE_NOTICE.report(error)
                self.cache.drop(key)
                return None, record
            self.directory.note_filled(distribution.id)
            return entry, record
        raise AssertionError("unreachable")

    def _from_entry(self, request: Request, entry: CachedObject, x_cache: str, epoch: float,
                    now: datetime, request_id: str, behavior: CacheBehavior) -> Response:
        headers = _overridden(request, behavior, list(entry.headers))
        if x_cache != "Miss":
            headers.append(("age", str(max(0, int(epoch - entry.stored_at)))))
        return self._body(request, headers, entry.etag, entry.last_modified, entry.size,
                          functools.partial(_entry_body, entry), x_cache, now, request_id)

    def _from_origin(self, request: Request, record: ObjectRecord, now: datetime,
                     request_id: str, behavior: CacheBehavior) -> Response:
        headers = _overridden(request, behavior, object_response_headers(record))
        blobs = self.services.blobs
        data_key = read_key(self.services, record.sealing, None)  # SSE-S3's; SSE-C never here
        return self._body(request, headers, record.etag, record.last_modified, record.size,
                          lambda start, end: open_spans(blobs, record, start, end, data_key),
                          "Miss", now, request_id)

    def _body(self, request: Request, headers: list[tuple[str, str]], etag: str,
              last_modified: datetime, size: int,
              body_for: Callable[[int, int], bytes | list[FileSpan]], x_cache: str,
              now: datetime, request_id: str) -> Response:
        """The object's answer: 304, 206 or 200, with the CloudFront headers."""
        marks = cloudfront_headers(x_cache, request_id, self.node)
        request.audit.cache = x_cache
        if evaluate_get(request.headers, etag, last_modified, now=now):
            kept = [(n, v) for n, v in headers if n in NOT_MODIFIED_HEADERS]
            return Response(304, kept + marks)
        status = 200
        start, end = 0, size - 1
        byte_range = parse_range(request.headers.get("range"), size)
        if byte_range is not None:
            status, start, end = 206, byte_range.start, byte_range.end
            headers.append(("content-range", byte_range.content_range(size)))
        headers.append(("content-length", str(max(0, end - start + 1))))
        if request.method == "HEAD" or end < start:
            return Response(status, headers + marks)
        body = body_for(start, end)
        if isinstance(body, bytes):
            return Response(status, headers + marks, body)
        return Response(status, headers + marks, spans=body)


def _entry_body(entry: CachedObject, start: int, end: int) -> bytes | list[FileSpan]:
    """Bytes start..end (inclusive) of a cached body: from memory when it is
    kept there, else a span of its file (the whole file: sent zero-copy)."""
    if entry.body is not None:
        return entry.body[start:end + 1]
    whole = start == 0 and end == entry.size - 1
    return [FileSpan(entry.open(), start, end - start + 1, entry.path if whole else None)]


def _viewer_path(raw_path: str) -> str:
    """The viewer's path, percent-decoded once, as behaviours and the
    origin's keys read it; ``InvalidURI`` when it is not UTF-8."""
    path = raw_path.split("?", 1)[0] or "/"
    try:
        return unquote_to_bytes(path.encode("utf-8", "surrogateescape")).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI") from None


def _url(request: Request, scheme: str) -> str:
    """The viewer's URL as sent (Host header, raw path and query)."""
    host = request.headers.get("host", "")
    query = f"?{request.raw_query}" if request.raw_query else ""
    return f"{scheme}://{host}{request.raw_path}{query}"


def https_url(request: Request, tls_port: int | None) -> str:
    """Where ``redirect-to-https`` sends a viewer: the same host, path and
    query over HTTPS, on the port that speaks it: directly, ``--tls-port``;
    behind a trusted proxy (whose X-Forwarded-Proto said http), or with no
    TLS port here, the default 443 of the same host, where the TLS
    terminator in front listens (CloudFront's own redirect does the same)."""
    host = request.headers.get("host", "")
    name = _host_name(host)
    port = None if request.proxied else tls_port
    if port is None or port == 443:
        authority = name
    else:
        authority = f"{name}:{port}"
    query = f"?{request.raw_query}" if request.raw_query else ""
    return f"https://{authority}{request.raw_path}{query}"


def _host_name(host: str) -> str:
    """A Host header without its port (``[::1]:80`` keeps its brackets)."""
    if host.startswith("["):
        end = host.find("]")
        return host[: end + 1] if end > 0 else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def behavior_cors(request: Request, distribution: Distribution) -> str | None:
    """The origin bucket whose CORS rules answer this request: when the
    viewer sent an Origin and its behaviour forwards it; else None."""
    if "origin" not in request.headers:
        return None
    try:
        behavior = distribution.config.behavior_for(_viewer_path(request.raw_path))
    except S3Error:
        return None
    if not behavior.forward_origin:
        return None
    return distribution.config.origin(behavior.target_origin_id).bucket


def _ttl(record: ObjectRecord, behavior: CacheBehavior, now: datetime) -> int:
    if "*" in behavior.cache_key_headers:
        return 0  # CloudFront: forwarding all headers turns caching off
    settings = TtlSettings(behavior.min_ttl, behavior.default_ttl, behavior.max_ttl)
    return cache_ttl(record.headers, settings, now)


def _sources(services: Services, record: ObjectRecord) -> Sequence[Source]:
    blobs = services.blobs
    return [Source(open=functools.partial(blobs.open, s.blob_id), size=s.size,
                   local_path=blobs.local_path(s.blob_id))
            for s in record.segments if s.size > 0]


def _overridden(request: Request, behavior: CacheBehavior,
                headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """S3's ``response-*`` overrides, when the behaviour forwards the query
    string to the origin (as S3 would apply them to the signed origin request)."""
    if not behavior.forward_query_string or RESPONSE_OVERRIDES.keys().isdisjoint(request.query):
        return headers
    overrides = response_overrides(request.query)  # S3's InvalidArgument for a bad value
    return [(n, v) for n, v in headers if n not in overrides] + list(overrides.items())
