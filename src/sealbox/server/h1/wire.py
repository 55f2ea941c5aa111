"""HTTP/1.1 response framing, as bytes: no I/O.

What the connection writes is built here: the status line, the header
block (checked, so no header the app sends can split the response), the
``Date`` header (formatted once a second), chunked framing, and the few
answers the server gives itself (400, 431, 500, ``100 Continue``, and S3's
RequestTimeout and ServiceUnavailable).
"""

from __future__ import annotations

import http
import re
import time
from collections.abc import Iterable
from email.utils import formatdate
from xml.sax.saxutils import escape

from sealbox.errors import CATALOGUE

# RFC 9110 5.1: a field name is a token; 5.5: a value has no CR, LF or NUL
# (HTAB and obs-text are allowed). The whole block is checked with one
# match: lower-case token names (as ASGI asks), single-line values.
_HEADER_LINES = re.compile(rb"(?:[!#$%&'*+\-.^_`|~0-9a-z]+: [\t\x20-\x7e\x80-\xff]*\r\n)*")
_BAD_NAME = re.compile(rb'[\x00-\x20\x7f()<>@,;:\\"/\[\]?={}\x80-\xff]')
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"


class InvalidResponse(Exception):
    """The app's response cannot be framed (a bad header, a wrong length)."""


def _status_line(status: int) -> bytes:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")


STATUS_LINES = {status: _status_line(status) for status in range(100, 600)}


class DateHeader:
    """``date: <IMF-fixdate>\\r\\n``, reformatted only when the second changes."""

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = b"date: " + formatdate(now, usegmt=True).encode("ascii") + b"\r\n"
        return self._line


class Head:
    """A response head ready to write, and what it says about the body."""

    __slots__ = ("chunked", "close", "content_length", "data")

    def __init__(self, data: bytes, content_length: int | None, chunked: bool,
                 close: bool) -> None:
        self.data = data
        self.content_length = content_length  # None: chunked or up to the close
        self.chunked = chunked
        self.close = close


def encode_head(status: int, headers: Iterable[tuple[bytes, bytes]], date: bytes, *,
                keep_alive: bool, bodiless: bool, http_10: bool) -> Head:
    """The head of a response; raises ``InvalidResponse`` for a header that
    is not a token name with a single-line value, or a bad status.

    ``bodiless``: a HEAD request, or a status that has no body (1xx, 204,
    304), so no framing is added. Without ``content-length`` the body is
    sent chunked to HTTP/1.1 clients and delimited by the close for HTTP/1.0.
    """
    line = STATUS_LINES.get(status) if type(status) is int else None
    if line is None:
        raise InvalidResponse(f"status {status!r}")
    headers = list(headers)
    block = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
    # A CR LF inside a value would pass the match as a line of its own: the
    # count of line ends tells.
    if _HEADER_LINES.fullmatch(block) is None or block.count(b"\r\n") != len(headers):
        # Names not in lower case (which ASGI asks for), or a bad header.
        headers = [(name.lower(), value) for name, value in headers]
        for name, value in headers:
            if not name or _BAD_NAME.search(name):
                raise InvalidResponse(f"header name {name[:40]!r}")
            if _BAD_VALUE.search(value):
                raise InvalidResponse(f"value of {name[:40]!r}")
        block = b"".join([name + b": " + value + b"\r\n" for name, value in headers])
    fields = dict(headers)
    repeated = len(fields) != len(headers)
    content_length: int | None = None
    chunked = False
    close = not keep_alive
    length = fields.get(b"content-length")
    if length is not None:
        if not length.isdigit() or (repeated and _count(headers, b"content-length") > 1):
            raise InvalidResponse("content-length")
        content_length = int(length)
    coding = fields.get(b"transfer-encoding")
    if coding is not None:
        if coding.strip().lower() != b"chunked" or content_length is not None:
            raise InvalidResponse("transfer-encoding other than chunked, or with a length")
        chunked = True
    if b"connection" in fields:
        for name, value in headers:
            if name == b"connection" and b"close" in [t.strip() for t in value.lower().split(b",")]:
                close = True
        # Said once, below, from the connection's decision.
        block = b"".join([name + b": " + value + b"\r\n" for name, value in headers
                          if name != b"connection"])
    parts = [line, block, date]
    if not bodiless and content_length is None and not chunked:
        if http_10:
            close = True  # the body ends with the connection
        else:
            chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
    if close:
        parts.append(b"connection: close\r\n")
    elif http_10:
        parts.append(b"connection: keep-alive\r\n")
    parts.append(b"\r\n")
    if bodiless:
        content_length, chunked = 0, False
    return Head(b"".join(parts), content_length, chunked, close)


def _count(headers: list[tuple[bytes, bytes]], name: bytes) -> int:
    return sum(1 for n, _ in headers if n == name)


def chunk(data: bytes) -> bytes:
    """One chunk of a chunked body (never the empty last chunk)."""
    return b"%x\r\n%b\r\n" % (len(data), data)


def plain_answer(status: int, text: str, date: bytes, *, close: bool = True) -> bytes:
    """A short text/plain answer the server gives on its own."""
    body = text.encode("utf-8")
    return b"".join((STATUS_LINES[status], b"content-type: text/plain; charset=utf-8\r\n",
                     b"content-length: %d\r\n" % len(body), date,
                     b"connection: close\r\n" if close else b"", b"\r\n", body))


def s3_error(code: str, date: bytes) -> bytes:
    """An answer the server gives on its own, with S3's XML error body for
    ``code`` (from the one catalogue), and ``connection: close``.

    Clients that speak S3 read the code from the body: botocore, for one,
    retries RequestTimeout and ServiceUnavailable by their code. There is
    no RequestId: no request reached the app, which is what numbers them.
    """
    spec = CATALOGUE[code]
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(spec.message)}</Message></Error>").encode()
    return b"".join((STATUS_LINES[spec.status], b"content-type: application/xml\r\n",
                     b"content-length: %d\r\n" % len(body), date, b"connection: close\r\n",
                     b"\r\n", body))
