"""The server's limits against slow and abusive clients, and the
descriptor budget the connection cap is derived from.

Issue 11 found that a request whose body never came was held for ever:
19 990 form POSTs declaring 5 GiB used up the process's descriptors, every
normal GET then failed (no descriptor left to accept it or to open its
blob), and memory went from 75 to 332 MB. The timeouts below cut what a
client does not send (``deadlines``); the caps keep the descriptors held
by connections below the process's limit, with room left for the blob
files, the metadata store and the edge cache (``admission``).

This module has no I/O but ``raise_fd_limit``; ``sealbox serve`` builds a
``Limits`` from its flags, and the CLI reads its defaults from here.
"""

from __future__ import annotations

import ipaddress
import resource
from dataclasses import dataclass, replace

# Defaults of the ``sealbox serve`` flags (README, "Limits against slow and
# abusive clients").
KEEP_ALIVE_TIMEOUT = 30.0
# S3 drops a client that sends nothing for about 20 s with RequestTimeout;
# Apache's mod_reqtimeout defaults to 20 s for the head and for the body too.
HEADER_TIMEOUT = 20.0
BODY_TIMEOUT = 20.0
# Twice Apache's MinRate=500: a 2G mobile link still does several KiB/s,
# and a body this slow (5 GiB would take 61 days) is not an upload.
MIN_BODY_RATE = 1024
# Per client address. Not a few dozen, because loopback and a reverse proxy
# (every request through it comes from its address) are one client each,
# and the test suite and bench/ (wrk up to a few hundred connections) open
# many from 127.0.0.1; loopback is not exempt, since a local process can be
# hostile too. High enough for them, and still a small part of the process
# cap, so that one address cannot take all of it.
MAX_CONNECTIONS_PER_IP = 512

# The descriptor budget of one process. Each connection is a socket; one
# serving a GET also holds the blob file and, once it has used sendfile, a
# duplicate of its socket (``Connection.writable``): three at most.
FDS_PER_CONNECTION = 3
# The metadata store (SQLite and its WAL, or a PostgreSQL pool), log files,
# the listening sockets, the edge cache, the blob writers' files in flight.
RESERVED_FDS = 256
# The listen backlog: one turn of the loop accepts what waits in it before
# the server can stop accepting, so the cap may be passed by up to this many.
BACKLOG = 2048
# A ceiling on the derived cap: the sweep visits every connection once a
# second (1.4 us each, measured on a loaded 2-core VM: 23 ms a second at
# this many), and each costs memory (a few KiB idle); past this, run more
# workers.
MAX_DERIVED_CONNECTIONS = 16384
MIN_DERIVED_CONNECTIONS = 64


@dataclass(frozen=True)
class Limits:
    """What one server process allows its clients. Zero turns a limit off."""

    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT  # between requests
    header_timeout: float = HEADER_TIMEOUT  # a whole request head (and a TLS handshake)
    body_timeout: float = BODY_TIMEOUT  # with no byte of a body the server waits for
    min_body_rate: int = MIN_BODY_RATE  # bytes/s, averaged over each body_timeout
    # Open in this process. None: derived from the descriptor limit when
    # serving starts (``serve.run``); 0: no cap.
    max_connections: int | None = None
    max_connections_per_ip: int = MAX_CONNECTIONS_PER_IP

    def sweep_interval(self) -> float:
        """How often the deadlines are checked: once a second, more often
        when a timeout is short (tests), so none is overrun by much."""
        shortest = min([t for t in (self.keep_alive_timeout, self.header_timeout,
                                    self.body_timeout) if t > 0], default=4.0)
        return max(0.05, min(1.0, shortest / 4))

    def with_derived_cap(self, fd_limit: int) -> Limits:
        """These limits with ``max_connections`` derived from ``fd_limit``."""
        return replace(self, max_connections=derived_max_connections(fd_limit))


def derived_max_connections(fd_limit: int) -> int:
    """The default connection cap for a process that may open ``fd_limit``
    descriptors: what is left after the reserve and one accept batch, at
    ``FDS_PER_CONNECTION`` each."""
    spare = (fd_limit - RESERVED_FDS - backlog_for(fd_limit)) // FDS_PER_CONNECTION
    return max(MIN_DERIVED_CONNECTIONS, min(MAX_DERIVED_CONNECTIONS, spare))


def backlog_for(fd_limit: int) -> int:
    """The listen backlog: ``BACKLOG``, or less under a small descriptor limit."""
    return max(64, min(BACKLOG, fd_limit // 8))


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to its hard limit where the
    system allows it (workers inherit it); the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # macOS reports an infinite hard limit but refuses a soft one above
    # OPEN_MAX; Linux's hard limit is always finite.
    for target in (hard, 10240) if hard == resource.RLIM_INFINITY else (hard,):
        if target <= soft:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            continue
        return target
    return soft


def client_key(host: str) -> str:
    """The address one client's connections are counted under: the IPv4
    address, or an IPv6 address's /64 (one host commonly holds a whole /64;
    counting single addresses would let it open a cap per address)."""
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.partition("%")[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(ipaddress.IPv6Network((int(address) >> 64 << 64, 64)))
