"""Writing a ``Response`` as ASGI messages: the head, then the body.

A body held in memory goes out as one message. An object's body is a list
of file spans (``FileSpan``), sent in the cheapest way the server offers:

- small (up to ``SMALL_BODY``): read with one ``pread`` per span and sent
  as one message, so the server writes head and body together, in one
  segment;
- ``http.response.zerocopy`` (sealbox's own server on plain TCP): each span
  goes to the socket with ``sendfile(2)``, never through Python (so the
  span's file must be a real one);
- ``http.response.pathsend`` (granian): the server sends a whole file by path;
- otherwise in ``SEND_CHUNK`` pieces;
- a blob that is no file (``StreamingBlob``: in an S3 bucket, or sealed)
  streams as its backend sends it or as it is decrypted; ``start_streams``
  sends its first request before any header, so that a backend that fails
  still gets an error answer. Where the server offers
  ``sealbox.response.borrowed`` (sealbox's own), pieces go as views of the
  blob's reused buffers, which the server writes before ``send`` returns:
  a decrypted MiB is not copied into a new bytes object to be sent.

A blob shorter than its record is an error (``OSError``), never padded.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO

from sealbox.http.header_values import servable
from sealbox.server.responses import FileSpan, Response
from sealbox.store.blobs import StreamingBlob

SEND_CHUNK = 1024 * 1024
SMALL_BODY = 64 * 1024
# The extension, and its message: a body piece in memory the app fills
# again once ``send`` returns, so the server must not keep it queued.
BORROWED = "sealbox.response.borrowed"
Send = Callable[[dict[str, Any]], Awaitable[None]]


def encode_headers(response: Response, extra: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The response's headers as ASGI bytes, then ``extra``; ``server`` and
    ``content-length`` added unless the response has them."""
    headers = []
    has_server = has_length = False
    try:
        for name, value in response.headers:
            if name == "content-length":
                has_length = True
            elif name == "server":
                has_server = True
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
    except UnicodeEncodeError:
        # A value nothing made servable (every kept value is, where it is
        # made into headers; this is the last guard): encoded, not a 500.
        # Free while nothing fails: the loop is the one that ran anyway.
        headers = [(name.encode("latin-1", "replace"),
                    servable(name, value).encode("latin-1", "replace"))
                   for name, value in response.headers]
        names = {name for name, _ in response.headers}
        has_length, has_server = "content-length" in names, "server" in names
    headers.extend(extra)
    if not has_server:
        headers.append((b"server", b"sealbox"))
    if not has_length:
        spans = response.spans
        length = sum(s.length for s in spans) if spans is not None else len(response.body)
        if response.status != 304 and not (response.status == 204 and length == 0):
            headers.append((b"content-length", str(length).encode()))
    return headers


async def send_response(scope: dict[str, Any], send: Send, response: Response,
                        extra: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": response.status,
                "headers": encode_headers(response, extra)})
    if response.head_only or response.status in (204, 304):
        await send({"type": "http.response.body", "body": b""})
        return
    if response.spans is None:
        await send({"type": "http.response.body", "body": response.body})
        return
    spans = [s for s in response.spans if s.length > 0]
    extensions = scope.get("extensions") or {}
    if any(isinstance(s.file, StreamingBlob) for s in spans):
        await _send_streams(send, spans, borrowed=BORROWED in extensions)
        return
    total = sum(s.length for s in spans)
    if total <= SMALL_BODY:
        await send({"type": "http.response.body", "body": b"".join(map(_read_whole, spans))})
        return
    if "http.response.zerocopy" in extensions:
        last = len(spans) - 1
        for index, span in enumerate(spans):
            await send({"type": "http.response.zerocopy", "file": span.file,
                        "offset": span.offset, "count": span.length, "more_body": index < last})
        return
    if len(spans) == 1 and spans[0].path is not None and "http.response.pathsend" in extensions:
        await send({"type": "http.response.pathsend", "path": spans[0].path})
        return
    await _send_pieces(send, spans)


def _pread(file: BinaryIO, size: int, offset: int) -> bytes:
    """Up to ``size`` bytes at ``offset``: one ``pread`` (no seek) on a real file."""
    try:
        fd = file.fileno()
    except (OSError, AttributeError):  # io.UnsupportedOperation is an OSError
        file.seek(offset)
        return file.read(size)
    return os.pread(fd, size, offset)


def _read_whole(span: FileSpan) -> bytes:
    data = _pread(span.file, span.length, span.offset)
    if len(data) != span.length:  # the blob is shorter than its record
        raise OSError(f"blob ended {span.length - len(data)} bytes early")
    return data


async def _send_pieces(send: Send, spans: list[FileSpan], *, more_after: bool = False) -> None:
    for index, span in enumerate(spans):
        last_span = index == len(spans) - 1 and not more_after
        offset, remaining = span.offset, span.length
        while remaining > 0:
            chunk = _pread(span.file, min(SEND_CHUNK, remaining), offset)
            if not chunk:  # the blob is shorter than its record: never pad with lies
                raise OSError(f"blob ended {remaining} bytes early")
            offset += len(chunk)
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk,
                        "more_body": not (last_span and remaining == 0)})


async def start_streams(response: Response) -> None:
    """Send the first backend request of a streamed body (its errors are
    raised here, before the answer starts)."""
    if response.spans and not response.head_only:
        first = next((s for s in response.spans if s.length > 0), None)
        if first is not None and isinstance(first.file, StreamingBlob):
            await first.file.start(first.offset, first.length)


async def _send_streams(send: Send, spans: list[FileSpan], *, borrowed: bool) -> None:
    """Spans of which some stream from the blob backend, in order;
    ``borrowed``: the server takes views it must write before returning."""
    for span in spans:
        file = span.file
        if isinstance(file, StreamingBlob):
            if borrowed:
                async for piece in file.views(span.offset, span.length):
                    await send({"type": BORROWED, "body": piece, "more_body": True})
                continue
            async for chunk in file.chunks(span.offset, span.length):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        else:
            await _send_pieces(send, [span], more_after=True)
    await send({"type": "http.response.body", "body": b"", "more_body": False})
