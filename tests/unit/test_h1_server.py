"""sealbox.server.h1 over loopback: a test ASGI app behind the server, raw
sockets in front, so every byte on the wire is checked."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Self

import pytest

from sealbox.server.h1 import connection as h1_connection
from sealbox.server.h1.connection import ServerState
from sealbox.server.h1.limits import Limits
from sealbox.server.h1.serve import new_event_loop


class App:
    """Routes by path; records what it saw."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.events: list[tuple[str, Any]] = []
        self.release = asyncio.Event()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        self.events.append(("request", (scope["method"], path)))
        if path == "/hello":
            await respond(send, 200, b"hello")
        elif path == "/host":  # the Host the app sees
            await respond(send, 200, dict(scope["headers"]).get(b"host", b"(none)"))
        elif path == "/echo":  # the body's length and MD5, read as it comes
            md5, size = hashlib.md5(), 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    self.events.append(("disconnect", size))
                    return
                md5.update(message["body"])
                size += len(message["body"])
                if not message.get("more_body"):
                    break
            await respond(send, 200, f"{size} {md5.hexdigest()}".encode())
        elif path.startswith("/sleep/"):  # answers after a pause (pipelining order)
            await asyncio.sleep(float(path.rsplit("/", 1)[1]))
            await respond(send, 200, path.encode())
        elif path == "/chunked":  # no content-length: the server frames it
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ab", "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": True})
            await send({"type": "http.response.body", "body": b"cde"})
        elif path == "/file":  # a range of a file, zero-copy when offered
            offset, count = 1000, 300_000
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(count).encode())]})
            with open(self.file, "rb", buffering=0) as f:  # noqa: ASYNC230 - a test app
                assert "http.response.zerocopy" in scope["extensions"]
                await send({"type": "http.response.zerocopy", "file": f, "offset": offset,
                            "count": count})
        elif path == "/borrowed":  # 4 MiB from one reused 512 KiB buffer, plus a small tail
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(BORROWED_SIZE).encode())]})
            assert BORROWED in scope["extensions"]
            buffer = memoryview(bytearray(BORROWED_PIECE))
            for index in range(BORROWED_SIZE // BORROWED_PIECE):
                buffer[:] = borrowed_piece(index)
                await send({"type": BORROWED, "body": buffer, "more_body": True})
                buffer[:] = b"\0" * BORROWED_PIECE  # the server must be done with it
            await send({"type": BORROWED, "body": memoryview(b"tail"), "more_body": False})
        elif path == "/refuse":  # answers without reading the body
            await respond(send, 413, b"too big")
        elif path == "/fail":
            raise RuntimeError("boom")
        elif path == "/long":  # says 10 bytes, sends 3
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"10")]})
            await send({"type": "http.response.body", "body": b"abc"})
        elif path == "/wait":  # waits for the test to release it
            await self.release.wait()
            await respond(send, 200, b"released")
        else:
            await respond(send, 404, b"")


BORROWED = "sealbox.response.borrowed"
BORROWED_PIECE = 512 * 1024
BORROWED_SIZE = 8 * BORROWED_PIECE + 4


def borrowed_piece(index: int) -> bytes:
    return hashlib.sha256(b"%d" % index).digest() * (BORROWED_PIECE // 32)


async def respond(send: Any, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-length", str(len(body)).encode()),
                            (b"x-test", b"1")]})
    await send({"type": "http.response.body", "body": body})


class Server:
    def __init__(self, app: App, limits: Limits | None = None, *,
                 write_threads: bool = True) -> None:
        self.app = app
        self.loop = new_event_loop()
        self.pauses: list[str] = []  # what admission asked of the listener
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.app.release = asyncio.Event()
            self.state = ServerState(app, self.loop, limits=limits, write_threads=write_threads)
            self.state.admission.on_pause = lambda: self.pauses.append("pause")
            self.state.admission.on_resume = lambda: self.pauses.append("resume")
            self.server = self.loop.run_until_complete(self.loop.create_server(
                self.state.new_connection, "127.0.0.1", 0))
            self.port = self.server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(5)

    def call(self, fn: Any) -> None:
        self.loop.call_soon_threadsafe(fn)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture()
def app(tmp_path: Path) -> App:
    file = tmp_path / "blob"
    file.write_bytes(os.urandom(400_000))
    return App(file)


@pytest.fixture()
def server(app: App) -> Iterator[Server]:
    s = Server(app)
    yield s
    s.stop()


