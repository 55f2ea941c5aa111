"""What an access log record needs from the request and its answer beyond
the audit event: the request line, the Host, the object's size, a range's
bounds (``sealbox.logs``). Built only for requests whose bucket or
distribution logs."""

from __future__ import annotations

from typing import Any

from sealbox.logs.cloudfront_format import ViewerRequest
from sealbox.logs.delivery import Redaction
from sealbox.logs.s3_format import RequestLine, object_size
from sealbox.server.audit import EVENT_FIELDS
from sealbox.server.log_redact import loggable_target, redact_query, redact_text
from sealbox.server.request import Request
from sealbox.server.responses import Response
from sealbox.store.edge import Distribution

# No log object holds a signature, a session token or a CloudFront policy:
# each becomes its fingerprint, as in every other log (server.log_redact).
LOG_REDACTION = Redaction(target=loggable_target, query=redact_query, text=redact_text)


def _tls(request: Request) -> str | None:
    """``TLSv1.3``, as both logs name it (the request knows ``1.3``)."""
    return None if request.tls_version is None else "TLSv" + request.tls_version


def _target(request: Request) -> str:
    return request.raw_path + ("?" + request.raw_query if request.raw_query else "")


def s3_line(scope: dict[str, Any], request: Request, response: Response,
            turn_around_ms: float) -> RequestLine:
    """The S3 server access log's own facts of one request."""
    operation = request.audit.operation or ""
    return RequestLine(
        method=request.method, target=_target(request),
        http_version="HTTP/" + str(scope.get("http_version", "1.1")),
        host=request.headers.get("host"), tls_version=_tls(request),
        object_size=object_size(operation, response.headers, request.bytes_received),
        turn_around_ms=turn_around_ms)


_KEY, _OPERATION = EVENT_FIELDS.index("Key"), EVENT_FIELDS.index("Operation")
_STATUS, _SENT = EVENT_FIELDS.index("Status"), EVENT_FIELDS.index("BytesSent")


def batch_events(event: tuple[Any, ...], keys: list[str]) -> list[tuple[Any, ...]]:
    """One event per key a DeleteObjects removed (S3 logs ``BATCH.DELETE.OBJECT``
    for each, besides the request's own ``REST.POST.MULTI_OBJECT_DELETE``)."""
    out = []
    for key in keys:
        row = list(event)
        row[_OPERATION], row[_KEY], row[_STATUS], row[_SENT] = "BatchDeleteObject", key, 204, 0
        out.append(tuple(row))
    return out


def edge_viewer(scope: dict[str, Any], request: Request, response: Response,
                distribution: Distribution, turn_around_ms: float) -> ViewerRequest:
    """The CloudFront standard log's own facts of one viewer request."""
    content_type = content_length = None
    range_start = range_end = None
    for name, value in response.headers:
        if name == "content-type":
            content_type = value
        elif name == "content-length" and value.isdigit():
            content_length = int(value)
        elif name == "content-range" and value.startswith("bytes "):
            first, _, last = value[6:].partition("/")[0].partition("-")
            if first.isdigit() and last.isdigit():
                range_start, range_end = int(first), int(last)
    if content_length is None and response.spans is None and not response.head_only:
        content_length = len(response.body)
    client = scope.get("client")
    forwarded = request.headers.get("x-forwarded-for")
    return ViewerRequest(
        distribution_id=distribution.id, domain_name=distribution.domain_name,
        method=request.method, path=request.raw_path, query=request.raw_query,
        http_version=str(scope.get("http_version", "1.1")), host=request.headers.get("host"),
        secure=request.secure, tls_version=_tls(request),
        client_port=client[1] if client and len(client) > 1 else None,
        forwarded_for=forwarded, cookie=request.headers.get("cookie"),
        content_type=content_type, content_length=content_length,
        range_start=range_start, range_end=range_end, turn_around_ms=turn_around_ms)
