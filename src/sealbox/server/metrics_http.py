"""``GET /_sealbox/metrics``: who may read it, and the Prometheus text.

Readable from the ``--metrics-allow`` networks (default loopback only) or
with ``Authorization: Bearer <--metrics-token>`` (compared in constant
time); anyone else gets 403.

With ``--workers N`` every worker counts on its own (``sealbox.metrics``)
and, once a second, writes its snapshot to ``<dir>/<pid>.json`` (written
whole, then renamed). A scrape, answered by whichever worker the kernel
handed the connection to, adds its own live counts to the other workers'
files: their counts are at most a second old. The directory is per server
(``metrics-<port>`` in the data dir) and emptied when the server starts; a
dead worker's file stays, so counters never go back, but its backlog gauge
is no longer counted.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from sealbox import metrics
from sealbox.metrics import DURATION_BUCKETS, STORE_BUCKETS, Counters

DEFAULT_ALLOW = ("127.0.0.0/8", "::1/128")
CONTENT_TYPE = CONTENT_TYPE_LATEST


def metrics_dir(data_dir: Path, port: int) -> Path:
    return data_dir / f"metrics-{port}"


def reset_dir(path: Path) -> None:
    """Create ``path`` (0700), empty of an earlier server's snapshots."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    for entry in path.iterdir():
        if entry.suffix in (".json", ".tmp"):
            entry.unlink(missing_ok=True)


class MetricsAccess:
    """Who may read the metrics: an address in ``allow``, or the token."""

    def __init__(self, allow: Iterable[str], token: str = "") -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in allow)
        self._token = token.encode()

    def allows(self, address: str, authorization: str | None) -> bool:
        if self._token and authorization:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(),
                                                                  self._token):
                return True
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == n.version and ip in n for n in self.networks)


class Shared:
    """This worker's snapshot file, and the other workers' (see the module)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory

    def publish(self, counters: Counters) -> None:
        if self.directory is None:
            return
        path = self.directory / f"{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(counters.snapshot()))
        os.replace(temporary, path)

    def others(self) -> list[dict[str, Any]]:
        if self.directory is None:
            return []
        mine = f"{os.getpid()}.json"
        found = []
        for entry in self.directory.glob("*.json"):
            if entry.name == mine:
                continue
            try:
                snap = json.loads(entry.read_text())
            except (OSError, ValueError):  # replaced or removed meanwhile
                continue
            if not _alive(entry.stem):
                snap["audit_backlog"] = 0
            found.append(snap)
        return found


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True


def render(counters: Counters, shared: Shared, node: str = "") -> bytes:
    """The Prometheus text of this worker's counts plus the others', and
    ``sealbox_node_info{node="…"} 1`` naming the node (--node-id), so that
    a dashboard over several nodes can join on it."""
    total = metrics.merge([counters.snapshot(), *shared.others()])
    return generate_latest(_Families(total, node))  # type: ignore[arg-type]


class _Families:
    """A collector (what ``generate_latest`` reads) over one snapshot."""

    def __init__(self, snapshot: dict[str, Any], node: str = "") -> None:
        self.snapshot = snapshot
        self.node = node

    def collect(self) -> Iterator[Metric]:
        s = self.snapshot
        info = GaugeMetricFamily("sealbox_node_info", "This node (--node-id); always 1",
                                 labels=["node"])
        info.add_metric([self.node], 1)
        yield info
        requests = CounterMetricFamily("sealbox_requests", "Requests answered",
                                       labels=["operation", "status"])
        for op, status, n in s["requests"]:
            requests.add_metric([op, str(status)], n)
        yield requests
        yield _histogram("sealbox_request_duration_seconds",
                         "Time from the request's head to its last byte sent",
                         DURATION_BUCKETS, s["durations"])
        yield CounterMetricFamily("sealbox_bytes_sent", "Response body bytes sent",
                                  value=s["bytes"][0])
        yield CounterMetricFamily("sealbox_bytes_received", "Request body bytes received",
                                  value=s["bytes"][1])
        failures = CounterMetricFamily("sealbox_auth_failures",
                                       "Requests refused 401 or 403, by error code",
                                       labels=["reason"])
        for reason, n in sorted(s["auth_failures"].items()):
            failures.add_metric([reason], n)
        yield failures
        cache = CounterMetricFamily("sealbox_edge_cache", "Edge answers by cache result",
                                    labels=["result"])
        for result, n in sorted(s["edge_cache"].items()):
            cache.add_metric([result], n)
        yield cache
        links = CounterMetricFamily("sealbox_link_requests",
                                    "Requests with a managed link or a revoked signature: "
                                    "Admitted, or the refusal's code",
                                    labels=["result"])
        for result, n in sorted(s.get("links", {}).items()):
            links.add_metric([result], n)
        yield links
        yield _histogram("sealbox_store_operation_seconds",
                         "Metadata store calls on the request path, as the request waits",
                         STORE_BUCKETS, s["store"])
        yield GaugeMetricFamily("sealbox_audit_backlog", "Audit events not yet written",
                                value=s["audit_backlog"])
        yield CounterMetricFamily("sealbox_audit_dropped",
                                  "Audit events dropped (oldest first) from a full backlog",
                                  value=s["audit_dropped"])
        yield CounterMetricFamily("sealbox_access_log_dropped",
                                  "Access log records lost: a full buffer (oldest first) or a "
                                  "target bucket that is gone",
                                  value=s["access_log_dropped"])


def _histogram(name: str, documentation: str, bounds: tuple[float, ...],
               by_operation: dict[str, list[float]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, documentation, labels=["operation"])
    for op, values in sorted(by_operation.items()):
        counts, total = values[:-1], values[-1]
        cumulative, running = [], 0
        for bound, n in zip((*map(_le, bounds), "+Inf"), counts, strict=True):
            running += int(n)
            cumulative.append((bound, running))
        family.add_metric([op], cumulative, total)
    return family


def _le(bound: float) -> str:
    return repr(float(bound))
