"""What an exchange and ``sendfile`` use of the connection that carries
them, as a Protocol: ``connection.Connection`` is the one implementation,
and it imports both, so they name this instead of importing it back.

Members are read-only properties where the connection sets them, so that
a protocol attribute does not pin the connection's own attribute types."""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from sealbox.server.h1 import wire


class SharedState(Protocol):
    """What every connection of one server shares, as an exchange sees it."""

    @property
    def date(self) -> wire.DateHeader: ...

    @property
    def write_threads(self) -> bool: ...

    @property
    def access_log(self) -> bool: ...


class Carrier(Protocol):
    """One client connection, as its exchanges and sendfile see it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def server(self) -> SharedState: ...

    @property
    def transport(self) -> asyncio.Transport: ...

    @property
    def gone(self) -> bool: ...

    @property
    def write_paused(self) -> bool: ...

    @property
    def zerocopy(self) -> bool: ...  # sendfile may write to the socket

    @property
    def closing(self) -> bool: ...  # no request after the current ones

    def write(self, data: bytes) -> None: ...

    def flush(self) -> None: ...

    async def drain(self) -> None: ...

    async def writable(self) -> None: ...

    def socket_fd(self) -> int | None: ...

    def pause_reading(self) -> None: ...

    def maybe_resume_reading(self) -> None: ...

    # ``ex`` is the exchange itself (exchange.Exchange), which imports this module.
    def response_complete(self, ex: Any) -> None: ...

    def abort(self, reason: str, *, expected: bool = False) -> None: ...