class Client:
    """A raw connection that reads whole responses (by length, chunked)."""

    def __init__(self, server: Server, source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=5,
                                             source_address=(source, 0))
        self.buf = b""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _more(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed with {self.buf[:200]!r} unread")
        self.buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._more()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._more()
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def response(self, head_request: bool = False) -> tuple[bytes, dict[bytes, bytes], bytes]:
        """One response: status line, headers, body."""
        while b"\r\n\r\n" not in self.buf:
            self._more()
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        status, *lines = head.split(b"\r\n")
        headers = {k.lower(): v for k, _, v in (line.partition(b": ") for line in lines)}
        if head_request:
            return status, headers, b""
        if b"content-length" in headers:
            return status, headers, self._take(int(headers[b"content-length"]))
        body = b""
        while size := int(self._line(), 16):
            body += self._take(size)
            self._take(2)
        self._take(2)
        return status, headers, body

    def until_closed(self) -> bytes:
        """Everything until the server closes."""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                data, self.buf = self.buf, b""
                return data
            self.buf += chunk

    def closed(self) -> bool:
        return self.until_closed() == b""


def connect(server: Server, source: str = "127.0.0.1") -> Client:
    return Client(server, source)


def test_keep_alive_serves_many_requests_on_one_connection(server: Server) -> None:
    with connect(server) as sock:
        for _ in range(3):
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = sock.response()
            assert (status, body) == (b"HTTP/1.1 200 OK", b"hello")
            assert b"date" in headers and b"connection" not in headers


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /sleep/0.2 HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /sleep/0.01 HTTP/1.1\r\nHost: x\r\n\r\n")
        bodies = [sock.response()[2] for _ in range(3)]
        assert bodies == [b"/sleep/0.2", b"hello", b"/sleep/0.01"]


def test_chunked_request_body_reaches_the_app_whole(server: Server) -> None:
    body = os.urandom(100_000)
    chunks = b"".join(b"%x\r\n%b\r\n" % (len(body[i:i + 7000]), body[i:i + 7000])
                      for i in range(0, len(body), 7000))
    with connect(server) as sock:
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                     + chunks + b"0\r\n\r\n")
        _, _, answer = sock.response()
    assert answer == f"{len(body)} {hashlib.md5(body).hexdigest()}".encode()


