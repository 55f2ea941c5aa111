"""Listening sockets whose accepting can stop for a while and start again.

asyncio has no call for that: ``Server.close()`` stops for good, and closes
the socket it was given. So each socket is served through a duplicate of
its descriptor: pausing closes the servers, and with them only the
duplicates; the socket itself stays open and listening, the kernel goes on
queueing new connections in its backlog, and resuming serves a fresh
duplicate. Pre-forked workers each pause on their own, and the others go
on accepting from the shared socket.

Each socket has its own TLS context or none (``--port`` plain HTTP beside
``--tls-port``); a TLS socket is served by ``tls_sniff.SniffingServer``,
which answers a plain-HTTP client with a 400 instead of silence.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable, Sequence
from typing import Any

from sealbox.server.h1.tls_sniff import SniffingServer

log = logging.getLogger("sealbox.http")

PAUSES_LOGGED_EVERY = 10.0  # seconds: at a cap under a flood, pauses come and go
RETRY_SECONDS = 0.5  # after failing to serve again (no descriptor left to duplicate)


class Listeners:
    """The servers accepting on ``socks`` with ``factory``."""

    def __init__(self, loop: asyncio.AbstractEventLoop, socks: list[socket.socket],
                 factory: Callable[[], asyncio.Protocol], *, context: ssl.SSLContext | None,
                 backlog: int, handshake_timeout: float | None = None,
                 contexts: Sequence[ssl.SSLContext | None] | None = None) -> None:
        """``context`` for every socket, or ``contexts``, one per socket."""
        self.loop = loop
        self.socks = socks
        self.factory = factory
        self.contexts = list(contexts) if contexts is not None else [context] * len(socks)
        self.backlog = backlog
        self.handshake_timeout = handshake_timeout or None
        self.accepting = False  # what was last asked for
        self._servers: list[Any] = []  # asyncio servers and SniffingServers
        self._opening: asyncio.Task[None] | None = None
        self._closed = False
        self._pauses = 0
        self._logged_at = -PAUSES_LOGGED_EVERY

    async def start(self) -> None:
        self.accepting = True
        self._servers = [await self._serve(sock, context)
                         for sock, context in zip(self.socks, self.contexts, strict=True)]

    def pause(self) -> None:
        """Stop accepting; new connections wait in the backlog."""
        if self.accepting and not self._closed:
            self.accepting = False
            self._pauses += 1
            if self.loop.time() - self._logged_at >= PAUSES_LOGGED_EVERY:
                log.warning("at the connection cap with no idle connection to close: stopped "
                            "accepting %d time(s), until some close", self._pauses)
                self._pauses = 0
                self._logged_at = self.loop.time()
            self._close_servers()

    def resume(self) -> None:
        if not self.accepting and not self._closed:
            self.accepting = True
            if self._opening is None:
                self._opening = self.loop.create_task(self._open())

    def close(self) -> None:
        """Stop accepting for good (the server is stopping)."""
        self._closed = True
        self.accepting = False
        self._close_servers()

    async def _open(self) -> None:
        """Serve again, retrying until it works or accepting is no longer wanted."""
        try:
            while self.accepting and not self._servers:
                servers: list[Any] = []
                try:
                    for sock, context in zip(self.socks, self.contexts, strict=True):
                        servers.append(await self._serve(sock, context))
                except OSError as error:
                    # Paused at the cap, the process may be at its descriptor
                    # limit too: never give up accepting for good.
                    log.error("cannot accept again yet (%s); retrying", error)
                    for server in servers:
                        server.close()
                    await asyncio.sleep(RETRY_SECONDS)
                    continue
                if self.accepting:
                    self._servers = servers
                else:  # paused again meanwhile
                    for server in servers:
                        server.close()
        finally:
            self._opening = None

    async def _serve(self, sock: socket.socket, context: ssl.SSLContext | None) -> Any:
        if context is not None:
            # A connection must not hold its place for the default 60 s
            # without handshaking: the handshake timeout bounds it.
            return SniffingServer(self.loop, sock.dup(), self.factory, context,
                                  self.handshake_timeout)
        return await self.loop.create_server(self.factory, sock=sock.dup(),
                                             backlog=self.backlog)

    def _close_servers(self) -> None:
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
