"""One HTTP/1.1 connection: bytes in through httptools, ASGI exchanges out.

The parser's callbacks build each request's scope and queue an
``Exchange``; the queue's head is the request being answered, and the next
one starts only when its response is complete (pipelined requests are
answered in order). An app is started after a read has been parsed, not
from inside the parser, so a small body that arrived with its headers is
already there when the app asks for it.

Limits: a request head over ``MAX_HEAD`` bytes gets 431, a malformed one
400, an HTTP/1.1 one without Host 400, and the connection closes. Reading
stops while a body piles up unread (``exchange.HIGH_WATER``) or requests
are waiting behind the current one. Once a second a sweep applies the
timeouts of ``limits.Limits`` to every connection (``deadlines``): an
idle one is closed, a late head or body answered with S3's RequestTimeout
and closed. How many connections are held, in all and per client, is
``admission``'s business.

When a response goes out before the client has sent its whole body (an
error answered early), the connection closes, but lingering: our side is
shut for writing and what still arrives is read and dropped for up to
``LINGER_SECONDS``, so the kernel does not answer those bytes with a reset
that would destroy the response before the client reads it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections import deque
from typing import Any
from urllib.parse import unquote

import httptools

from sealbox.server.h1 import deadlines, eager, wire
from sealbox.server.h1.admission import Admission
from sealbox.server.h1.exchange import BORROWED, HIGH_WATER, Exchange
from sealbox.server.h1.limits import Limits, client_key

log = logging.getLogger("sealbox.http")

MAX_HEAD = 64 * 1024  # request line and headers, as parsed
# Answers smaller than this are written at the end of the loop's turn, all
# together: the client (on loopback, in a VM) is then woken once for many,
# which costs the server less CPU per answer (~9 us measured); larger
# writes go at once, so a body is never held here.
WRITE_THROUGH = 16 * 1024
MAX_HEAD_READ = 2 * MAX_HEAD  # bytes read while a head is incomplete
LINGER_SECONDS = 2.0
REFUSALS_LOGGED_EVERY = 10.0  # seconds: a flood of refusals is one line per this
ASGI = {"version": "3.0", "spec_version": "2.3"}
_TLS_VERSIONS = {"TLSv1": 0x0301, "TLSv1.1": 0x0302, "TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


class ServerState:
    """What every connection of one server shares."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop, *,
                 limits: Limits | None = None, access_log: bool = False,
                 write_threads: bool = True) -> None:
        self.app = app
        # Whether a large borrowed piece is written by a thread (h1.borrowed).
        self.write_threads = write_threads
        self.loop = loop
        self.limits = limits = limits or Limits()
        self.access_log = access_log
        # A TLS handshake that never ends is given up after header_timeout
        # (``listeners``); an arrival not made by then, and a little more, was one.
        self.admission = Admission(loop, max_connections=limits.max_connections or 0,
                                   max_per_client=limits.max_connections_per_ip,
                                   arrival_timeout=(limits.header_timeout or 60.0) + 2.0)
        self.connections: set[Connection] = self.admission.connections  # type: ignore[assignment]
        self.tasks: set[asyncio.Task[Any]] = set()
        self.date = wire.DateHeader()
        self.closing = False
        self._sweeper: asyncio.TimerHandle | None = None
        self._to_flush: list[Connection] = []
        self._refused = 0
        self._refusal_logged = -REFUSALS_LOGGED_EVERY

    def new_connection(self) -> Connection:
        """The protocol factory: a connection, counted from its accept."""
        conn = Connection(self)
        self.admission.arrived(conn)
        return conn

    def note_refusal(self, client: str) -> None:
        """A connection from ``client`` was refused (over its cap): logged,
        one line per ``REFUSALS_LOGGED_EVERY`` seconds at most."""
        self._refused += 1
        now = self.loop.time()
        if now - self._refusal_logged >= REFUSALS_LOGGED_EVERY:
            log.warning("refused %d connection(s) over the per-client cap (%d), the last "
                        "from %s", self._refused, self.limits.max_connections_per_ip, client)
            self._refused = 0
            self._refusal_logged = now

    def defer_flush(self, conn: Connection) -> None:
        """Write ``conn``'s small pieces at the end of this turn of the loop."""
        if not self._to_flush:
            self.loop.call_soon(self._flush)
        self._to_flush.append(conn)

    def _flush(self) -> None:
        conns, self._to_flush = self._to_flush, []
        for conn in conns:
            conn.flush()

    def start_sweeping(self, interval: float | None = None) -> None:
        """Apply the timeouts every ``interval`` seconds (one timer for the
        whole server, none per request or per read)."""
        every = interval or self.limits.sweep_interval()

        def sweep() -> None:
            now = self.loop.time()
            for conn in list(self.connections):
                conn.check(now)
            self.admission.sweep(now)
            self._sweeper = self.loop.call_later(every, sweep)

        self._sweeper = self.loop.call_later(every, sweep)

    def stop_sweeping(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()

    def close_idle(self) -> None:
        """Shutting down: close idle connections now, busy ones after their answer."""
        self.closing = True
        self.admission.stop()
        for conn in list(self.connections):
            conn.shutdown()


class Connection(asyncio.Protocol):
    """The protocol instance of one client connection."""

    def __init__(self, server: ServerState) -> None:
        self.server = server
        self.loop = server.loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Exchange] = deque()  # the head is being answered
        self.active: Exchange | None = None  # its app has been started
        self.incoming: Exchange | None = None  # its body is being read
        self.gone = False  # connection_lost has been called
        self.closing = False  # no request after the current ones
        self.lingering = False
        self.read_paused = False
        self.write_paused = False
        self.refusal: bytes | None = None  # an answer to send once the queue is empty
        self.zerocopy = False
        self.idle_since = self.loop.time()  # the end of the last answer
        self.answered = 0
        self.received = 0  # bytes read, for the sweep to see progress
        self.watch = deadlines.Watch()
        self._client_key: str | None = None
        self._out: list[bytes] = []  # small writes waiting for the end of the turn
        self._out_size = 0
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._write_waiter: asyncio.Future[None] | None = None
        self._sock_fd = -1
        self._dup_fd: int | None = None
        self._linger: asyncio.TimerHandle | None = None
        # per request, while its head is parsed
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._head_read = 0
        self._reading_head = True
        self._expect = False
        self._hosts = 0

    # -- asyncio.Protocol ------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but are one.
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        self._client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else None
        self._local = (str(local[0]), int(local[1])) if isinstance(local, tuple) else None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is not None:
            self._scheme = "https"
            self._extensions: dict[str, Any] = {BORROWED: {}, "tls": {
                "server_cert": None, "client_cert_chain": [], "client_cert_name": None,
                "client_cert_error": None,
                "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
                "cipher_suite": None}}
        else:
            self._scheme = "http"
            sock = transport.get_extra_info("socket")
            if sock is not None:
                self._sock_fd = sock.fileno()
                self.zerocopy = True
                self._extensions = {"http.response.zerocopy": {}, BORROWED: {}}
            else:
                self._extensions = {BORROWED: {}}
        if self._client is not None:
            self._client_key = client_key(self._client[0])
        if not self.server.admission.admit(self, self._client_key):
            # Over this client's cap, and none of its connections idle.
            self.refusal = wire.s3_error("ServiceUnavailable", self.server.date.line())
            self.server.note_refusal(self._client_key or "?")
            self.transport.write(self.refusal)
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self.lingering or self.refusal is not None:
            return  # being closed: what still arrives is dropped
        self.received += len(data)
        if self._reading_head:
            self._head_read += len(data)  # may count body bytes too: checked below
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # Upgrade/CONNECT: nothing after this head is read; answer it, then close.
            self.closing = True
            self.pause_reading()
        except httptools.HttpParserError:
            last = self.queue[-1] if self.queue else None
            if last is not None and self.incoming is None and not last.keep_alive:
                # A whole request that closes the connection, then more bytes
                # (llhttp: "Data after `Connection: close`"). Nothing after it
                # would be read anyway: answer it, drop the rest, and linger
                # on closing (reading is paused) so the rest cannot reset it.
                self.closing = True
                self.pause_reading()
            else:
                if self.refusal is None:
                    self._refuse(400, "Invalid HTTP request")
                return
        if self._reading_head and self._head_read > MAX_HEAD_READ:
            # Still no end to a head after this much: httptools buffers a
            # head whole, so stop before it holds more than a read or two.
            self._refuse(431, "Request header fields too large")
            return
        if self.active is None and self.queue:
            self._start_next()

    def eof_received(self) -> bool | None:
        if not self.queue or self.incoming is not None or self.lingering:
            # Idle, or a body that can no longer end (the client stopped
            # mid-upload): close, and the app sees the client go away.
            return None
        self.closing = True  # whole requests wait for their answers, then close
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.gone = True
        for ex in self.queue:
            ex.disconnect()
        if self.incoming is not None:
            self.incoming.disconnect()
        self._out = []
        self._wake_writers()
        if self._linger is not None:
            self._linger.cancel()
        if self._dup_fd is not None:
            self.loop.remove_writer(self._dup_fd)
            os.close(self._dup_fd)
            self._dup_fd = None
        self.server.admission.lost(self, self._client_key)

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writers()

    # -- httptools callbacks -----------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._head_size = 0
        self._reading_head = True
        self._expect = False
        self._hosts = 0

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._head_size += len(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        name = name.lower()
        if name == b"expect" and value.strip().lower() == b"100-continue":
            self._expect = True
        elif name == b"host":
            self._hosts += 1
        # llhttp keeps trailing whitespace, which is not part of the value (RFC 9110 5.5).
        self._headers.append((name, value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        self._reading_head = False
        self._head_read = 0
        if self._head_size > MAX_HEAD:
            self._refuse(431, "Request header fields too large")
            raise _Refused
        parser = self.parser
        version = parser.get_http_version()
        if self._hosts != 1 and (self._hosts or version != "1.0"):
            # RFC 9112 3.2: "A server MUST respond with a 400 (Bad Request)
            # status code to any HTTP/1.1 request message that lacks a Host
            # header field and to any request message that contains more
            # than one Host header field line".
            self._refuse(400, "Missing or repeated Host header")
            raise _Refused
        url = self._url
        # find, not ``b"#" not in url``: a bytes ``in`` first tries its
        # operand as an int and clears the TypeError, ten times the cost.
        if url[:1] == b"/" and url.find(b"#") < 0:
            raw_path, _, query = url.partition(b"?")
        else:
            try:
                parsed = httptools.parse_url(url)
            except httptools.HttpParserInvalidURLError:
                self._refuse(400, "Invalid request target")
                raise _Refused from None
            raw_path, query = parsed.path or b"/", parsed.query or b""
            if parsed.host:
                self._headers = _with_host(self._headers, _authority(parsed))
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            path = raw_path.decode("utf-8", "surrogateescape")
        if "%" in path:
            path = unquote(path, errors="surrogateescape")
        scope = {
            "type": "http", "asgi": ASGI, "http_version": version,
            "method": parser.get_method().decode("ascii"), "scheme": self._scheme,
            "path": path, "raw_path": raw_path, "query_string": query, "root_path": "",
            "headers": self._headers, "client": self._client, "server": self._local,
            "extensions": self._extensions,
        }
        ex = Exchange(self, scope, keep_alive=parser.should_keep_alive() and not self.closing,
                      expect_continue=self._expect and version == "1.1",
                      http_10=version == "1.0")
        self.incoming = ex
        self.queue.append(ex)
        if len(self.queue) > 1:
            self.pause_reading()  # pipelined: read on when the ones before are answered

    def on_body(self, body: bytes) -> None:
        if self.incoming is not None:
            self.incoming.feed(body)

    def on_message_complete(self) -> None:
        if self.incoming is not None:
            self.incoming.end_of_request()
            self.incoming = None
        self._reading_head = True

    # -- exchanges ---------------------------------------------------------------
    def _start_next(self) -> None:
        if self.active is not None or not self.queue or self.gone:
            return
        ex = self.active = self.queue[0]
        task = eager.start(self.loop, self.server.app(ex.scope, ex.receive, ex.send),
                           ex.app_done)
        if task is not None:
            tasks = self.server.tasks
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    def response_complete(self, ex: Exchange) -> None:
        """``ex``'s response is all written: close, or go on to the next request."""
        if self.queue and self.queue[0] is ex:
            self.queue.popleft()
        self.active = None
        if not ex.keep_alive or self.closing or self.server.closing:
            # Linger if the client may have sent what was not read: the rest
            # of a body, or more after the request (reading was paused).
            self._close(linger=not ex.request_complete or self.read_paused)
            return
        self.idle_since = self.loop.time()
        self.answered += 1
        if self.queue:
            self.loop.call_soon(self._start_next)
        elif self.refusal is not None:
            self._send_refusal()
            return
        self.maybe_resume_reading()

    def _refuse(self, status: int, text: str) -> None:
        """Answer a request we could not read, after those before it, and close."""
        self._refuse_with(wire.plain_answer(status, text, self.server.date.line()))

    def _refuse_with(self, answer: bytes) -> None:
        self.pause_reading()
        active = self.active
        if active is not None and not active.request_complete:
            # The body being read is broken (bad chunked framing): the app
            # sees the client go away, and the client gets the refusal if
            # nothing of the answer has gone out yet.
            if not active.started:
                self.write(answer)
            self.queue.clear()
            self.incoming = None
            active.disconnect()
            self._close(linger=True)
            return
        self.refusal = answer
        # Requests parsed but not started are dropped: the refused one was after them.
        while len(self.queue) > (1 if active is not None else 0):
            self.queue.pop()
        self.incoming = None
        if active is None:
            self._send_refusal()

    def _send_refusal(self) -> None:
        assert self.refusal is not None
        self.write(self.refusal)
        self._close(linger=True)

    # -- writing -----------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self.gone or self.transport.is_closing():
            return
        out = self._out
        if not out:
            if len(data) >= WRITE_THROUGH:
                self.transport.write(data)
                return
            self.server.defer_flush(self)
            self._out_size = 0
        out.append(data)
        self._out_size += len(data)
        if self._out_size >= WRITE_THROUGH:
            self.flush()

    def flush(self) -> None:
        """Hand what waits in ``_out`` to the transport (in order, before anything else)."""
        out = self._out
        if out:
            self._out = []
            if not self.gone and not self.transport.is_closing():
                self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    async def drain(self) -> None:
        while self.write_paused and not self.gone:
            waiter = self.loop.create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def socket_fd(self) -> int | None:
        """The socket's descriptor, for sendfile, with everything written
        before handed to the transport; None on TLS or when closing."""
        if not self.zerocopy or self.gone or self.transport.is_closing():
            return None
        self.flush()
        return self._sock_fd

    async def writable(self) -> None:
        """Wait until the socket takes more bytes (see ``sendfile``)."""
        if self.gone:
            return
        if self._dup_fd is None:
            self._dup_fd = os.dup(self._sock_fd)
        waiter = self._write_waiter = self.loop.create_future()
        self.loop.add_writer(self._dup_fd, _resolve, waiter)
        try:
            await waiter
        finally:
            self._write_waiter = None
            if self._dup_fd is not None:
                self.loop.remove_writer(self._dup_fd)

    def _wake_writers(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        if self._write_waiter is not None:
            waiters.append(self._write_waiter)
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    # -- reading -----------------------------------------------------------------
    def pause_reading(self) -> None:
        if not self.read_paused and not self.gone:
            self.read_paused = True
            self.transport.pause_reading()

    def maybe_resume_reading(self) -> None:
        if (not self.read_paused or self.gone or self.refusal is not None
                or len(self.queue) > 1):
            return
        if self.incoming is not None and self.incoming.buffered >= HIGH_WATER // 4:
            return
        self.read_paused = False
        self.transport.resume_reading()

    # -- closing -----------------------------------------------------------------
    def _close(self, *, linger: bool) -> None:
        if self.gone or self.lingering:
            return
        self.flush()
        if not linger:
            self.transport.close()
            return
        self.lingering = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self._linger = self.loop.call_later(LINGER_SECONDS, self.transport.close)

    def abort(self, reason: str, *, expected: bool = False) -> None:
        """The response cannot be completed: close, so the client sees it cut.
        ``expected``: the client's doing (it went away), not worth a warning."""
        log.log(logging.DEBUG if expected else logging.WARNING, "closing a connection: %s",
                reason)
        self.closing = True
        if not self.gone:
            self.flush()
            self.transport.close()

    def shutdown(self) -> None:
        """The server is stopping: close if idle, else after the answer."""
        self.closing = True
        if not self.queue and not self.gone:
            self.flush()
            self.transport.close()

    # -- the sweep and admission ------------------------------------------------
    def check(self, now: float) -> None:
        """The sweep's look at this connection: apply the timeouts (``deadlines``)."""
        verdict = deadlines.check(self.watch, self._phase(), self.answered, self.idle_since,
                                  self.received, now, self.server.limits)
        if verdict == deadlines.CLOSE:
            self._close_now()
        elif verdict == deadlines.TIME_OUT:
            self.time_out()

    def _phase(self) -> int:
        if self.lingering or self.gone or self.refusal is not None:
            return deadlines.BUSY  # being closed, on its own timer
        ex = self.incoming
        if ex is not None:
            # A body the client owes, unless reading is paused (the app has
            # not taken what came, or requests wait before it) or the client
            # waits, as it may, for 100 Continue.
            return deadlines.BUSY if self.read_paused or ex.expect_continue else deadlines.BODY
        if self.queue:
            return deadlines.BUSY
        if self._head_read or not self.answered:
            return deadlines.HEAD  # begun, or the first one, awaited since the accept
        return deadlines.IDLE

    def time_out(self) -> None:
        """The client is late: answer S3's RequestTimeout if a request has
        begun and nothing of its answer has gone out, and close."""
        if self.incoming is None and not self._head_read:
            self._close_now()  # a new connection that never sent a byte
            return
        log.debug("closing a connection from %s: its request is late", self._client)
        self._refuse_with(wire.s3_error("RequestTimeout", self.server.date.line()))

    def evictable(self, before: float) -> bool:
        """Closing it loses no request: idle, or its head stalled, since
        before ``before`` (``admission``)."""
        if self.queue or self.gone or self.lingering or self.closing \
                or self.refusal is not None:
            return False
        if self._head_read:  # stalled since the sweep saw the head begin
            watch = self.watch
            return (watch.phase == deadlines.HEAD and watch.origin == self.answered
                    and watch.since <= before)
        return self.idle_since <= before

    def evict(self) -> None:
        """Closed to make room at a cap; it no longer counts."""
        self.server.admission.lost(self, self._client_key)
        if self._head_read:
            self.write(wire.s3_error("RequestTimeout", self.server.date.line()))
        self._close_now()

    def _close_now(self) -> None:
        self.flush()
        self.transport.close()


def _authority(url: Any) -> bytes:
    """The host[:port] of an absolute-form target (userinfo dropped)."""
    host = url.host
    if b":" in host:
        host = b"[" + host + b"]"  # an IPv6 literal
    return host if url.port is None else b"%b:%d" % (host, url.port)


def _with_host(headers: list[tuple[bytes, bytes]], host: bytes) -> list[tuple[bytes, bytes]]:
    """RFC 9112 3.2.2: with an absolute-form target, the server "MUST ignore
    the received Host header field (if any) and instead use the host
    information of the request-target"; the app reads the host from Host."""
    if any(name == b"host" for name, _ in headers):
        return [(name, host if name == b"host" else value) for name, value in headers]
    return [*headers, (b"host", host)]  # HTTP/1.0 may send none


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a refused request."""


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