def test_expect_100_continue_is_answered_when_the_app_reads(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        assert sock._take(25) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        _, _, answer = sock.response()
    assert answer == b"5 " + hashlib.md5(b"hello").hexdigest().encode()


def test_an_answer_before_the_body_closes_without_100_and_without_a_reset(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"PUT /refuse HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        status, headers, body = sock.response()
        assert (status, headers[b"connection"], body) == (
            b"HTTP/1.1 413 Request Entity Too Large", b"close", b"too big")
        # The client may still send some of its body: the server reads and
        # drops it (lingering), then closes.
        sock.sendall(b"x" * 200_000)
        assert sock.closed()


def test_large_body_is_read_with_flow_control(server: Server, app: App,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    body = os.urandom(8 * 1024 * 1024)
    with connect(server) as sock:
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body))
        sock.sendall(body)
        _, _, answer = sock.response()
    assert answer == f"{len(body)} {hashlib.md5(body).hexdigest()}".encode()


def test_reading_stops_while_an_unread_body_piles_up(server: Server, app: App) -> None:
    """Reading pauses once HIGH_WATER bytes wait, so the sender blocks."""
    with connect(server) as sock:
        sock.sendall(b"PUT /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        sock.sock.setblocking(False)
        sent = 0
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                sent += sock.sock.send(b"x" * 65536)
            except BlockingIOError:
                time.sleep(0.05)
        # Kernel buffers on both sides hold some; the server holds ~1 MiB.
        assert sent < 100_000_000 // 4
        server.call(app.release.set)


def test_client_gone_mid_body_is_a_disconnect_for_the_app(server: Server, app: App) -> None:
    with connect(server) as sock:
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
        time.sleep(0.1)
    deadline = time.monotonic() + 3
    while ("disconnect", 10) not in app.events and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ("disconnect", 10) in app.events


def test_response_without_length_is_chunked(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n")
        _, headers, body = sock.response()
        assert (headers[b"transfer-encoding"], body) == (b"chunked", b"abcde")
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")  # still usable
        assert sock.response()[2] == b"hello"


def test_http_10_response_without_length_ends_with_the_close(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /chunked HTTP/1.0\r\n\r\n")
        data = sock.until_closed()
    assert data.endswith(b"\r\n\r\nabcde") and b"connection: close" in data


def test_head_answers_carry_no_body(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = sock.response(head_request=True)
        assert (status, headers[b"content-length"]) == (b"HTTP/1.1 200 OK", b"5")
        assert sock.response()[2] == b"hello"  # nothing of a body came between


def test_file_range_is_sent_zero_copy(server: Server, app: App) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /file HTTP/1.1\r\nHost: x\r\n\r\n")
        _, _, body = sock.response()
        assert body == app.file.read_bytes()[1000:301_000]
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.response()[2] == b"hello"


@pytest.mark.parametrize("write_threads", [True, False], ids=["by-thread", "on-the-loop"])
def test_a_borrowed_body_arrives_as_sent_though_the_app_overwrites_it(
        app: App, write_threads: bool) -> None:
    # A client slower than the server: the socket fills, and each piece must
    # still be the one sent, not what the app wrote into its buffer after;
    # whether a thread writes the large pieces (fewer workers than cores) or
    # the loop does.
    server = Server(app, write_threads=write_threads)
    try:
        _borrowed_body_arrives_as_sent(server)
    finally:
        server.stop()


def _borrowed_body_arrives_as_sent(server: Server) -> None:
    expected = b"".join(borrowed_piece(i) for i in range(8)) + b"tail"
    with connect(server) as sock:
        sock.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(b"GET /borrowed HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.3)  # let the server fill the socket and wait for room
        _, headers, body = sock.response()
        assert int(headers[b"content-length"]) == len(expected)
        assert body == expected
        sock.sendall(b"HEAD /borrowed HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        status, headers, _ = sock.response(head_request=True)
        assert (status, headers[b"content-length"]) == (b"HTTP/1.1 200 OK",
                                                        str(len(expected)).encode())
        assert sock.response()[2] == b"hello"  # no byte of a body came between


def test_app_failure_before_answering_is_a_500(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /fail HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, _ = sock.response()
        assert status == b"HTTP/1.1 500 Internal Server Error"
        assert sock.closed()


def test_response_shorter_than_its_length_closes_the_connection(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /long HTTP/1.1\r\nHost: x\r\n\r\n")
        data = sock.until_closed()
    assert data.endswith(b"\r\n\r\nabc")


@pytest.mark.parametrize("request_bytes", [
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n",
    b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
])
def test_malformed_request_is_a_400_and_close(server: Server, request_bytes: bytes) -> None:
    with connect(server) as sock:
        sock.sendall(request_bytes)
        assert sock.response()[0] == b"HTTP/1.1 400 Bad Request"
        assert sock.closed()


def test_huge_head_is_a_431_before_it_is_all_read(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ")
        try:
            for _ in range(64):
                sock.sendall(b"b" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, _, _ = sock.response()
        assert status == b"HTTP/1.1 431 Request Header Fields Too Large"


def test_a_head_over_the_parsed_cap_is_a_431(server: Server) -> None:
    big = b"X-Pad: " + b"p" * 8000 + b"\r\n"
    with connect(server) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n" + big * 9 + b"\r\n")
        assert sock.response()[0] == b"HTTP/1.1 431 Request Header Fields Too Large"


def test_idle_connection_is_closed_after_the_keep_alive_timeout(app: App) -> None:
    server = Server(app, Limits(keep_alive_timeout=0.2))
    server.call(lambda: server.state.start_sweeping(0.05))
    try:
        with connect(server) as sock:
            sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.response()
            started = time.monotonic()
            assert sock.closed()
            assert 0.15 <= time.monotonic() - started < 1.0
    finally:
        server.stop()


def test_shutdown_closes_idle_connections_and_finishes_busy_ones(server: Server,
                                                                app: App) -> None:
    with connect(server) as idle, connect(server) as busy:
        idle.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        idle.response()
        busy.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.1)
        server.call(server.state.close_idle)
        assert idle.closed()
        server.call(app.release.set)
        _, headers, body = busy.response()
        assert (body, headers[b"connection"]) == (b"released", b"close")
        assert busy.closed()


def test_max_head_is_well_above_s3s_8_kb() -> None:
    # The app answers RequestHeaderSectionTooLarge itself between 8 KB and this.
    assert h1_connection.MAX_HEAD >= 8 * 8 * 1024


@pytest.mark.parametrize("request_bytes", [
    b"GET /hello HTTP/1.1\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET /hello HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n",
])
def test_http11_request_without_one_host_is_a_400(server: Server, app: App,
                                                  request_bytes: bytes) -> None:
    # RFC 9112 3.2: a server MUST answer 400 to an HTTP/1.1 request lacking
    # Host, and to any request with more than one.
    with connect(server) as sock:
        sock.sendall(request_bytes)
        assert sock.response()[0] == b"HTTP/1.1 400 Bad Request"
        assert sock.closed()
    assert app.events == []


def test_http10_request_without_host_is_served(server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /host HTTP/1.0\r\n\r\n")
        assert sock.response()[2] == b"(none)"


@pytest.mark.parametrize(("target", "host"), [
    (b"http://bucket.s3.example:9000/host", b"bucket.s3.example:9000"),
    (b"http://user:pw@bucket.s3.example/host?x=1", b"bucket.s3.example"),
    (b"http://[::1]:8080/host", b"[::1]:8080"),
])
def test_absolute_form_target_uses_its_authority_as_the_host(server: Server, app: App,
                                                             target: bytes, host: bytes) -> None:
    # RFC 9112 3.2.2: the server MUST ignore the Host header and use the
    # target's authority.
    with connect(server) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: elsewhere\r\n\r\n")
        assert sock.response()[2] == host
    assert app.events == [("request", ("GET", "/host"))]


def test_a_request_closing_the_connection_is_answered_despite_bytes_after_it(
        server: Server) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                     b"GARBAGE\r\n\r\nGET /hello HTTP/1.1\r\n")
        status, headers, body = sock.response()
        assert (status, headers[b"connection"], body) == (b"HTTP/1.1 200 OK", b"close",
                                                          b"hello")
        assert sock.closed()  # and what followed was dropped, not answered
