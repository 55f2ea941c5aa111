"""The ASGI application: the only place with HTTP I/O.

Per request: view the scope, split bucket and key, route to an operation,
authenticate, decide access, run the handler, send the response. Every
S3Error becomes S3's XML error here; anything else becomes InternalError
with the request id and no internal text (the traceback goes to the log).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import os
import secrets
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sealbox.access.networks import Networks
from sealbox.api.admin.api import PREFIX as ADMIN_PREFIX
from sealbox.api.admin.api import admin_api
from sealbox.api.common.access_gate import AccessGate, authorize_s3
from sealbox.api.common.context import Context, Services
from sealbox.api.handlers import HANDLERS, SELF_AUTHENTICATING
from sealbox.api.router import Endpoint, route, split_target, virtual_host_bucket
from sealbox.api.s3 import versioning
from sealbox.api.s3.cors import actual_response_headers
from sealbox.api.s3.encryption import check_request
from sealbox.api.sign.endpoint import SignEndpoint, is_sign_path
from sealbox.auth.authenticate import authenticate
from sealbox.auth.principal import ANONYMOUS_AUTH, AuthResult, Credential, root_principal
from sealbox.clock import Clock, SystemClock
from sealbox.config import RootCredentials, Settings
from sealbox.console import sessions as console_sessions
from sealbox.console.app import PREFIX as CONSOLE_PREFIX
from sealbox.console.app import Console
from sealbox.console.calls import host_on_port
from sealbox.edge.cache import EdgeCache
from sealbox.edge.responses import error_page
from sealbox.edge.serve import Edge
from sealbox.errors import S3Error
from sealbox.lifecycle.worker import LifecycleWorker
from sealbox.links.gate import LinkGate
from sealbox.links.model import LINK_PARAMETER, refusal_code
from sealbox.links.terms import LinkRequest, LinkTerms
from sealbox.links.uses import UseBatches
from sealbox.logs.delivery import LogDelivery
from sealbox.metrics import Counters
from sealbox.server import audit as audit_events
from sealbox.server import metrics_http
from sealbox.server.access_logs import LOG_REDACTION, batch_events, edge_viewer, s3_line
from sealbox.server.audit import AuditWriter
from sealbox.server.auth_failures import FailureRecorder
from sealbox.server.forwarded import parse_networks
from sealbox.server.isolation import STORED_BYTES, isolate_from_console
from sealbox.server.readiness import HEALTH_PATH, READY_PATH, Readiness, health
from sealbox.server.request import ClientDisconnected, Request
from sealbox.server.responses import Response, error_response
from sealbox.server.send import send_response, start_streams
from sealbox.store.blob_sweep import sweep_tick
from sealbox.store.blobs import BlobBackendError, BlobStore
from sealbox.store.edge import Distribution
from sealbox.store.full import NOTICE, out_of_space
from sealbox.store.meta import MetaStore
from sealbox.store.secrets import load_cipher
from sealbox.store.small_puts import SmallPutBatcher

if TYPE_CHECKING:
    from sealbox.store.secrets import SecretCipher

log = logging.getLogger("sealbox")

SWEEP_INTERVAL = 3600.0
# How often each process offers to sweep a page of blobs (one takes the lease).
SWEEP_TICK = 60.0
# Longer than any upload can stream: a 5 GiB part at 100 KB/s takes ~15 h.
SWEEP_MIN_AGE = 24 * 3600.0
SERVICE_PREFIX = "/_sealbox/"
METRICS_PATH = "/_sealbox/metrics"
CONSOLE_PATH = CONSOLE_PREFIX.rstrip("/")


class NoDistribution(Exception):
    """On the edge port: a Host naming no distribution, and not just one."""


@dataclass(frozen=True)
class EdgeTarget:
    """A request for a distribution (the Host header names it)."""

    version: int  # the access version this request read
    distribution: Distribution


@dataclass(frozen=True)
class S3Target:
    """An S3 request: its operation, and who asked (already judged)."""

    endpoint: Endpoint
    auth: AuthResult
    # A managed link's terms, already judged (an unlimited link the gate
    # holds), or the request its use's batch judges (sealbox.links.gate).
    link: LinkTerms | LinkRequest | None = None
    version: int | None = None  # the access version it was judged at


@dataclass(frozen=True)
class ConsoleRedirect:
    """A browser opening ``/`` with no credentials: sent to the console."""


def wants_console(request: Request) -> bool:
    """A person's browser at the root: GET ``/`` with no query, asking for
    HTML and carrying no signature. An S3 client's ListBuckets is signed (or
    asks for XML), so it still gets S3's answer."""
    return (request.method == "GET" and request.raw_path == "/" and not request.raw_query
            and "authorization" not in request.headers
            and "text/html" in request.headers.get("accept", ""))


