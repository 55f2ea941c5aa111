"""The audit trail's writer: one event per request, written in batches off
the request path, and (``--log-format json``) one JSON log line each.

The request path builds a tuple (``EVENT_FIELDS``) and appends it to a
bounded deque; nothing else. Every ``FLUSH_SECONDS`` the server's event
loop takes up to ``BATCH`` queued events, turns each signature into its
fingerprint and packs them (``store.audit_batches.pack``); the executor
writes the batch in one transaction (``insert_audit_batch``) and logs it
as JSON lines; once an hour it removes events older than the retention.
Without a loop (tools, tests) a thread does the same. A full queue
never blocks a request: the oldest unsent event is dropped and counted
(``sealbox_audit_dropped``). With ``--workers N`` each process has its own
queue and thread.

The same thread publishes this process's metrics for the other workers
(``sealbox.server.metrics_http.Shared``) once a second.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from sealbox.auth.principal import AuthResult
from sealbox.background import Periodic
from sealbox.metrics import Counters
from sealbox.server.log_redact import fingerprint
from sealbox.server.request import Request
from sealbox.store import audit_batches
from sealbox.store.audit_batches import Packed
from sealbox.store.full import out_of_space

log = logging.getLogger("sealbox.audit")
access_log = logging.getLogger("sealbox.access")

FLUSH_SECONDS = 0.5
BATCH = 1000
CAPACITY = 100_000
SWEEP_SECONDS = 3600.0
PUBLISH_SECONDS = 1.0

# The event tuple, in order; the JSON names of ``sealbox audit --json``.
EVENT_FIELDS = ("Time", "RequestId", "Operation", "Bucket", "Key", "Principal", "AccessKeyId",
                "Auth", "LinkId", "SignatureFingerprint", "SourceIp", "UserAgent", "Referer",
                "Status", "ErrorCode", "Reason", "BytesSent", "BytesReceived", "DurationMs",
                "EdgeCache", "VersionId")
SIGNATURE = EVENT_FIELDS.index("SignatureFingerprint")
USER_AGENT, REFERER, REASON = (EVENT_FIELDS.index(name)
                               for name in ("UserAgent", "Referer", "Reason"))
MAX_TEXT = 1024  # user agents, referers and reasons are cut here
MAX_VERSION_ID = 1024  # a versionId the request named, unchecked if refused early

# How a request authenticated (the ``Auth`` field).
SIGV4_HEADER = "SigV4-Header"
SIGV4_PRESIGNED = "SigV4-Presigned"
SIGV2 = "SigV2"
POST_POLICY = "PostPolicy"
CLOUDFRONT_URL = "CloudFront-URL"
CLOUDFRONT_COOKIE = "CloudFront-Cookie"
SIGNING_ENDPOINT = "SigningEndpoint"  # set by the managed links' signing endpoint
ANONYMOUS = "Anonymous"


def claimed(request: Request) -> tuple[str, str | None, str | None]:
    """How the request says it is signed: (``Auth``, access key id, the
    signature as sent). Read from the request, so a refused signature is
    named as well as an accepted one; a few dict lookups on the hot path."""
    query = request.query
    signature = query.get("X-Amz-Signature")
    if signature is not None:
        return SIGV4_PRESIGNED, query.get("X-Amz-Credential", "").split("/", 1)[0], signature
    authorization = request.headers.get("authorization")
    if authorization:
        if authorization.startswith("AWS4-"):
            key = _after(authorization, "Credential=", "/")
            return SIGV4_HEADER, key, _after(authorization, "Signature=", ",")
        if authorization.startswith("AWS "):
            key, _, signature = authorization[4:].partition(":")
            return SIGV2, key.strip(), signature.strip()
    signature = query.get("Signature")
    if signature is not None and "AWSAccessKeyId" in query:
        return SIGV2, query["AWSAccessKeyId"], signature
    return ANONYMOUS, None, None


# How an accepted signature was made (AuthResult's type and algorithm) → ``Auth``.
_AUTH_NAMES: dict[tuple[str, str | None], str] = {("REST-QUERY-STRING", "AWS4-HMAC-SHA256"): SIGV4_PRESIGNED,
               ("REST-HEADER", "AWS4-HMAC-SHA256"): SIGV4_HEADER,
               ("REST-QUERY-STRING", "AWS"): SIGV2, ("REST-HEADER", "AWS"): SIGV2}


def note_signer(note: Any, auth: AuthResult) -> None:
    """What an accepted signature says for the event, from the verifier's
    own result: ``claimed`` need not read the request again (a refused one
    still is read by ``claimed``)."""
    name = _AUTH_NAMES.get((auth.auth_type, auth.signature_version))
    if name is not None and note.auth is None:
        note.auth, note.access_key, note.signature = (name, auth.principal.access_key,
                                                      auth.signature)


def _after(text: str, marker: str, end: str) -> str | None:
    start = text.find(marker)
    if start < 0:
        return None
    start += len(marker)
    stop = text.find(end, start)
    return (text[start:] if stop < 0 else text[start:stop]).strip() or None


def version_of(request: Request | None, headers: list[tuple[str, str]]) -> str | None:
    """The object version a request acted on, for its event: what its answer
    names (``x-amz-version-id``: the version read, written, or the delete
    marker made), else what the request named (``versionId``). Events
    written before there were versions have none."""
    for name, value in headers:
        if name == "x-amz-version-id":
            return value
    return None if request is None else request.query.get("versionId")


def event(request: Request | None, scope: dict[str, Any], request_id: str, status: int,
          sent: int, started: float, seconds: float,
          version_id: str | None = None) -> tuple[Any, ...]:
    """The event tuple of one answered request (the signature still raw)."""
    note = request.audit if request is not None else None
    if request is None or note is None:
        client = scope.get("client") or ("", 0)
        return (started, request_id, "Unparsed", None, None, None, None, ANONYMOUS, None,
                None, str(client[0]), None, None, status, None, None, sent, 0,
                seconds * 1000.0, None, None)
    auth, access_key, signature = (note.auth, note.access_key, note.signature)
    if auth is None:
        auth, access_key, signature = claimed(request)
        if note.operation == "PostObject" and auth == ANONYMOUS and request.method == "POST":
            auth = POST_POLICY
    headers = request.headers
    return (started, request_id, note.operation, note.bucket, note.key, note.principal,
            access_key, auth, note.link_id, signature, request.client_ip or request.client,
            headers.get("user-agent"), headers.get("referer"), status, note.error_code,
            note.reason, sent, request.bytes_received, seconds * 1000.0, note.cache,
            version_id and version_id[:MAX_VERSION_ID])


class AuditWriter:
    """The queue and its thread; see the module docstring. ``store`` is the
    MetaStore (None: events only logged, with ``--audit off``)."""

    def __init__(self, store: Any | None, counters: Counters, *, json_log: bool,
                 retention_days: float, publish: Callable[[], None] | None = None,
                 capacity: int = CAPACITY, flush_seconds: float = FLUSH_SECONDS,
                 node: str = "") -> None:
        self.store = store
        self.node = node  # --node-id, in each JSON request line
        self.counters = counters
        self.json_log = json_log
        self.retention_days = retention_days
        self.publish = publish
        self.capacity = capacity
        self.flush_seconds = flush_seconds
        self.queue: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self._thread = Periodic("sealbox-audit", self._round, flush_seconds, log=log,
                                final=self.flush)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | asyncio.Handle | None = None
        self._last_sweep = 0.0
        self._last_publish = 0.0

    def add(self, item: tuple[Any, ...]) -> None:
        """Queue one event (the request path's whole cost)."""
        queue = self.queue
        size = len(queue)
        if size >= self.capacity:  # the deque drops the oldest as it appends
            self.counters.audit_dropped += 1
        queue.append(item)
        if size == BATCH and self._loop is None:
            self._thread.wake()

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Write every ``flush_seconds``: driven by ``loop`` (the server's
        event loop) when given, else by a thread of its own."""
        if loop is None:
            self._thread.start()
            return
        self._loop = loop
        self._timer = loop.call_later(self.flush_seconds, self._tick)

    def close(self) -> None:
        """Write what is queued and stop (any thread but the loop's)."""
        loop, timer = self._loop, self._timer
        self._loop = self._timer = None
        if loop is not None and timer is not None:
            loop.call_soon_threadsafe(timer.cancel)
        self._thread.close()

    def _round(self) -> None:
        self.flush()
        self._housekeeping()

    # -- on the event loop -------------------------------------------------
    # A thread of its own costs more than the work: it wants the GIL while
    # the loop holds it, and every time the loop lets it go (each socket
    # call) the thread wakes, so a presigned GET of 1 KiB paid ~23 µs of
    # that thread's CPU per event for ~3 µs of work (bench/observe.py).
    # On the loop, the Python part of a batch (seal, encode, compress: a
    # few ms per thousand events) runs between requests, and only the SQL,
    # which waits outside the GIL, goes to the executor.

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._timer = None
        prepared = self._prepare(BATCH)
        more = bool(self.queue)
        done = loop.run_in_executor(None, self._store, prepared, True)
        done.add_done_callback(lambda _: self._next(more))

    def _next(self, soon: bool) -> None:
        loop = self._loop
        if loop is not None and self._timer is None:
            self._timer = (loop.call_soon(self._tick) if soon
                           else loop.call_later(self.flush_seconds, self._tick))

    # -- the work ------------------------------------------------------------

    def _prepare(self, limit: int) -> list[tuple[list[list[Any]], Packed | None]]:
        """Take up to ``limit`` queued events: (rows, packed batch) pairs."""
        queue = self.queue
        prepared = []
        taken = 0
        while queue and taken < limit:
            batch: list[tuple[Any, ...]] = []
            while queue and len(batch) < BATCH and taken < limit:
                batch.append(queue.popleft())
                taken += 1
            rows = [_sealed(item) for item in batch]
            prepared.append((rows, audit_batches.pack(rows) if self.store is not None
                             else None))
        self.counters.audit_backlog = len(queue)
        return prepared

    def _store(self, prepared: list[tuple[list[list[Any]], Packed | None]],
               housekeeping: bool = False) -> int:
        """Write prepared batches (and their JSON lines); how many events."""
        written = 0
        for rows, packed in prepared:
            if self.store is not None and packed is not None:
                try:
                    self.store.insert_audit_batch(packed)
                except Exception as error:
                    if out_of_space(error):  # expected, and said by the store: no traceback
                        log.error("writing %d audit events failed (%s); they are dropped",
                                  len(rows), error)
                    else:
                        log.exception("writing %d audit events failed; they are dropped",
                                      len(rows))
                    self.counters.audit_dropped += len(rows)
            if self.json_log:
                for row in rows:
                    event = as_json(row)
                    if self.node:
                        event["Node"] = self.node
                    access_log.info("%s", json.dumps(event, ensure_ascii=False))
            written += len(rows)
        if housekeeping:
            try:
                self._housekeeping()
            except Exception:
                log.exception("audit housekeeping failed")
        return written

    def flush(self) -> int:
        """Write every queued event, here and now; how many."""
        written = 0
        while self.queue:
            written += self._store(self._prepare(BATCH))
        self.counters.audit_backlog = len(self.queue)
        return written

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if self.publish is not None and now - self._last_publish >= PUBLISH_SECONDS:
            self._last_publish = now
            self.counters.audit_backlog = len(self.queue)
            self.publish()
        if (self.store is not None and self.retention_days > 0
                and now - self._last_sweep >= SWEEP_SECONDS):
            self._last_sweep = now
            cutoff = time.time() - self.retention_days * 86400
            removed = self.store.delete_audit_events_before(int(cutoff * 1000))
            if removed:
                log.info("audit retention removed %d events", removed)


_FINGERPRINTS: dict[str, str] = {}  # a link's signature repeats with the link
_FINGERPRINTS_MAX = 4096


def _fingerprint(signature: str) -> str:
    found = _FINGERPRINTS.get(signature)
    if found is None:
        if len(_FINGERPRINTS) >= _FINGERPRINTS_MAX:
            _FINGERPRINTS.clear()
        found = _FINGERPRINTS[signature] = fingerprint(signature)
    return found


def _sealed(item: tuple[Any, ...], fingerprints: dict[str, str] = _FINGERPRINTS,
            cut: int = MAX_TEXT) -> list[Any]:
    """The event as written: the time in epoch milliseconds, the signature
    as its fingerprint, long texts cut. A list, changed in place: it runs
    once per event, and a tuple rebuilt by unpacking cost twice as much."""
    row = list(item)
    row[0] = int(row[0] * 1000)
    signature = row[SIGNATURE]
    if signature:
        row[SIGNATURE] = fingerprints.get(signature) or _fingerprint(signature)
    user_agent, referer, reason = row[USER_AGENT], row[REFERER], row[REASON]
    if ((user_agent and len(user_agent) > cut) or (referer and len(referer) > cut)
            or (reason and len(reason) > cut)):
        for index in (USER_AGENT, REFERER, REASON):
            if row[index] is not None:
                row[index] = row[index][:cut]
    return row


def as_json(row: Sequence[Any]) -> dict[str, Any]:
    """A written event as ``sealbox audit --json`` shows it."""
    out = dict(zip(EVENT_FIELDS, audit_batches.widened(row), strict=True))
    out["Time"] = _iso(row[0])
    out["DurationMs"] = round(row[18], 3)
    return out


def _iso(millis: int) -> str:
    seconds, ms = divmod(int(millis), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{ms:03d}Z"


class JsonFormatter(logging.Formatter):
    """``--log-format json``: every log line one JSON object. Request events
    (``sealbox.access``) are the event itself; other records carry their
    time, level, logger and message (already redacted by log_redact)."""

    def __init__(self, node: str = "") -> None:
        super().__init__()
        self.node = node  # --node-id: which node of several wrote the line

    def format(self, record: logging.LogRecord) -> str:
        if record.name == access_log.name:
            return record.getMessage()
        out = {"Time": _iso(int(record.created * 1000)), "Level": record.levelname,
               "Logger": record.name, "Message": record.getMessage()}
        if self.node:
            out["Node"] = self.node
        if record.exc_info:
            out["Exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["Exception"] = record.exc_text
        return json.dumps(out, ensure_ascii=False)
