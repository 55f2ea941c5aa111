"""A TLS listener that tells a plain-HTTP client what it did.

asyncio's TLS server reads a connection's first bytes as a TLS record; a
client speaking plain HTTP to the TLS port gets its connection closed with
no answer (curl: "Empty reply from server"). Like nginx ("The plain HTTP
request was sent to HTTPS port"), this server accepts each connection
itself and peeks at its first byte: every TLS connection starts with a
handshake record (0x16), which goes to the event loop's TLS machinery as
``create_server(ssl=…)`` would have; anything else is answered 400, as an
S3 XML error, and closed.

A connection counts against no cap until it is handed over, so the wait
for its first byte is bounded by the handshake timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

log = logging.getLogger("sealbox.http")

TLS_HANDSHAKE_RECORD = 0x16
PLAIN_HTTP_MESSAGE = "The plain HTTP request was sent to HTTPS port"
_BODY = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>BadRequest</Code>'
         f"<Message>{PLAIN_HTTP_MESSAGE}</Message></Error>").encode()
PLAIN_HTTP_ANSWER = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/xml\r\n"
                     b"Content-Length: " + str(len(_BODY)).encode() +
                     b"\r\nConnection: close\r\n\r\n" + _BODY)
DEFAULT_WAIT = 10.0  # seconds for a first byte, when no handshake timeout is set
_DRAIN_SECONDS = 1.0  # reading what the plain client still sends, so close sends no RST
_MAX_DRAIN = 64 * 1024


class SniffingServer:
    """Accepts from ``sock`` (which it owns and closes) until ``close``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 factory: Callable[[], asyncio.Protocol], context: ssl.SSLContext,
                 handshake_timeout: float | None) -> None:
        self.loop = loop
        self.sock = sock
        self.factory = factory
        self.context = context
        self.wait = handshake_timeout or DEFAULT_WAIT
        self._pending: set[asyncio.Task[None]] = set()
        sock.setblocking(False)
        self._accepting = loop.create_task(self._accept())

    def close(self) -> None:
        """Accept no more; connections already accepted go on."""
        self._accepting.cancel()
        self.sock.close()

    async def _accept(self) -> None:
        while True:
            try:
                conn, _ = await self.loop.sock_accept(self.sock)
            except asyncio.CancelledError:
                raise
            except OSError as error:  # EMFILE and the like: wait, as asyncio does
                log.error("accept failed (%s); retrying", error)
                await asyncio.sleep(0.5)
                continue
            conn.setblocking(False)
            task = self.loop.create_task(self._sniff(conn))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

    async def _sniff(self, conn: socket.socket) -> None:
        try:
            first = await asyncio.wait_for(self._peek(conn), self.wait)
        except (TimeoutError, OSError):
            conn.close()
            return
        if not first:  # closed before a byte
            conn.close()
            return
        if first[0] == TLS_HANDSHAKE_RECORD:
            try:
                await self.loop.connect_accepted_socket(
                    self.factory, conn, ssl=self.context, ssl_handshake_timeout=self.wait)
            except (OSError, ssl.SSLError, TimeoutError) as error:
                log.debug("TLS handshake failed: %s", error)
                conn.close()
            return
        await self._refuse(conn)

    async def _peek(self, conn: socket.socket) -> bytes:
        while True:
            try:
                return conn.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                pass
            ready: asyncio.Future[None] = self.loop.create_future()
            self.loop.add_reader(conn.fileno(), _wake, ready)
            try:
                await ready
            finally:
                self.loop.remove_reader(conn.fileno())

    async def _refuse(self, conn: socket.socket) -> None:
        """The 400, then the client's bytes drained (closing with unread
        bytes would reset the connection, and the client might not see
        the answer)."""
        try:
            with contextlib.suppress(BlockingIOError):
                conn.recv(_MAX_DRAIN)
            await asyncio.wait_for(self.loop.sock_sendall(conn, PLAIN_HTTP_ANSWER),
                                   _DRAIN_SECONDS)
            conn.shutdown(socket.SHUT_WR)
            drained = 0
            while drained < _MAX_DRAIN:
                data = await asyncio.wait_for(self.loop.sock_recv(conn, 4096), _DRAIN_SECONDS)
                if not data:
                    break
                drained += len(data)
        except (OSError, TimeoutError):
            pass
        finally:
            conn.close()


def _wake(ready: asyncio.Future[None]) -> None:
    if not ready.done():
        ready.set_result(None)
