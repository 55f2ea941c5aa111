"""When a connection has waited too long for its client: the rules the
server's sweep applies, once a second, to every connection. No I/O.

A connection is in one of four phases, as far as its client is concerned:

- ``IDLE``: between requests, nothing of the next one yet. Closed, without
  a word, after ``keep_alive_timeout`` from the end of the last answer.
- ``HEAD``: a request head has begun (or, on a new connection, is awaited)
  and is not complete. Cut after ``header_timeout`` however the bytes
  trickle in, which is what defeats slowloris: a timeout between bytes
  would be reset by each one.
- ``BODY``: the server is reading a body the client owes. Cut when no byte
  has come for ``body_timeout``, or when a ``body_timeout`` window brought
  fewer than ``min_body_rate`` bytes a second (a byte every few seconds
  passes the first test, not the second).
- ``BUSY``: the server is the one working (the app runs, an answer is being
  written, reading is paused because the app has not taken what came);
  nothing is held against the client.

Nothing here runs per read: the connection counts the bytes it receives,
and the sweep notices a phase change, or progress, when it looks. Times are
taken at the sweep, so each deadline is met up to two sweep intervals late,
never early.
"""

from __future__ import annotations

from sealbox.server.h1.limits import Limits

BUSY, IDLE, HEAD, BODY = range(4)
# What the sweep does to a connection.
KEEP, CLOSE, TIME_OUT = range(3)


class Watch:
    """What the sweep remembers of one connection between two looks."""

    __slots__ = ("origin", "phase", "progress_at", "seen", "since", "window_at",
                 "window_bytes")

    def __init__(self) -> None:
        self.phase = BUSY
        self.origin = -1  # the connection's answer count when this phase was entered
        self.since = 0.0  # when the sweep first saw this phase
        self.progress_at = 0.0  # when it last saw the byte count move
        self.seen = 0  # that byte count
        self.window_at = 0.0  # where the current rate window began
        self.window_bytes = 0


def check(watch: Watch, phase: int, answered: int, idle_since: float, received: int,
          now: float, limits: Limits) -> int:
    """``KEEP``, ``CLOSE`` (an idle connection, closed quietly) or
    ``TIME_OUT`` (the client is late: answer RequestTimeout if possible).

    ``answered`` counts the connection's answers: it tells one request's
    phases from the next one's when they all passed between two looks.
    ``idle_since`` is when the last answer ended (or the connection was
    made); ``received`` counts every byte read.
    """
    if phase != watch.phase or answered != watch.origin:
        watch.phase = phase
        watch.origin = answered
        watch.since = watch.progress_at = watch.window_at = now
        watch.seen = watch.window_bytes = received
    if phase == IDLE:
        timeout = limits.keep_alive_timeout
        return CLOSE if timeout and now - idle_since > timeout else KEEP
    if phase == HEAD:
        timeout = limits.header_timeout
        return TIME_OUT if timeout and now - watch.since > timeout else KEEP
    if phase != BODY:
        return KEEP
    timeout = limits.body_timeout
    if received != watch.seen:
        watch.seen = received
        watch.progress_at = now
    elif timeout and now - watch.progress_at > timeout:
        return TIME_OUT
    window = now - watch.window_at
    if limits.min_body_rate and timeout and window >= timeout:
        if received - watch.window_bytes < limits.min_body_rate * window:
            return TIME_OUT
        watch.window_at = now
        watch.window_bytes = received
    return KEEP
