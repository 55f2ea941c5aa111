"""Which connections one server process holds: at most ``max_connections``
open, at most ``max_connections_per_ip`` from one client address.

A connection is counted from the moment it is accepted (the protocol
factory runs then, in the accept loop), not from ``connection_made``: a
TLS connection is made only after its handshake, and one that never
handshakes holds a descriptor all the same. Such a connection is not seen
again if its handshake fails (asyncio does not tell the protocol), so an
arrival is forgotten after ``arrival_timeout`` (past the handshake
timeout) unless it was made.

At the cap the process closes connections that lose nothing by it (idle
keep-alive connections, new ones that have sent nothing, heads stalled),
longest idle first, down to a low-water mark below the cap (so the next
few arrivals do not each pay for a pass); this is what Apache's event MPM
does with its keep-alive connections when it runs out of slots. Under a
flood of idle connections the oldest are closed as new ones come, and a
normal client's connection is accepted at once, as it would not be if the
server stopped accepting: the kernel's listen backlog is first come, first
served, and would be full of the flood's connections.

If nothing can be closed the process stops accepting: new connections wait
in the backlog, connections in flight go on being served, and every
``EVICT_AFTER`` seconds it tries again; it accepts again from the low-water
mark. One accept batch (up to the backlog) may pass the cap before the
pause takes effect; the descriptor budget allows for it
(``limits.derived_max_connections``).

A client over its own cap is first made room for the same way, among its
own idle connections; failing that, the new connection is refused (the
caller answers 503 and closes).
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Callable, Iterable
from typing import Protocol

# A connection idle (or stalled in its head) for less than this is not
# closed to make room: it may be a client that has just connected (its
# request is one round trip away), or is about to send its next request.
EVICT_AFTER = 0.5


class Member(Protocol):
    """What admission needs of a connection."""

    idle_since: float

    def evictable(self, before: float) -> bool:
        """Closing it loses no request: idle, or its head stalled, since
        before the loop time ``before``."""

    def evict(self) -> None:
        """Close it to make room (answering a stalled head)."""


class Admission:
    """The open connections of one process and the caps on them."""

    def __init__(self, loop: asyncio.AbstractEventLoop, *, max_connections: int = 0,
                 max_per_client: int = 0, arrival_timeout: float = 60.0) -> None:
        self.loop = loop
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.arrival_timeout = arrival_timeout
        self.low_water = max(0, max_connections - 1 - max_connections // 16)
        self.connections: set[Member] = set()  # made (and admitted)
        self._arriving: dict[Member, float] = {}  # accepted, not yet made
        self._clients: dict[str, set[Member]] = {}
        self.paused = False
        self._room_pending = False
        self._retry: asyncio.TimerHandle | None = None
        # Set by whoever accepts (``listeners.Listeners``).
        self.on_pause: Callable[[], None] = _nothing
        self.on_resume: Callable[[], None] = _nothing

    @property
    def open(self) -> int:
        return len(self.connections) + len(self._arriving)

    def arrived(self, conn: Member) -> None:
        """``conn`` was just accepted (called from the protocol factory)."""
        self._arriving[conn] = self.loop.time()
        if self.max_connections and not self._room_pending \
                and self.open >= self.max_connections:
            # Not here: the accept loop is still running, and closing its
            # listener from inside would drop the connection being accepted.
            self._room_pending = True
            self.loop.call_soon(self._make_room)

    def admit(self, conn: Member, client: str | None) -> bool:
        """``conn`` is made, from ``client``: False if that client is over its cap."""
        self._arriving.pop(conn, None)
        if client is not None and self.max_per_client:
            group = self._clients.get(client)
            if group is not None and len(group) >= self.max_per_client \
                    and not self._evict(group, 1):
                return False
            # Fetched again: making room may have emptied and dropped the set.
            self._clients.setdefault(client, set()).add(conn)
        self.connections.add(conn)
        return True

    def lost(self, conn: Member, client: str | None) -> None:
        """``conn`` is closed (or closing, and no longer counts)."""
        self._arriving.pop(conn, None)
        self.connections.discard(conn)
        if client is not None:
            group = self._clients.get(client)
            if group is not None:
                group.discard(conn)
                if not group:
                    del self._clients[client]
        self._resume_if_room()

    def sweep(self, now: float) -> None:
        """Forget arrivals that were never made (failed TLS handshakes)."""
        if self._arriving:
            stale = [c for c, t in self._arriving.items() if now - t > self.arrival_timeout]
            for conn in stale:
                del self._arriving[conn]
            self._resume_if_room()

    # -- at the cap ------------------------------------------------------------
    def _make_room(self) -> None:
        self._room_pending = False
        if self._retry is not None:
            self._retry.cancel()  # this pass is the one it was waiting for
            self._retry = None
        if self.paused or self.open >= self.max_connections:
            self._evict(self.connections, self.open - self.low_water)
        if self.open >= self.max_connections and not self.paused:
            self.paused = True
            self.on_pause()
        self._resume_if_room()
        if self.paused:  # what is not idle yet may be soon
            self._retry = self.loop.call_later(EVICT_AFTER, self._make_room)

    def stop(self) -> None:
        """The server is stopping: no more passes."""
        if self._retry is not None:
            self._retry.cancel()

    def _evict(self, pool: Iterable[Member], count: int) -> int:
        """Close up to ``count`` of ``pool`` that lose nothing by it, longest
        idle first; how many were closed."""
        if count <= 0:
            return 0
        before = self.loop.time() - EVICT_AFTER
        victims = heapq.nsmallest(count, (c for c in pool if c.evictable(before)),
                                  key=_idle_since)
        for conn in victims:
            conn.evict()  # calls lost(): it no longer counts
        return len(victims)

    def _resume_if_room(self) -> None:
        if self.paused and self.open <= self.low_water:
            self.paused = False
            self.on_resume()


def _idle_since(conn: Member) -> float:
    return conn.idle_since


def _nothing() -> None:
    pass
