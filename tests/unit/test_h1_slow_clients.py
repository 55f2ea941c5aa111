"""sealbox.server.h1 against slow and greedy clients, over loopback: the
timeouts (``deadlines``, applied by the sweep) and the connection caps
(``admission``). Timeouts are a fraction of a second here, and the sweep
runs every 50 ms, so every test ends within a few seconds."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sealbox.server.h1 import admission as h1_admission
from sealbox.server.h1.limits import Limits
from tests.unit.test_h1_server import App, Client, Server, connect

TIMEOUT_ANSWER = b"HTTP/1.1 400 Bad Request"


@pytest.fixture()
def app(tmp_path: Path) -> App:
    return App(tmp_path / "unused")


@pytest.fixture()
def limited(app: App) -> Iterator[Any]:
    """``limited(**limits)``: a server with those limits, sweeping every 50 ms."""
    started: list[Server] = []

    def start(**limits: Any) -> Server:
        server = Server(app, Limits(**limits))
        server.call(lambda: server.state.start_sweeping(0.05))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def trickle(sock: Client, head: bytes, byte: bytes, every: float,
            limit: float = 5.0) -> tuple[bytes, float]:
    """Send ``head``, then ``byte`` every ``every`` seconds until the server
    answers and closes: what it sent, and after how long."""
    sock.sendall(head)
    started = time.monotonic()
    sock.sock.settimeout(every)
    received = b""
    while time.monotonic() - started < limit:
        try:
            sock.sendall(byte)
        except (BrokenPipeError, ConnectionResetError):
            pass  # cut: read what it said
        try:
            chunk = sock.sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return received, time.monotonic() - started
        received += chunk
    raise AssertionError(f"not cut after {limit} s; received {received[:200]!r}")


def assert_request_timeout(answer: bytes) -> None:
    assert answer.startswith(TIMEOUT_ANSWER), answer[:200]
    assert b"<Code>RequestTimeout</Code>" in answer
    assert b"connection: close" in answer


def test_a_trickled_head_is_cut_at_the_header_timeout_though_bytes_keep_coming(
        limited: Any) -> None:
    server = limited(header_timeout=0.5)
    with connect(server) as sock:
        answer, after = trickle(sock, b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a", 0.05)
    assert_request_timeout(answer)
    assert 0.45 <= after < 1.5
    assert server.app.events == []


def test_a_new_connection_that_sends_nothing_is_closed_at_the_header_timeout(
        limited: Any) -> None:
    server = limited(header_timeout=0.3, keep_alive_timeout=30)
    with connect(server) as sock:
        started = time.monotonic()
        assert sock.closed()  # quietly: no request, nothing to answer
        assert 0.25 <= time.monotonic() - started < 1.0


def test_a_body_that_stops_coming_is_answered_request_timeout(limited: Any, app: App) -> None:
    server = limited(body_timeout=0.3)
    with connect(server) as sock:
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
                     + b"x" * 10)
        started = time.monotonic()
        answer = sock.until_closed()
        assert 0.25 <= time.monotonic() - started < 1.0
    assert_request_timeout(answer)
    deadline = time.monotonic() + 2
    while ("disconnect", 10) not in app.events and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ("disconnect", 10) in app.events  # the app saw the client go


def test_a_body_trickled_below_the_minimum_rate_is_cut(limited: Any) -> None:
    server = limited(body_timeout=0.4, min_body_rate=1000)
    head = b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    with connect(server) as sock:
        answer, after = trickle(sock, head, b"x", 0.05)  # 20 bytes/s, never idle 0.4 s
    assert_request_timeout(answer)
    assert 0.35 <= after < 1.5


def test_without_a_minimum_rate_a_trickled_body_outlasts_the_body_timeout(
        limited: Any) -> None:
    server = limited(body_timeout=0.4, min_body_rate=0)
    head = b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"
    with connect(server) as sock, pytest.raises(AssertionError, match="not cut"):
        trickle(sock, head, b"x", 0.05, limit=1.5)


def test_a_steady_slow_body_is_not_cut(limited: Any) -> None:
    server = limited(body_timeout=0.3, min_body_rate=1000)
    body = b"y" * 6000
    with connect(server) as sock:
        sock.sendall(b"PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6000\r\n\r\n")
        for i in range(0, len(body), 200):  # 4000 bytes/s for 1.5 s
            sock.sendall(body[i:i + 200])
            time.sleep(0.05)
        status, _, answer = sock.response()
    assert (status, answer.split()[0]) == (b"HTTP/1.1 200 OK", b"6000")


def test_a_body_the_app_has_not_read_yet_is_not_timed_out(limited: Any, app: App) -> None:
    """Reading is paused (the app holds 1 MiB unread): not the client's doing."""
    server = limited(body_timeout=0.2, min_body_rate=10**9)
    with connect(server) as sock:
        sock.sendall(b"PUT /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n")
        sock.sock.setblocking(False)
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            try:
                sock.sock.send(b"x" * 65536)
            except BlockingIOError:
                time.sleep(0.05)
        sock.sock.setblocking(True)
        server.call(app.release.set)
        assert sock.response()[2] == b"released"


