"""What the server counts, kept as plain numbers on the request path.

One ``Counters`` per server process. The request path adds to dicts of
lists (about 1 µs a request for everything), where ``prometheus_client``'s
own metric objects cost 5.5 µs (a lock per value; 12.6 µs in its
multiprocess mode, a memory-mapped file per value), measured on the same
machine: too much of a presigned GET's budget. ``snapshot`` turns the
numbers into one JSON-able dict; ``merge`` adds snapshots of several
processes; ``sealbox.server.metrics_http`` renders them in Prometheus'
text format through ``prometheus_client``.

Every recording method runs on the event loop's thread (store latency is
measured around the await, not in the worker thread), so no lock is
needed. Label values come from closed sets (operation names, statuses,
error codes, cache results), never from the request's own text.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

# Seconds; the last bucket is +Inf (Prometheus' ``le``).
DURATION_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
STORE_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


def _histogram(bounds: tuple[float, ...]) -> list[float]:
    """Bucket counts (one per bound, then +Inf), then the sum."""
    return [0] * (len(bounds) + 1) + [0.0]


class Counters:
    """One process's counts; see the module docstring."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, int], list[int]] = {}
        self.durations: dict[str, list[float]] = {}
        self.bytes = [0, 0]  # sent, received
        self.auth_failures: dict[str, int] = {}
        self.edge_cache: dict[str, int] = {}
        self.links: dict[str, int] = {}  # managed links admitted, refusals by code
        self.store: dict[str, list[float]] = {}
        self.audit_dropped = 0
        self.audit_backlog = 0  # set by the audit writer
        self.access_log_dropped = 0  # access log records lost (sealbox.logs.delivery)

    def request(self, operation: str, status: int, seconds: float, sent: int,
                received: int) -> None:
        """One answered request."""
        counted = self.requests.get((operation, status))
        if counted is None:
            counted = self.requests[(operation, status)] = [0]
        counted[0] += 1
        histogram = self.durations.get(operation)
        if histogram is None:
            histogram = self.durations[operation] = _histogram(DURATION_BUCKETS)
        histogram[bisect_left(DURATION_BUCKETS, seconds)] += 1
        histogram[-1] += seconds
        totals = self.bytes
        totals[0] += sent
        totals[1] += received

    def auth_failure(self, reason: str) -> None:
        self.auth_failures[reason] = self.auth_failures.get(reason, 0) + 1

    def cache_result(self, result: str) -> None:
        self.edge_cache[result] = self.edge_cache.get(result, 0) + 1

    def link_result(self, result: str) -> None:
        self.links[result] = self.links.get(result, 0) + 1

    def store_call(self, operation: str, seconds: float) -> None:
        histogram = self.store.get(operation)
        if histogram is None:
            histogram = self.store[operation] = _histogram(STORE_BUCKETS)
        histogram[bisect_left(STORE_BUCKETS, seconds)] += 1
        histogram[-1] += seconds

    def snapshot(self) -> dict[str, Any]:
        """The counts as JSON-able values (lists copied: a snapshot does not move)."""
        return {
            "requests": [[op, status, n[0]] for (op, status), n in list(self.requests.items())],
            "durations": {op: list(h) for op, h in list(self.durations.items())},
            "bytes": list(self.bytes),
            "auth_failures": dict(self.auth_failures),
            "edge_cache": dict(self.edge_cache),
            "links": dict(self.links),
            "store": {op: list(h) for op, h in list(self.store.items())},
            "audit_dropped": self.audit_dropped,
            "audit_backlog": self.audit_backlog,
            "access_log_dropped": self.access_log_dropped,
        }


def empty() -> dict[str, Any]:
    return Counters().snapshot()


def _add_lists(into: dict[str, list[float]], more: dict[str, list[float]]) -> None:
    for name, values in more.items():
        mine = into.get(name)
        if mine is None or len(mine) != len(values):
            into[name] = list(values)
        else:
            into[name] = [a + b for a, b in zip(mine, values, strict=True)]


def merge(snapshots: list[dict[str, Any]]) -> dict[str, Any]:
    """The sum of several processes' snapshots."""
    total = empty()
    requests: dict[tuple[str, int], int] = {}
    for snap in snapshots:
        for op, status, n in snap.get("requests", ()):
            requests[(op, int(status))] = requests.get((op, int(status)), 0) + int(n)
        _add_lists(total["durations"], snap.get("durations", {}))
        _add_lists(total["store"], snap.get("store", {}))
        sent, received = snap.get("bytes", (0, 0))
        total["bytes"] = [total["bytes"][0] + sent, total["bytes"][1] + received]
        for field in ("auth_failures", "edge_cache", "links"):
            for name, n in snap.get(field, {}).items():
                total[field][name] = total[field].get(name, 0) + n
        total["audit_dropped"] += snap.get("audit_dropped", 0)
        total["audit_backlog"] += snap.get("audit_backlog", 0)
        total["access_log_dropped"] += snap.get("access_log_dropped", 0)
    total["requests"] = [[op, status, n] for (op, status), n in sorted(requests.items())]
    return total