class SealboxApp:
    """One ASGI callable serving S3 and the service's own paths on one port."""

    def __init__(self, settings: Settings, meta: MetaStore, blobs: BlobStore,
                 root: RootCredentials, clock: Clock | None = None,
                 cipher: SecretCipher | None = None) -> None:
        self.settings = settings
        clock = clock or SystemClock()
        root_credential = Credential(root.access_key, root.secret_key,
                                     root_principal(root.access_key))
        self.gate = AccessGate(meta, root_credential, clock,
                               Networks.from_mapping(settings.network_map()))
        self.services = Services(settings, meta, blobs, clock,
                                 ThreadPoolExecutor(max_workers=32, thread_name_prefix="sealbox"),
                                 lookup_credential=self.gate.lookup_credential, gate=self.gate)
        # Revoked signatures and managed links, checked after access (sealbox.links).
        self.links = LinkGate(meta, lambda: int(clock.now().timestamp()))
        self.link_uses = UseBatches(meta, self.services.run)  # type: ignore[arg-type]
        self.services.links = self.links
        # Objects' SSE-S3 data keys are wrapped by the same keyring as the
        # store's secrets (SEALBOX_SECRET_KEY, or secret.key in the data dir).
        self.services.cipher = cipher if cipher is not None else load_cipher(settings.data_dir)
        self.sign = SignEndpoint(self.services)  # POST /_sealbox/sign[/<account>] (links by JWT)
        if SmallPutBatcher.applies(meta, blobs):
            self.services.small_puts = SmallPutBatcher(meta, blobs)  # type: ignore[arg-type]
        self._trusted_proxies = parse_networks(settings.trusted_proxies)
        # Hosts are random per process and stable for its life, as S3's
        # x-amz-id-2 identifies the host that answered.
        self._host_id = base64.b64encode(secrets.token_bytes(24)).decode()
        self._host_id_bytes = self._host_id.encode()
        # Request ids: a random per-process prefix and a counter, unique
        # without a random draw (a syscall) per request.
        self._id_prefix = secrets.token_hex(4).upper()
        self._request_numbers = itertools.count(1)
        self.edge = Edge(self.services, self.gate,
                         EdgeCache(str(settings.edge_cache_root), settings.edge_cache_bytes),
                         node=secrets.token_hex(16), tls_port=settings.tls_port)
        self.services.edge_directory = self.edge.directory
        self._observe_setup(settings, meta)
        # The web console's requests go through this app, as the signed-in principal.
        self.console = Console(self.services, self)
        # Refused signed requests, kept for the signature doctor (sealbox.doctor).
        self.failures = FailureRecorder(meta)
        self.readiness = Readiness(meta, blobs, self.services.run)
        # S3 server access logs and CloudFront standard logs (sealbox.logs).
        self.log_delivery = LogDelivery(meta, blobs, region=settings.region,
                                        host_id=self._host_id, redact=LOG_REDACTION,
                                        interval=settings.log_delivery_seconds,
                                        on_drop=self._log_record_dropped)
        self.services.log_delivery = self.log_delivery
        # Lifecycle rules, applied by one process of the cluster at a time.
        self.lifecycle = LifecycleWorker(meta, blobs, marker_version=self._marker_version,
                                         interval=settings.lifecycle_interval_seconds,
                                         day_seconds=settings.lifecycle_day_seconds)

    def _marker_version(self, bucket: str) -> str | None:
        """The id a delete marker gets in ``bucket`` now; None: never versioned."""
        state = self.services.meta.get_bucket_setting(bucket, versioning.SETTING)
        return None if state is None else versioning.version_for(state)

    def _observe_setup(self, settings: Settings, meta: MetaStore) -> None:
        """Metrics, the audit trail and JSON request logs (each may be off)."""
        self.counters: Counters | None = Counters() if settings.metrics else None
        self.services.counters = self.counters
        token = settings.metrics_token or os.environ.get("SEALBOX_METRICS_TOKEN", "")
        self.metrics_access = metrics_http.MetricsAccess(settings.metrics_allow, token)
        shared_dir = settings.metrics_dir if settings.metrics and settings.workers > 1 else None
        self.shared = metrics_http.Shared(shared_dir)
        json_log = settings.log_format == "json"
        self._recording = settings.audit or json_log
        self.audit: AuditWriter | None = None
        store = audit_store(settings, meta) if settings.audit else None
        self.services.audit_store = store
        if self._recording or shared_dir is not None:
            self.audit = AuditWriter(
                store, self.counters or Counters(),
                json_log=json_log, retention_days=settings.audit_retention_days,
                node=settings.node_id,
                publish=(lambda: self.shared.publish(self.counters))  # type: ignore[arg-type]
                if shared_dir is not None else None)

    def _log_record_dropped(self, count: int) -> None:
        if self.counters is not None:
            self.counters.access_log_dropped += count

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request_id = f"{self._id_prefix}{next(self._request_numbers):08X}"
        started, clock = time.time(), time.perf_counter()
        method = scope["method"]
        response: Response
        request: Request | None = None
        distribution: Distribution | None = None
        try:
            request = Request.from_scope(scope, receive, self.settings.max_header_bytes,
                                         self._trusted_proxies)
            edge_only = self._on_edge_port(scope)
            on_console_port = _on_port(scope, self.settings.console_port)
            if on_console_port and not _presigned_upload(request):
                response = await self._console_port(request, request_id)
            elif request.raw_path.startswith(SERVICE_PREFIX) and not edge_only:
                response = await self._service_path(request, request_id)
            else:
                target = await self.services.read(self._resolve, request, edge_only)
                if isinstance(target, EdgeTarget):
                    distribution = target.distribution
                    response = await self.edge.serve(request, distribution, target.version,
                                                     request_id)
                    if request.audit.error_code:  # for the signature doctor
                        self.failures.note_edge(request, request_id)
                elif isinstance(target, ConsoleRedirect):
                    request.audit.operation = "ConsoleRedirect"
                    response = self._to_console(request, CONSOLE_PREFIX)
                else:
                    response = await self._s3(request, request_id, target)
            # A body streamed from the blob backend asks for its first bytes
            # now: a backend that fails gets its error answer, not a cut.
            try:
                await start_streams(response)
            except BaseException:
                response.close()
                raise
        except S3Error as error:
            if request is not None:
                request.audit.error_code, request.audit.reason = error.code, error.message
                self.failures.note(request, request_id, error)
            response = error_response(error, request_id, self._host_id, None, method)
        except NoDistribution:
            response = error_page(403, "Bad request.", "No distribution answers on this name.",
                                  request_id, self.edge.node)
        except ClientDisconnected:
            return
        except Exception as error:  # noqa: BLE001 - unexpected() logs it
            said = unexpected(error, "request %s failed", request_id)
            if request is not None:
                request.audit.error_code, request.audit.reason = said.code, said.message
            response = error_response(said, request_id, self._host_id, None, method)
        if (request is not None and "origin" in request.headers and request.method != "OPTIONS"
                and distribution is None and not request.raw_path.startswith(SERVICE_PREFIX)):
            # Errors too: a browser can read a 403 only if it carries them.
            response.headers.extend(await self._cors_headers(request))
        if request is not None and request.body_left_unread:
            response.headers.append(("connection", "close"))
        answering = time.perf_counter()
        try:
            await self._send(scope, send, response, request_id)
        finally:
            response.close()
        logged = request is not None and (
            self.log_delivery.logs_bucket(request.audit.bucket) if distribution is None
            else distribution.config.logging is not None)
        if self.counters is not None or self._recording or logged:
            self._observe(scope, request, response, request_id, started, clock,
                          (answering - clock) * 1000.0, distribution if logged else None,
                          logged)

    def _observe(self, scope: dict[str, Any], request: Request | None, response: Response,
                 request_id: str, started: float, clock: float, turn_around_ms: float,
                 distribution: Distribution | None, logged: bool) -> None:
        """Count the answered request, queue its audit event, and its access
        log record (the same event) when its bucket or distribution logs."""
        seconds = time.perf_counter() - clock
        status = response.status
        if response.head_only or status in (204, 304):
            sent = 0
        elif response.spans is None:
            sent = len(response.body)
        elif len(response.spans) == 1:  # the usual GET: no generator for one span
            sent = response.spans[0].length
        else:
            sent = sum(span.length for span in response.spans)
        counters = self.counters
        if counters is not None:
            note = request.audit if request is not None else None
            counters.request((note and note.operation) or "Unknown", status, seconds, sent,
                             request.bytes_received if request is not None else 0)
            if note is not None:
                if status in (401, 403) and note.error_code:
                    counters.auth_failure(note.error_code)
                    refused = refusal_code(note.reason) if status == 403 else None
                    if refused is not None:
                        counters.link_result(refused)
                elif note.link_id is not None and status < 400:
                    counters.link_result("Admitted")
                if note.cache:
                    counters.cache_result(note.cache)
        item = None
        if self._recording and self.audit is not None:
            item = audit_events.event(request, scope, request_id, status, sent, started, seconds,
                                      audit_events.version_of(request, response.headers))
            self.audit.add(item)
        if logged and request is not None:
            if item is None:
                item = audit_events.event(request, scope, request_id, status, sent, started,
                                          seconds,
                                          audit_events.version_of(request, response.headers))
            if distribution is None:
                line = s3_line(scope, request, response, turn_around_ms)
                self.log_delivery.add_s3(item, line)
                if request.audit.batch_keys:
                    for batch_item in batch_events(item, request.audit.batch_keys):
                        self.log_delivery.add_s3(batch_item, line)
            else:
                target = distribution.config.logging
                assert target is not None
                self.log_delivery.add_edge(item, edge_viewer(scope, request, response,
                                                             distribution, turn_around_ms),
                                           target)

    def _on_edge_port(self, scope: dict[str, Any]) -> bool:
        """Whether the request came in on ``--edge-port`` (only the edge there)."""
        return _on_port(scope, self.settings.edge_port)

    def _to_console(self, request: Request, target: str) -> Response:
        """302 to ``target`` (a console path): on this origin, or on the
        ``--console-port`` origin when there is one."""
        port = self.settings.console_port
        if port is not None:
            host = host_on_port(request.headers.get("host", ""), port)
            target = f"{request.scheme}://{host}{target}"
        return Response(302, [("location", target), ("cache-control", "no-store")])

    async def _console_port(self, request: Request, request_id: str) -> Response:
        """The console's own port: the console (and at ``/``), nothing else
        (``_presigned_upload``s pass before this)."""
        path = request.raw_path
        request.audit.operation = "Console"
        if path == "/":
            return Response(302, [("location", CONSOLE_PREFIX), ("cache-control", "no-store")])
        if path == CONSOLE_PATH or path.startswith(CONSOLE_PREFIX):
            return await self.console(request, request_id, s3_port=self.settings.port)
        return _json_error(404, "NotFound", "This port serves the web console only.")

    def _resolve(self, request: Request,
                 edge_only: bool = False) -> EdgeTarget | S3Target | ConsoleRedirect:
        """Who the request is for, and (for S3) who is asking and may they.

        One synchronous step (inline on SQLite, one thread-pool hop on
        PostgreSQL): read the access version, which every cached rule below
        is keyed by; a Host header naming a distribution goes to the edge
        (sealbox.edge.serve); anything else is routed to its S3 operation,
        authenticated and judged (AccessDenied, or the signature's error).
        On the edge port (``edge_only``) there is no S3: a Host naming no
        distribution goes to the only one there is, else CloudFront's 403."""
        gate = self.gate
        version = gate.version()
        distribution = self.edge.distribution_for(request.headers.get("host", ""), version)
        if distribution is None and edge_only:
            distribution = self.edge.directory.sole_distribution(version)
            if distribution is None:
                raise NoDistribution
        if distribution is not None:
            return EdgeTarget(version, distribution)
        virtual_bucket = virtual_host_bucket(request.headers.get("host", ""),
                                             self.settings.domains)
        bucket, key = split_target(request.raw_path, virtual_bucket)
        if bucket is None and wants_console(request):
            return ConsoleRedirect()
        note = request.audit
        note.bucket, note.key = bucket, key
        endpoint = route(request.method, bucket, key, request.query, request.headers)
        note.operation = endpoint.operation
        # The audit trail names the managed link a request came with, admitted or not.
        note.link_id = request.query.get(LINK_PARAMETER)
        if endpoint.operation in SELF_AUTHENTICATING:
            # The handler authenticates and evaluates once it has read the body.
            return S3Target(endpoint, ANONYMOUS_AUTH)
        auth = authenticate(request.facts(), lambda key: gate.lookup_credential(key, version),
                            self.services.clock.now(), self.settings.region,
                            virtual_bucket=virtual_bucket)
        if not auth.principal.is_anonymous:
            note.principal = auth.principal.arn
            audit_events.note_signer(note, auth)
        authorize_s3(gate, request, auth, endpoint.operation, endpoint.bucket, endpoint.key,
                     version)
        # After the signature (and its cache) and access, every request: a
        # revoked signature, or a managed link's terms (sealbox.links.gate).
        link = self.links.check_s3(auth, request.query, request.headers, request.client_ip,
                                   endpoint.operation, endpoint.bucket, endpoint.key, version)
        return S3Target(endpoint, auth, link, version)

    async def _s3(self, request: Request, request_id: str, target: S3Target) -> Response:
        handler = HANDLERS[target.endpoint.operation]
        check_request(target.endpoint.operation, request.headers,
                      secure=request.scheme == "https",
                      allow_http=self.settings.sse_c_allow_http)
        context = Context(request, target.endpoint, target.auth, self.services, request_id,
                          access_version=target.version)
        link = target.link
        if link is not None:
            if isinstance(link, LinkRequest):
                # Judged with its use, committed before the handler starts the answer.
                link = await self.links.admit(link, self.link_uses)
            context.max_body = link.max_size
        response = await handler(context)
        if request.method == "HEAD":
            response.head_only = True
        if self.settings.console_port is None and target.endpoint.operation in STORED_BYTES:
            isolate_from_console(response)
        return response

    async def _cors_headers(self, request: Request) -> list[tuple[str, str]]:
        """The bucket's CORS headers for a browser's (non-preflight) request."""
        try:
            virtual_bucket = virtual_host_bucket(request.headers.get("host", ""),
                                                 self.settings.domains)
            bucket, _ = split_target(request.raw_path, virtual_bucket)
            if bucket is None:
                return []
            return await actual_response_headers(request, bucket, self.services)
        except S3Error:  # a path that names no bucket (InvalidURI, KeyTooLongError)
            return []
        except Exception:  # the answer itself must still go out
            log.exception("CORS headers for %s failed", request.raw_path[:200])
            return []

    async def _service_path(self, request: Request, request_id: str) -> Response:
        path = request.raw_path.split("?", 1)[0]
        request.audit.operation = "AdminApi"
        if path == HEALTH_PATH:
            request.audit.operation = "Health"
            return health()
        if path == READY_PATH:
            request.audit.operation = "Ready"
            return await self.readiness.answer()
        if path == METRICS_PATH:
            request.audit.operation = "Metrics"
            return self._metrics(request)
        if is_sign_path(path):
            request.audit.operation = "Sign"
            return await self.sign(request)
        if path == CONSOLE_PATH or path.startswith(CONSOLE_PREFIX):
            if await self.services.read(self._names_distribution, request):
                # A distribution's pages (scripts among them) are served on its
                # name: the console there would share their origin.
                request.audit.operation = "Console"
                return _json_error(404, "NotFound", "A distribution's name serves the "
                                   "distribution only; open the console on the server's own "
                                   "address.")
            if self.settings.console_port is not None:  # the console has its own origin
                query = f"?{request.raw_query}" if request.raw_query else ""
                return self._to_console(request, path + query)
            return await self.console(request, request_id)
        if path.startswith(ADMIN_PREFIX):  # the admin JSON API and its OpenAPI document
            return await admin_api(request, self.services, request_id)
        body = json.dumps({"error": {"code": "NotFound", "message": "no such path"}}).encode()
        return Response(404, [("content-type", "application/json")], body)

    def _names_distribution(self, request: Request) -> bool:
        """Whether the request's Host is a distribution's name (synchronous)."""
        host = request.headers.get("host", "")
        return self.edge.distribution_for(host, self.gate.version()) is not None

    def _metrics(self, request: Request) -> Response:
        """The Prometheus text, to the allowed networks or the token's holder."""
        if self.counters is None:
            return _json_error(404, "NotFound", "Metrics are off (start the server with --metrics on).")
        if not self.metrics_access.allows(request.client_ip or request.client,
                                          request.headers.get("authorization")):
            request.audit.error_code = "AccessDenied"
            request.audit.reason = "not from --metrics-allow and no valid --metrics-token"
            return _json_error(403, "AccessDenied", "Metrics are readable from the "
                               "--metrics-allow networks or with the bearer token.")
        if self.audit is not None:
            self.counters.audit_backlog = len(self.audit.queue)
        body = metrics_http.render(self.counters, self.shared, self.settings.node_id)
        return Response(200, [("content-type", metrics_http.CONTENT_TYPE),
                              ("cache-control", "no-store")], body)

    async def _send(self, scope: dict[str, Any], send: Any, response: Response,
                    request_id: str) -> None:
        await send_response(scope, send, response, [(b"x-amz-request-id", request_id.encode()),
                                                    (b"x-amz-id-2", self._host_id_bytes)])

    async def _lifespan(self, receive: Any, send: Any) -> None:
        sweeper: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                sweeper = asyncio.get_running_loop().create_task(self._sweep_forever())
                self.failures.start()
                if self.audit is not None:
                    self.audit.start(asyncio.get_running_loop())
                await asyncio.get_running_loop().run_in_executor(None, self.log_delivery.start)
                self.lifecycle.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if sweeper is not None:
                    sweeper.cancel()
                self.edge.cache.close()
                await asyncio.get_running_loop().run_in_executor(None, self.failures.close)
                if self.audit is not None:
                    await asyncio.get_running_loop().run_in_executor(None, self.audit.close)
                await asyncio.get_running_loop().run_in_executor(None, self.log_delivery.close)
                await asyncio.get_running_loop().run_in_executor(None, self.lifecycle.close)
                if self.services.small_puts is not None:
                    await asyncio.get_running_loop().run_in_executor(
                        None, self.services.small_puts.close)
                self.services.executor.shutdown(wait=False)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _sweep_forever(self) -> None:
        """Remove what crashes leave behind: blobs that no record points at
        (and, on local files, temporary files), and backend uploads a killed
        process began. Only old ones: a younger blob may belong to an upload
        still streaming, here or on another node. Each tick, the process
        that takes the sweep's lease in the metadata store sweeps a page
        (store/blob_sweep.py); expired links and console sessions go hourly."""
        services = self.services
        holder = f"{self.settings.node_id or socket.gethostname()}:{os.getpid()}"
        last_hourly = float("-inf")
        while True:
            try:
                now = int(time.time())  # the lease is shared with other processes: real time
                tick = await services.run(lambda now=now: sweep_tick(
                    services.meta, services.blobs, holder, now, min_age_seconds=SWEEP_MIN_AGE))
                if tick is not None and tick.removed:
                    log.info("sweep removed %d leftover blobs", tick.removed)
                if tick is not None and tick.aborted:
                    log.info("sweep aborted %d incomplete backend uploads", tick.aborted)
                if time.monotonic() - last_hourly >= SWEEP_INTERVAL:
                    last_hourly = time.monotonic()
                    now = int(services.clock.now().timestamp())
                    meta: Any = services.meta  # with the links' methods (sealbox.links.store)
                    swept = await services.run(meta.sweep_links, now)
                    if swept:
                        log.info("sweep removed %d expired links and revocations", swept)
                    await services.run(meta.sweep_console_sessions,
                                       now - console_sessions.IDLE_SECONDS,
                                       now - console_sessions.ABSOLUTE_SECONDS)
            except Exception:
                log.exception("sweep failed")
            await asyncio.sleep(SWEEP_TICK)