def test_waiting_for_100_continue_is_not_a_body_timeout(limited: Any, app: App) -> None:
    server = limited(body_timeout=0.2)
    with connect(server) as sock:
        sock.sendall(b"PUT /wait HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     b"Expect: 100-continue\r\n\r\n")
        time.sleep(0.8)  # the app has not asked for the body: no 100 yet
        server.call(app.release.set)
        assert sock.response()[2] == b"released"


def test_a_slow_app_is_not_a_slow_client(limited: Any) -> None:
    server = limited(header_timeout=0.2, body_timeout=0.2, keep_alive_timeout=0.2)
    with connect(server) as sock:
        sock.sendall(b"GET /sleep/0.8 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.response()[2] == b"/sleep/0.8"


# -- caps ------------------------------------------------------------------------

def hello(sock: Client) -> bytes:
    sock.sendall(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
    return sock.response()[2]


def test_a_client_over_its_cap_is_refused_with_503_and_others_are_served(
        limited: Any, app: App) -> None:
    server = limited(max_connections_per_ip=2)
    busy = [connect(server, "127.0.0.2") for _ in range(2)]
    for sock in busy:
        sock.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    with connect(server, "127.0.0.2") as third:
        answer = third.until_closed()
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable"), answer[:200]
    assert b"<Code>ServiceUnavailable</Code>" in answer
    with connect(server, "127.0.0.3") as other:
        assert hello(other) == b"hello"
    server.call(app.release.set)
    for sock in busy:
        assert sock.response()[2] == b"released"
        sock.sock.close()


def test_at_its_cap_a_clients_oldest_idle_connection_makes_room(
        limited: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h1_admission, "EVICT_AFTER", 0.1)
    server = limited(max_connections_per_ip=2)
    with connect(server, "127.0.0.2") as first, connect(server, "127.0.0.2") as second:
        assert hello(first) == b"hello"
        time.sleep(0.05)
        assert hello(second) == b"hello"
        time.sleep(0.2)
        with connect(server, "127.0.0.2") as third:
            assert hello(third) == b"hello"
        assert first.closed()
        assert hello(second) == b"hello"


def test_at_the_process_cap_idle_connections_make_room_oldest_first(
        limited: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h1_admission, "EVICT_AFTER", 0.1)
    server = limited(max_connections=4, max_connections_per_ip=0)
    idle = [connect(server) for _ in range(3)]
    for sock in idle:
        assert hello(sock) == b"hello"
        time.sleep(0.02)
    time.sleep(0.2)
    with connect(server) as newcomer:
        assert hello(newcomer) == b"hello"
    assert idle[0].closed()  # the newcomer took the cap: one was closed, the oldest
    assert [hello(sock) for sock in idle[1:]] == [b"hello", b"hello"]
    assert server.pauses == []  # room was made: accepting never stopped
    for sock in idle:
        sock.sock.close()


def test_at_the_process_cap_with_nothing_idle_accepting_stops_until_room(
        limited: Any, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h1_admission, "EVICT_AFTER", 0.1)
    server = limited(max_connections=2, max_connections_per_ip=0)
    busy = [connect(server) for _ in range(2)]
    for sock in busy:
        sock.sendall(b"GET /wait HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.1)
    late = connect(server)  # accepted here (no listener to pause), served all the same
    deadline = time.monotonic() + 2
    while server.pauses != ["pause"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.pauses == ["pause"]
    server.call(app.release.set)
    for sock in busy:
        assert sock.response()[2] == b"released"
    assert hello(late) == b"hello"
    while server.pauses != ["pause", "resume"] and time.monotonic() < deadline + 2:
        time.sleep(0.02)
    assert server.pauses == ["pause", "resume"]  # idle again, then made room for
    for sock in [*busy, late]:
        sock.sock.close()


def test_loopback_addresses_other_than_127_0_0_1_are_usable_as_sources() -> None:
    # The per-client tests bind 127.0.0.x: all of 127/8 is loopback on Linux.
    with socket.socket() as s:
        s.bind(("127.0.0.7", 0))
