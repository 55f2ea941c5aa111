"""Writing a borrowed body piece: memory the app fills again as soon as
``send`` returns (a sealed object's decrypted run, ``exchange.BORROWED``).

The transport cannot take it: uvloop queues what the socket does not take
at once as a view, uncopied, and the app would overwrite it. So the piece
goes to the socket with ``writev(2)`` behind the transport, as
``sendfile`` does (same conditions: plain TCP, nothing queued in the
transport; the wait for room is the connection's ``writable``), and
``write_borrowed`` returns only once the kernel holds every byte. Where it
cannot (TLS, bytes queued) the piece is copied and the transport owns the
copy.

A large piece is written by a thread (``THREAD_WRITE``) when the server
has cores no worker's loop uses (``ServerState.write_threads``: fewer
workers than cores): the write is a copy into the socket plus, on
loopback, the receiver's TCP work, ~0.2 ms a MiB, done without the GIL
while the loop goes on decrypting or serving other requests. Measured on
a 2-core box (wrk -c8, SSE-S3 GET of 1 MiB, one worker): MB/s ~1.3x. But
each hop costs ~6 context switches a request (the job, and the GIL handed
back and forth), ~0.5 ms of CPU: with a worker per core there is no idle
core to win and the thread only costs (two workers: 1.05 GB/s with it,
1.4-1.6 without). One hop per piece, never per 64 KiB chunk: a thread
that takes the GIL back after every chunk (decrypting off the loop with
``AESGCM.decrypt``, which lets the GIL go, was tried) is slower than the
loop alone.

The thread writes on its own duplicate of the socket's descriptor, closed
only after its write: if the connection is closed meanwhile, the number
cannot be reused for another client's socket under it. And the piece's
memory is the app's again only when the thread is done: a cancelled send
waits for the write (non-blocking, so microseconds) before it goes on.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
from collections.abc import Sequence

from sealbox.server.h1.carrier import Carrier

THREAD_WRITE = 256 * 1024  # bytes from which a write goes to the thread
_writers: concurrent.futures.ThreadPoolExecutor | None = None


def _pool() -> concurrent.futures.ThreadPoolExecutor:
    # Made on first use, in the worker process that writes (not before a fork).
    global _writers
    if _writers is None:
        _writers = concurrent.futures.ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="sealbox-write")
    return _writers


async def write_borrowed(conn: Carrier, data: bytes | memoryview, head: bytes = b"") -> None:
    """Write ``head`` then ``data``; return only once the kernel has all of
    ``data`` (or a copy of it is queued): the caller may overwrite it then.
    Returns early, quietly, if the client goes away."""
    sock = conn.socket_fd()
    if sock is None or conn.transport.get_write_buffer_size() != 0:
        if head:
            conn.write(head)
            conn.flush()  # not joined to the body: a MiB copy costs more than a write
        conn.write(bytes(data))
        return
    pieces = [memoryview(head), memoryview(data)] if head else [memoryview(data)]
    write_threads = conn.server.write_threads
    duplicate = -1
    try:
        while pieces:
            if conn.gone or conn.transport.is_closing():
                return  # closed meanwhile (its descriptor may be too)
            try:
                if write_threads and sum(map(len, pieces)) >= THREAD_WRITE:
                    if duplicate < 0:
                        duplicate = os.dup(sock)
                    sent = await _thread_write(duplicate, pieces)
                else:
                    sent = os.writev(sock, pieces)
            except BlockingIOError:
                sent = 0
            except (BrokenPipeError, ConnectionResetError):
                conn.abort("client went away during a write", expected=True)
                return
            _advance(pieces, sent)
            if pieces:
                await conn.writable()
    finally:
        if duplicate >= 0:
            os.close(duplicate)


async def _thread_write(fd: int, pieces: Sequence[memoryview]) -> int:
    job = _pool().submit(os.writev, fd, pieces)
    try:
        return await asyncio.wrap_future(job)
    except asyncio.CancelledError:
        # The thread may be reading the pieces and using fd: neither may be
        # given back until it is done (one non-blocking write).
        if not job.cancel():
            concurrent.futures.wait([job])
        raise


def _advance(pieces: list[memoryview], sent: int) -> None:
    """Drop the ``sent`` bytes from the front of ``pieces``."""
    while sent and pieces:
        first = pieces[0]
        if sent >= len(first):
            sent -= len(first)
            pieces.pop(0)
        else:
            pieces[0] = first[sent:]
            sent = 0