def _on_port(scope: dict[str, Any], port: int | None) -> bool:
    """Whether the request came in on listener ``port`` (None: there is none)."""
    if port is None:
        return False
    local = scope.get("server")
    return local is not None and len(local) > 1 and local[1] == port


def _presigned_upload(request: Request) -> bool:
    """A presigned PUT (an object or a part): what the console's page sends
    to the console's own port. Nothing is read back there but an ETag."""
    return (request.method == "PUT" and "X-Amz-Signature" in request.query
            and not request.raw_path.startswith(SERVICE_PREFIX))


def _json_error(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(status, [("content-type", "application/json")], body)


def unexpected(error: Exception, message: str, *args: object) -> S3Error:
    """The answer to an error no handler expected: ``InsufficientStorage``
    when space ran out (sealbox.store.full: noted, and logged now and then),
    else ``InternalError`` with the traceback logged as ``message``."""
    if out_of_space(error):
        NOTICE.report(error)
        return S3Error("InsufficientStorage")
    if isinstance(error, BlobBackendError):
        return backend_failed(error)
    log.error(message, *args, exc_info=error)
    return S3Error("InternalError")


def backend_failed(error: BlobBackendError) -> S3Error:
    """The answer when the blob backend (an S3 cluster) failed: 503, which
    every SDK retries, when trying again may help (it is busy, or cannot be
    reached for now); else 500. Logged in one line: it is not a bug here."""
    log.warning("blob backend %s: %s", error.kind, error)
    if error.kind == "busy":
        return S3Error("SlowDown")
    if error.kind == "unreachable":
        return S3Error("ServiceUnavailable", "The storage backend cannot be reached. Please "
                       "try again.")
    return S3Error("InternalError", "The storage backend failed. Please try again; if it "
                   "persists, the server's log says why.")


def audit_store(settings: Settings, meta: MetaStore) -> Any:
    """Where audit events go: the PostgreSQL metadata database, or on SQLite
    a file of their own (``store.sqlite_audit``)."""
    from sealbox.store.sqlite import SqliteMetaStore

    if not isinstance(meta, SqliteMetaStore):
        return meta
    from sealbox.store.sqlite_audit import AUDIT_FILE, SqliteAuditStore

    return SqliteAuditStore(str(settings.data_dir / AUDIT_FILE))


def open_meta(settings: Settings, cipher: SecretCipher) -> MetaStore:
    """The metadata store ``settings`` name: PostgreSQL when a DSN is given,
    else SQLite in the data dir; access-key secrets under ``cipher``."""
    if settings.meta_dsn:
        from sealbox.store.postgres import PostgresMetaStore

        return PostgresMetaStore(settings.meta_dsn, cipher=cipher)
    from sealbox.store.sqlite import SqliteMetaStore

    return SqliteMetaStore(str(settings.meta_path), cipher=cipher)


def build_app(settings: Settings, root: RootCredentials | None = None,
              clock: Clock | None = None) -> SealboxApp:
    """The app on the stores ``settings`` name: PostgreSQL metadata when a DSN
    is given, else SQLite in the data dir; blobs where ``--blob-store`` says
    (files in the data dir by default). ``root``:
    else from the environment or the store (store/keyring)."""
    from sealbox.store.blob_location import parse_blob_store
    from sealbox.store.blob_stores import open_blob_store
    from sealbox.store.keyring import root_credentials

    os.makedirs(settings.data_dir, mode=0o700, exist_ok=True)
    # Access-key secrets are encrypted with a key kept apart from the
    # metadata (SEALBOX_SECRET_KEY, or secret.key in the data dir).
    cipher = load_cipher(settings.data_dir)
    meta = open_meta(settings, cipher)
    if root is None:
        root = root_credentials(meta, cipher, settings.data_dir)
    blobs = open_blob_store(parse_blob_store(settings.blob_store, settings.data_dir))
    record_uploads = getattr(blobs, "record_uploads", None)
    if record_uploads is not None:  # an S3 backend: its multipart uploads in the store
        record_uploads(meta, settings.node_id or socket.gethostname())
    return SealboxApp(settings, meta, blobs, root, clock, cipher)
