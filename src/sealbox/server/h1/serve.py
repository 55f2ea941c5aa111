"""Running the HTTP/1.1 server: the listening socket, workers, signals, and
a graceful stop.

The sockets are bound in the first process, and ``--workers N`` forks N
workers; the first process only supervises, restarts a worker that dies
(on the same sockets), and passes SIGTERM/SIGINT on. With one worker there
is no fork: the process serves by itself.

On Linux each worker has its own listening socket on each port
(``SO_REUSEPORT``), and the kernel spreads new connections over them by
their addresses. With one socket shared by every worker, the first worker
to wake accepts all the connections waiting: a client or a proxy opening
its pool of eight keep-alive connections at once could land all eight on
one worker and leave the other cores idle (measured: wrk -c8 on two
workers, one of them serving 99 % of the requests in some runs). A
connection that arrives for a worker that died waits in its socket's
backlog for the worker started in its place; so does one that arrives for
a worker paused at its connection cap (``--max-connections`` is per
worker), until that worker has room, even if another has.

Each worker builds its own app (after the fork, so no store connection or
thread crosses it), runs the ASGI lifespan, and serves on uvloop when it
is installed.

On SIGTERM or SIGINT a worker stops accepting, closes idle connections,
lets requests in progress finish for up to ``shutdown_timeout`` seconds,
closes what is left and runs the lifespan shutdown.

Before anything is bound the soft descriptor limit is raised to the hard
one, and unless ``--max-connections`` says otherwise each worker's
connection cap is derived from it (``limits``); every limit is per worker.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sealbox.server.h1.connection import ServerState
from sealbox.server.h1.lifespan import Lifespan
from sealbox.server.h1.limits import BACKLOG, Limits, backlog_for, raise_fd_limit
from sealbox.server.h1.listeners import Listeners

log = logging.getLogger("sealbox.http")

RESTARTS_PER_MINUTE = 10  # a worker dying faster than this stops the server


@dataclass(frozen=True)
class Options:
    host: str = "127.0.0.1"
    port: int = 9000
    edge_port: int | None = None  # a second listener (the app tells them apart)
    console_port: int | None = None  # another: the web console's
    # HTTPS on this port, beside plain HTTP on ``port``; without it, a
    # certificate makes ``port`` (and ``edge_port``) HTTPS.
    tls_port: int | None = None
    workers: int = 1
    tls_cert: Path | None = None
    tls_key: Path | None = None
    access_log: bool = False
    limits: Limits = field(default_factory=Limits)
    backlog: int = BACKLOG  # set from the descriptor limit by run()
    shutdown_timeout: float = 25.0


def run(options: Options, app_factory: Callable[[], Any]) -> int:
    """Serve until told to stop; the exit status."""
    fd_limit = raise_fd_limit()
    limits = options.limits
    if limits.max_connections is None:
        limits = limits.with_derived_cap(fd_limit)
    log.info("descriptor limit %d; at most %d connections per worker, %d per client address",
             fd_limit, limits.max_connections, limits.max_connections_per_ip)
    options = replace(options, limits=limits, backlog=backlog_for(fd_limit))
    context = tls_context(options.tls_cert, options.tls_key)
    plain = None if options.tls_port is None else context
    spread = SPREAD_BY_KERNEL and options.workers > 1
    socks = [(listen(options.host, options.port, options.backlog, spread=spread),
              context if plain is None else None)]
    if options.edge_port is not None:
        socks.append((listen(options.host, options.edge_port, options.backlog, spread=spread),
                      context if plain is None else None))
    if options.console_port is not None:
        socks.append((listen(options.host, options.console_port, options.backlog,
                             spread=spread),
                      context if plain is None else None))
    if options.tls_port is not None:
        socks.append((listen(options.host, options.tls_port, options.backlog, spread=spread),
                      context))
    if options.workers <= 1:
        return serve_worker(socks, app_factory, options)
    per_worker = worker_sockets(socks, options.workers, options.backlog, spread=spread)
    return _supervise(options.workers,
                      lambda slot: serve_worker(per_worker[slot], app_factory, options))


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which
    containers and taskset narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def listen(host: str, port: int, backlog: int, *, spread: bool = False) -> socket.socket:
    """A listening socket; with ``spread``, one the sockets of the other
    workers can join (``worker_sockets``)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    if spread and port:
        _refuse_taken(family, address)
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if spread:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock


def _refuse_taken(family: int, address: Any) -> None:
    """``EADDRINUSE`` if anything listens on ``address``, even a group of
    ``SO_REUSEPORT`` sockets: another sealbox started on the same port
    (the same user) would otherwise join this one's group and silently take
    a share of its connections, where a plain bind fails. (A bind without
    the option is refused by any listener there.)"""
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(address)
    finally:
        probe.close()


# Linux balances connections over sockets sharing a port; other systems'
# SO_REUSEPORT does not (the BSDs give them all to one), so they share one.
SPREAD_BY_KERNEL = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def worker_sockets(socks: list[Socket], workers: int, backlog: int, *,
                   spread: bool) -> list[list[Socket]]:
    """The listeners of each worker: ``socks`` for the first, and with
    ``spread`` for each other one a socket of its own on each of their
    addresses (the first process keeps them all, for a worker started in
    place of one that died); without, every worker shares ``socks``."""
    if not spread:
        return [socks] * workers
    per_worker = [socks]
    try:
        for _ in range(workers - 1):
            own: list[Socket] = []
            per_worker.append(own)
            for sock, context in socks:
                twin = socket.socket(sock.family, sock.type, sock.proto)
                own.append((twin, context))
                twin.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                twin.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
                twin.bind(sock.getsockname())  # the port the first one was given
                twin.listen(backlog)
    except BaseException:
        for own in per_worker[1:]:
            for twin, _ in own:
                twin.close()
        raise
    return per_worker


def tls_context(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    if cert is None or key is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["http/1.1"])
    return context


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency off Windows
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()  # type: ignore[no-any-return]


Socket = tuple[socket.socket, ssl.SSLContext | None]  # a listener and its TLS, if any


def serve_worker(socks: list[Socket], app_factory: Callable[[], Any], options: Options) -> int:
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(_serve(socks, app_factory, options))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


async def _serve(socks: list[Socket], app_factory: Callable[[], Any], options: Options) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = app_factory()
    lifespan = Lifespan(app)
    if not await lifespan.startup():
        return 3
    # A thread may write large pieces only where a core is left to run it.
    state = ServerState(app, loop, limits=options.limits, access_log=options.access_log,
                        write_threads=options.workers < usable_cores())
    listeners = Listeners(loop, [sock for sock, _ in socks], state.new_connection, context=None,
                          contexts=[context for _, context in socks], backlog=options.backlog,
                          handshake_timeout=options.limits.header_timeout)
    state.admission.on_pause = listeners.pause
    state.admission.on_resume = listeners.resume
    await listeners.start()
    state.start_sweeping()
    try:
        await stop.wait()
    finally:
        listeners.close()
        for sock, _ in socks:
            sock.close()
        state.stop_sweeping()
        state.close_idle()
        await _wait_for_requests(state, options.shutdown_timeout)
        await lifespan.shutdown()
    return 0


async def _wait_for_requests(state: ServerState, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while state.connections and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for conn in list(state.connections):
        conn.transport.abort()
    for task in list(state.tasks):
        task.cancel()
    if state.tasks:
        await asyncio.wait(list(state.tasks), timeout=5)


def _supervise(workers: int, work: Callable[[int], int]) -> int:
    """Fork ``workers`` processes running ``work(slot)`` (slots 0 … workers-1);
    keep them running until SIGTERM/SIGINT, which is passed on to them. A
    worker that dies is replaced by one in its slot."""
    children: dict[int, int] = {}  # pid: slot
    stopping = False
    deaths: list[float] = []

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            code = 1
            try:
                code = work(slot)
            except BaseException:
                log.exception("worker failed")
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = slot

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        spawn(slot)
    status = 0
    while children:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        slot = children.pop(pid, -1)
        if stopping or slot < 0:
            continue
        exit_code = os.waitstatus_to_exitcode(code)
        log.error("worker %d exited (%d); starting another", pid, exit_code)
        now = time.monotonic()
        deaths[:] = [t for t in deaths if now - t < 60] + [now]
        if len(deaths) > RESTARTS_PER_MINUTE:
            log.error("workers keep dying; stopping")
            stop(signal.SIGTERM, None)
            status = 1
            continue
        spawn(slot)
    return status
