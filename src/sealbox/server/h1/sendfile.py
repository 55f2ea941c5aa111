"""Sending a run of a file to the client: ``sendfile(2)`` on plain TCP.

The kernel copies from the page cache to the socket; the bytes never pass
through Python. This works beside the event loop's transport because the
connection never writes while a file is being sent, and only starts once
the transport has nothing buffered (otherwise the file's bytes would
overtake the buffered ones). When the socket is full, the wait for room is
on a duplicate of the socket's descriptor: uvloop refuses a watcher on a
descriptor its transport owns, and readiness is the same for both.

Elsewhere (TLS, a transport with bytes still queued) the run is read in
pieces and written through the transport, with its flow control.
"""

from __future__ import annotations

import os
from typing import BinaryIO

from sealbox.server.h1.carrier import Carrier

PIECE = 1024 * 1024  # read size when copying through the transport


def size(file: BinaryIO) -> int:
    return os.fstat(file.fileno()).st_size


async def send(conn: Carrier, file: BinaryIO, offset: int, count: int) -> None:
    """Send ``count`` bytes of ``file`` from ``offset``; raises ``OSError`` if
    the file ends first. Returns early, quietly, if the client goes away."""
    fd = file.fileno()
    sock = conn.socket_fd()
    if sock is not None and conn.transport.get_write_buffer_size() == 0:
        await _sendfile(conn, sock, fd, offset, count)
    else:
        await _copy(conn, fd, offset, count)


async def _sendfile(conn: Carrier, sock: int, fd: int, offset: int, count: int) -> None:
    while count > 0:
        if conn.gone:
            return
        try:
            sent = os.sendfile(sock, fd, offset, count)
        except BlockingIOError:
            sent = -1
        except (BrokenPipeError, ConnectionResetError):
            conn.abort("client went away during sendfile", expected=True)
            return
        if sent == 0:
            raise OSError(f"file ended {count} bytes early")
        if sent > 0:
            offset += sent
            count -= sent
            if count == 0:
                return
        await conn.writable()


async def _copy(conn: Carrier, fd: int, offset: int, count: int) -> None:
    while count > 0:
        if conn.gone:
            return
        data = os.pread(fd, min(PIECE, count), offset)
        if not data:
            raise OSError(f"file ended {count} bytes early")
        offset += len(data)
        count -= len(data)
        conn.write(data)
        if conn.write_paused:
            await conn.drain()
