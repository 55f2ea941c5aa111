"""sealbox.server.h1.listeners: accepting stops and starts again on a real
listening socket; what arrives meanwhile waits in the kernel's backlog."""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from sealbox.server.h1 import listeners as h1_listeners
from sealbox.server.h1.listeners import Listeners
from sealbox.server.h1.serve import listen, new_event_loop


class Counting(asyncio.Protocol):
    made: ClassVar[list[Counting]] = []

    def connection_made(self, transport: Any) -> None:
        Counting.made.append(self)


@pytest.fixture()
def listening() -> Iterator[socket.socket]:
    Counting.made = []
    sock = listen("127.0.0.1", 0, 16)
    yield sock
    sock.close()


def run(coro: Any) -> Any:
    loop = new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


def dial(sock: socket.socket) -> socket.socket:
    # Completes in the kernel whether or not the server is accepting.
    return socket.create_connection(sock.getsockname(), timeout=2)


def test_a_paused_listener_leaves_connections_in_the_backlog_until_it_resumes(
        listening: socket.socket) -> None:
    async def scenario() -> list[int]:
        loop = asyncio.get_running_loop()
        listeners = Listeners(loop, [listening], Counting, context=None, backlog=16)
        await listeners.start()
        seen = []
        with dial(listening):
            await asyncio.sleep(0.1)
            seen.append(len(Counting.made))
            listeners.pause()
            with dial(listening), dial(listening):
                await asyncio.sleep(0.2)
                seen.append(len(Counting.made))  # waiting in the backlog
                listeners.resume()
                await asyncio.sleep(0.2)
                seen.append(len(Counting.made))
        listeners.close()
        return seen

    assert run(scenario()) == [1, 1, 3]


def test_resuming_is_retried_when_no_descriptor_is_left(
        listening: socket.socket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(h1_listeners, "RETRY_SECONDS", 0.05)
    failures = [OSError(errno.EMFILE, "Too many open files")]
    serve = Listeners._serve

    async def flaky(self: Listeners, sock: socket.socket, context: Any) -> Any:
        if failures:
            raise failures.pop()
        return await serve(self, sock, context)

    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        listeners = Listeners(loop, [listening], Counting, context=None, backlog=16)
        await listeners.start()
        listeners.pause()
        monkeypatch.setattr(Listeners, "_serve", flaky)
        with dial(listening):
            listeners.resume()
            await asyncio.sleep(0.3)
        listeners.close()
        return len(Counting.made)

    assert run(scenario()) == 1
    assert failures == []


def test_closing_while_a_resume_is_under_way_leaves_nothing_accepting(
        listening: socket.socket) -> None:
    async def scenario() -> int:
        loop = asyncio.get_running_loop()
        listeners = Listeners(loop, [listening], Counting, context=None, backlog=16)
        await listeners.start()
        listeners.pause()
        listeners.resume()
        listeners.close()  # before the resume's task has run
        with dial(listening):
            await asyncio.sleep(0.2)
        return len(Counting.made)

    assert run(scenario()) == 0
