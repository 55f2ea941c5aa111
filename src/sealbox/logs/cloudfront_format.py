"""CloudFront standard log files (access logs, "legacy"). Pure.

A file is UTF-8, gzip-compressed, and starts with two header lines::

    #Version: 1.0
    #Fields: date time x-edge-location sc-bytes c-ip cs-method cs(Host) …

then one tab-separated line per viewer request, fields in ``FIELDS``'s
order, ``-`` for none ("Standard log file fields", CloudFront Developer
Guide). ``cs(Host)`` is the distribution's own domain name and
``x-host-header`` the Host the viewer sent; ``cs(User-Agent)``,
``cs(Referer)``, ``cs(Cookie)`` and ``cs-uri-query`` are URL-encoded, so a
tab or a newline a viewer sends never splits a line. Cookies are written
only when the distribution's ``IncludeCookies`` is true.
"""

from __future__ import annotations

import gzip
import time
from typing import Any, NamedTuple
from urllib.parse import quote

from sealbox.logs.s3_format import (
    BYTES_RECEIVED,
    BYTES_SENT,
    DURATION_MS,
    REFERER,
    REQUEST_ID,
    SOURCE_IP,
    STATUS,
    TIME,
    USER_AGENT,
)

FIELDS = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query", "cs(Cookie)",
    "x-edge-result-type", "x-edge-request-id", "x-host-header", "cs-protocol", "cs-bytes",
    "time-taken", "x-forwarded-for", "ssl-protocol", "ssl-cipher",
    "x-edge-response-result-type", "cs-protocol-version", "fle-status", "fle-encrypted-fields",
    "c-port", "time-to-first-byte", "x-edge-detailed-result-type", "sc-content-type",
    "sc-content-len", "sc-range-start", "sc-range-end",
)
HEADER = "#Version: 1.0\n#Fields: " + " ".join(FIELDS) + "\n"
EDGE_LOCATION = "SBX1"  # one "edge location": this server
CACHE = 19  # the audit event's EdgeCache field (server.audit.EVENT_FIELDS)
_SAFE = "/!$&'()*+,;:=@~-._"


class ViewerRequest(NamedTuple):
    """What the standard log says that the audit event does not (a named
    tuple: built on the request path)."""

    distribution_id: str
    domain_name: str  # the distribution's own name: cs(Host)
    method: str
    path: str  # the raw path, as sent
    query: str  # the raw query, as sent
    http_version: str
    host: str | None
    secure: bool
    tls_version: str | None
    client_port: int | None
    forwarded_for: str | None
    cookie: str | None
    content_type: str | None
    content_length: int | None
    range_start: int | None
    range_end: int | None
    turn_around_ms: float


def _encoded(value: str | None) -> str:
    if not value:
        return "-"
    return quote(value, safe=_SAFE, errors="surrogateescape")


def _plain(value: object) -> str:
    return "-" if value is None or value == "" else str(value)


def render_line(event: tuple[Any, ...], viewer: ViewerRequest, include_cookies: bool) -> str:
    """One tab-separated line (no newline) for a viewer request."""
    stamp = time.gmtime(event[TIME])
    result = event[CACHE] or ("Error" if event[STATUS] >= 400 else "Miss")
    fields = (
        time.strftime("%Y-%m-%d", stamp),
        time.strftime("%H:%M:%S", stamp),
        EDGE_LOCATION,
        str(event[BYTES_SENT]),
        _plain(event[SOURCE_IP]),
        viewer.method,
        viewer.domain_name,
        _encoded_raw(viewer.path),
        str(event[STATUS]),
        _encoded(event[REFERER]),
        _encoded(event[USER_AGENT]),
        _encoded_raw(viewer.query) if viewer.query else "-",
        _encoded(viewer.cookie) if include_cookies else "-",
        result,
        _plain(event[REQUEST_ID]),
        _encoded_raw(viewer.host or ""),
        "https" if viewer.secure else "http",
        str(event[BYTES_RECEIVED]),
        f"{event[DURATION_MS] / 1000:.3f}",
        _encoded_raw(viewer.forwarded_for or ""),
        _plain(viewer.tls_version) if viewer.secure else "-",
        "-",  # ssl-cipher: the TLS layer does not tell the app
        result,
        "HTTP/" + viewer.http_version,
        "-", "-",  # field-level encryption: none
        _plain(viewer.client_port),
        f"{viewer.turn_around_ms / 1000:.3f}",
        result,
        _encoded(viewer.content_type),
        _plain(viewer.content_length),
        _plain(viewer.range_start),
        _plain(viewer.range_end),
    )
    return "\t".join(fields)


def _encoded_raw(value: str) -> str:
    """Text already percent-encoded by the viewer: kept as sent, except what
    could break the line (controls, spaces, tabs, non-ASCII)."""
    if not value:
        return "-"
    return quote(value, safe=_SAFE + "%?", errors="surrogateescape")


def render_file(lines: list[str]) -> bytes:
    """A whole log file, gzip-compressed."""
    text = HEADER + "".join(line + "\n" for line in lines)
    return gzip.compress(text.encode("utf-8"), compresslevel=6, mtime=0)
