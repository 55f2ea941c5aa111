"""Recording failed authentications for the signature doctor, off the
request path, as the audit trail is written (``server/audit.py``).

A refused signed request (``RECORDED_CODES``) costs the request path one
tuple appended to a bounded deque; a thread writes the queue every
``FLUSH_SECONDS`` in one transaction (``store/sql/auth_failures.py``),
which also trims the table. What is kept is what the server saw — method,
scheme, Host, path, query, the headers a signature covers, the client's
address, the canonical request and string to sign — with every signature
replaced by its fingerprint (``doctor.model.recorded_signature``): the
doctor can still tell which variation of the request the signer signed,
by comparing fingerprints, and nobody can replay it. A flood of bad
signatures drops the oldest queued records, never blocks a request.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from sealbox.auth.sigv4.canonical import parse_query
from sealbox.background import Periodic
from sealbox.doctor.model import recorded_signature
from sealbox.errors import S3Error
from sealbox.server.audit import ANONYMOUS, CLOUDFRONT_URL, claimed
from sealbox.server.request import Request

log = logging.getLogger("sealbox.doctor")

FLUSH_SECONDS = 0.5
CAPACITY = 1000
MAX_TEXT = 16 * 1024  # a path, query or canonical request is cut here
RECORDED_CODES = frozenset({
    "SignatureDoesNotMatch", "AccessDenied", "InvalidAccessKeyId", "RequestTimeTooSkewed",
    "AuthorizationQueryParametersError", "AuthorizationHeaderMalformed",
    "XAmzContentSHA256Mismatch", "BadDigest",
})
# Headers a SigV2 signature covers whether listed or not.
_V2_HEADERS = ("content-type", "content-md5", "date")
_SIGNATURE_IN_HEADER = re.compile(r"(Signature=)([^,\s]+)")


def _secret_header(name: str) -> bool:
    """Header values that are secrets themselves (SSE-C keys, session
    tokens): kept as fingerprints, like signatures."""
    return name == "x-amz-security-token" or (name.startswith("x-amz-")
                                               and name.endswith("-customer-key"))


class FailureRecorder:
    """The queue and its thread; ``store`` has ``insert_auth_failures``."""

    def __init__(self, store: Any, capacity: int = CAPACITY,
                 flush_seconds: float = FLUSH_SECONDS) -> None:
        self.store = store
        self.flush_seconds = flush_seconds
        self.queue: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self._thread = Periodic("sealbox-doctor", self.flush, flush_seconds, log=log)

    def note(self, request: Request, request_id: str, error: S3Error) -> None:
        """Queue ``request``'s refusal if it is a signed request's (cheap)."""
        if error.code not in RECORDED_CODES:
            return
        self.queue.append((request_id, time.time(), request, error.code, error.message,
                           error.fields.get("CanonicalRequest"),
                           error.fields.get("StringToSign")))

    def note_edge(self, request: Request, request_id: str) -> None:
        """Queue a CloudFront signed URL the edge refused (its code and
        reason are in the request's audit note)."""
        note = request.audit
        if note.auth != CLOUDFRONT_URL or not note.error_code:
            return
        key_pair_id = note.access_key or request.query.get("Key-Pair-Id") or "-"
        self.queue.append((request_id, time.time(), request, note.error_code,
                           note.reason or "", None, None, key_pair_id))

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Write what is queued and stop the thread."""
        self._thread.close()

    def flush(self) -> int:
        """Write what is queued; how many."""
        rows = []
        while self.queue:
            row = _row(*self.queue.popleft())
            if row is not None:
                rows.append(row)
        if rows:
            self.store.insert_auth_failures(rows, int(time.time() * 1000))
        return len(rows)


def _row(request_id: str, at: float, request: Request, code: str, message: str,
         canonical_request: Any, string_to_sign: Any,
         key_pair_id: str | None = None) -> tuple[Any, ...] | None:
    auth, access_key, signature = claimed(request)
    if key_pair_id is not None:  # a CloudFront signed URL (note_edge)
        auth, access_key, signature = CLOUDFRONT_URL, key_pair_id, None
    if auth == ANONYMOUS or not access_key:
        return None
    headers = request.facts().headers
    kept = {name: recorded_signature(headers[name]) if _secret_header(name)
            else headers[name] for name in _signed_names(request, headers) if name in headers}
    if "authorization" in kept:
        kept["authorization"] = _SIGNATURE_IN_HEADER.sub(
            lambda m: m.group(1) + recorded_signature(m.group(2)), kept["authorization"])
        if kept["authorization"].startswith("AWS ") and signature:
            kept["authorization"] = kept["authorization"].replace(
                signature, recorded_signature(signature))
    return (request_id, int(at * 1000), _cut(access_key[:128]), code, _cut(message[:1024]),
            _cut(request.method), request.scheme, _cut(headers.get("host", "")),
            _cut(request.raw_path), _cut(_sealed_query(request.raw_query)),
            json.dumps(kept)[:MAX_TEXT], request.client_ip or request.client,
            _cut(canonical_request), _cut(string_to_sign))


def _cut(value: Any) -> Any:
    """Text as it can be stored: cut at ``MAX_TEXT``; bytes that were not
    UTF-8 (kept as surrogates) become U+FFFD, which both databases hold."""
    if value is None:
        return None
    text = str(value)[:MAX_TEXT]
    if not text.isascii():
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _signed_names(request: Request, headers: Mapping[str, str]) -> list[str]:
    """The headers a signature covers (SigV4's list, or SigV2's fixed ones)."""
    # With the proxy's own account of the Host it rewrote (doctor.model.forwarded_hosts).
    names = {"host", "authorization", "x-amz-date", "x-amz-content-sha256", *_V2_HEADERS,
             "x-forwarded-host", "forwarded"}
    listed = request.query.get("X-Amz-SignedHeaders", "")
    found = re.search(r"SignedHeaders=([^,\s]+)", headers.get("authorization", ""))
    if found:
        listed = found.group(1)
    names.update(name.lower() for name in listed.split(";") if name)
    names.update(name for name in headers if name.startswith("x-amz-"))
    return sorted(names)


def _sealed_query(raw_query: str) -> str:
    """The query with each signature replaced by its fingerprint."""
    out = []
    for part in raw_query.split("&"):
        name, eq, value = part.partition("=")
        if name in ("X-Amz-Signature", "Signature", "X-Amz-Security-Token") and eq:
            # Fingerprinted as the server reads it (a "+" is a space).
            decoded = parse_query(part)[0][1]
            value = quote(recorded_signature(decoded), safe="")
        out.append(f"{name}{eq}{value}")
    return "&".join(out)
