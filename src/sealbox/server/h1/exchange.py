"""One request and its response: the ASGI ``receive`` and ``send`` of an
HTTP/1.1 exchange on a connection (``sealbox.server.h1.connection``).

The request body arrives in the pieces the parser hands over; ``receive``
gives them to the app one at a time, and the connection stops reading the
socket while more than ``HIGH_WATER`` bytes wait (so a 5 GiB upload
holds at most that much here). ``100 Continue`` is sent the first time the
app asks for a body the client is holding back.

The response head is kept until the first body message so that a small
response leaves in one write. Besides ``http.response.body``, the app may
send ``http.response.zerocopy`` (the ASGI zero-copy extension, offered on
plain TCP only): a run of an open file that goes to the socket with
``sendfile(2)``; and ``sealbox.response.borrowed`` (sealbox's own): a body
piece in memory the app fills again once ``send`` returns (a decrypted
run of a sealed object), written to the socket before returning instead of
being queued, or copied where it cannot be (TLS; ``borrowed``). The
declared ``content-length`` is enforced: a response that ends short or
runs long closes the connection, since the client could not tell where it
ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from sealbox.server.h1 import borrowed, sendfile, wire
from sealbox.server.h1.carrier import Carrier
from sealbox.server.log_redact import loggable_target

# A body piece this large is written apart from the head (connection.py's
# WRITE_THROUGH: it would not wait to be coalesced anyway).
LARGE_PIECE = 16 * 1024

log = logging.getLogger("sealbox.http")

HIGH_WATER = 1024 * 1024  # request body bytes held before reading stops
BORROWED = "sealbox.response.borrowed"  # the message server/send.py sends
DISCONNECT = {"type": "http.disconnect"}
EMPTY_END = {"type": "http.request", "body": b"", "more_body": False}


class Exchange:
    """The ASGI side of one request; the connection feeds it and is told
    when its response is complete."""

    __slots__ = (
        "body",
        "buffered",
        "chunked",
        "complete",
        "conn",
        "delivered_end",
        "disconnected",
        "expect_continue",
        "head",
        "head_request",
        "http_10",
        "keep_alive",
        "remaining",
        "request_complete",
        "scope",
        "started",
        "waiter",
    )

    def __init__(self, conn: Carrier, scope: dict[str, Any], *, keep_alive: bool,
                 expect_continue: bool, http_10: bool) -> None:
        self.conn = conn
        self.scope = scope
        self.keep_alive = keep_alive
        self.head_request = scope["method"] == "HEAD"
        self.http_10 = http_10
        # request body
        self.body: deque[bytes] = deque()
        self.buffered = 0
        self.request_complete = False
        self.delivered_end = False  # the app has had the message with more_body False
        self.waiter: asyncio.Future[None] | None = None
        self.expect_continue = expect_continue
        # response
        self.started = False
        self.head: wire.Head | None = None  # encoded, not yet written
        self.chunked = False
        self.remaining = 0  # body bytes the content-length still promises
        self.complete = False
        self.disconnected = False

    # -- fed by the connection ---------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.complete or self.disconnected:
            return  # a body the app never read: dropped (the connection closes)
        self.body.append(data)
        self.buffered += len(data)
        if self.buffered > HIGH_WATER:
            self.conn.pause_reading()
        self._wake()

    def end_of_request(self) -> None:
        self.request_complete = True
        self._wake()

    def disconnect(self) -> None:
        self.disconnected = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    # -- ASGI receive --------------------------------------------------------
    async def receive(self) -> dict[str, Any]:
        while True:
            if self.disconnected:
                return DISCONNECT
            if self.body:
                data = self.body.popleft()
                self.buffered -= len(data)
                if self.buffered < HIGH_WATER // 4:
                    self.conn.maybe_resume_reading()
                more = bool(self.body) or not self.request_complete
                if not more:
                    self.delivered_end = True
                return {"type": "http.request", "body": data, "more_body": more}
            if self.request_complete:
                if not self.delivered_end:
                    self.delivered_end = True
                    return EMPTY_END
                if self.complete:
                    return DISCONNECT
            elif self.expect_continue:
                self.expect_continue = False
                if not self.started:
                    self.conn.write(wire.CONTINUE)
            if self.complete and not self.request_complete:
                return DISCONNECT  # the answer went out; the rest of the body never will
            self.conn.maybe_resume_reading()
            waiter = self.waiter = self.conn.loop.create_future()
            await waiter

    # -- ASGI send -------------------------------------------------------------
    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        conn = self.conn
        if self.disconnected:
            return  # nobody to tell; the app finishes its work undisturbed
        if not self.started:
            if kind != "http.response.start":
                raise RuntimeError(f"expected http.response.start, got {kind!r}")
            self._start(message)
            return
        if self.complete:
            raise RuntimeError(f"{kind!r} after the response was complete")
        if conn.write_paused:
            await conn.drain()
            if self.disconnected:
                return
        if kind == "http.response.body":
            self._body(message.get("body", b""), message.get("more_body", False))
        elif kind == BORROWED:
            await self._borrowed(message.get("body", b""), message.get("more_body", False))
        elif kind == "http.response.zerocopy" and conn.zerocopy:
            await self._file(message)
        else:
            raise RuntimeError(f"unexpected ASGI message {kind!r}")

    def _start(self, message: dict[str, Any]) -> None:
        status = message["status"]
        conn = self.conn
        # A request whose body was not all read cannot be followed by another
        # on this connection: its remaining bytes would be read as one.
        keep_alive = self.keep_alive and self.request_complete and not conn.closing
        bodiless = self.head_request or status in (204, 304) or status < 200
        try:
            head = wire.encode_head(status, message.get("headers", ()), conn.server.date.line(),
                                    keep_alive=keep_alive, bodiless=bodiless,
                                    http_10=self.http_10)
        except wire.InvalidResponse as error:
            raise RuntimeError(f"invalid response: {error}") from None
        self.started = True
        self.expect_continue = False
        self.keep_alive = not head.close
        self.head = head
        self.chunked = head.chunked
        self.remaining = -1 if head.content_length is None else head.content_length
        if conn.server.access_log:
            # The query too, its signatures fingerprinted (server.log_redact).
            target = loggable_target(self.scope["raw_path"].decode("latin-1"),
                                     self.scope["query_string"].decode("latin-1"))
            log.info('%s - "%s %s HTTP/%s" %d', self.scope["client"][0], self.scope["method"],
                     target, self.scope["http_version"], status)

    def _body(self, data: bytes, more: bool) -> None:
        if self.head_request:
            data = b""
        elif self.chunked:
            if data:
                data = wire.chunk(data)
            if not more:
                data += wire.LAST_CHUNK
        elif self.remaining >= 0:
            self.remaining -= len(data)
            if self.remaining < 0:
                self.conn.abort("response body longer than its content-length")
                raise RuntimeError("response body longer than its content-length")
        head = self.head
        if head is not None:
            self.head = None
            if len(data) >= LARGE_PIECE:
                # A large first piece (a streamed or decrypted body) is not
                # copied behind its head: a MiB copy costs more than a write.
                self.conn.write(head.data)
                self.conn.flush()
            else:
                data = head.data + data if data else head.data
        if data:
            self.conn.write(data)
        if not more:
            self._finish()

    async def _borrowed(self, data: bytes | memoryview, more: bool) -> None:
        """A body piece the app reuses once this returns: all of it is in the
        kernel (or in a copy of our own) before it does."""
        if self.head_request or self.chunked or len(data) < LARGE_PIECE:
            self._body(bytes(data), more)  # framed, dropped or small: copied
            return
        if self.remaining >= 0:
            self.remaining -= len(data)
            if self.remaining < 0:
                self.conn.abort("response body longer than its content-length")
                raise RuntimeError("response body longer than its content-length")
        head, self.head = self.head, None
        await borrowed.write_borrowed(self.conn, data, head.data if head is not None else b"")
        if not more and not self.disconnected:
            self._finish()

    async def _file(self, message: dict[str, Any]) -> None:
        if self.chunked or self.remaining < 0:
            raise RuntimeError("http.response.zerocopy needs a content-length")
        head = self.head
        if head is not None:
            self.head = None
            self.conn.write(head.data)
        file = message["file"]
        offset = message.get("offset")
        count = message.get("count")
        if offset is None:
            offset = file.tell()
        if count is None:
            count = sendfile.size(file) - offset
        if not self.head_request and count:
            if count > self.remaining:
                self.conn.abort("response body longer than its content-length")
                raise RuntimeError("response body longer than its content-length")
            self.remaining -= count
            await sendfile.send(self.conn, file, offset, count)
        if not message.get("more_body", False) and not self.disconnected:
            self._finish()

    def _finish(self) -> None:
        if self.remaining > 0 and not self.head_request:
            self.conn.abort("response body shorter than its content-length")
            raise RuntimeError("response body shorter than its content-length")
        self.complete = True
        self._wake()
        self.conn.response_complete(self)

    # -- the app's end ---------------------------------------------------------
    def app_done(self, error: BaseException | None) -> None:
        """The app's coroutine ended (``error`` if it raised)."""
        if error is not None and not isinstance(error, asyncio.CancelledError):
            log.error("ASGI app failed on %s %s", self.scope["method"],
                      self.scope["raw_path"][:200].decode("latin-1"), exc_info=error)
        if self.complete or self.disconnected:
            return
        if not self.started:
            if error is None:
                log.error("ASGI app returned without a response")
            self.started = True
            self.conn.write(wire.plain_answer(500, "Internal Server Error",
                                              self.conn.server.date.line()))
            self.keep_alive = False
            self.complete = True
            self.conn.response_complete(self)
            return
        self.conn.abort("ASGI app ended before its response did")
