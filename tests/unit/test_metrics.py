"""The per-process counters (sealbox.metrics), their sum over workers, the
Prometheus text (sealbox.server.metrics_http) and who may read it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from sealbox.metrics import Counters, merge
from sealbox.server.metrics_http import MetricsAccess, Shared, render, reset_dir


def parsed(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode())
            for s in family.samples}


def test_a_request_is_counted_by_operation_and_status_with_its_duration_and_bytes() -> None:
    c = Counters()
    c.request("GetObject", 200, 0.0003, 1024, 0)
    c.request("GetObject", 200, 0.2, 10, 5)
    c.request("GetObject", 403, 0.0001, 200, 0)
    found = parsed(render(c, Shared(None)))
    assert found[("sealbox_requests_total", (("operation", "GetObject"), ("status", "200")))] == 2
    assert found[("sealbox_requests_total", (("operation", "GetObject"), ("status", "403")))] == 1
    bucket = ("sealbox_request_duration_seconds_bucket", (("le", "0.00025"),
                                                          ("operation", "GetObject")))
    assert found[bucket] == 1  # 0.0001 only: buckets are cumulative, le inclusive
    inf = ("sealbox_request_duration_seconds_bucket", (("le", "+Inf"),
                                                       ("operation", "GetObject")))
    assert found[inf] == 3
    assert found[("sealbox_bytes_sent_total", ())] == 1234
    assert found[("sealbox_bytes_received_total", ())] == 5


def test_a_duration_on_a_bound_falls_in_that_bucket() -> None:
    c = Counters()
    c.request("HeadObject", 200, 0.001, 0, 0)
    found = parsed(render(c, Shared(None)))
    key = ("sealbox_request_duration_seconds_bucket", (("le", "0.001"),
                                                       ("operation", "HeadObject")))
    assert found[key] == 1


def test_workers_snapshots_add_up(tmp_path: Path) -> None:
    reset_dir(tmp_path)
    other = Counters()
    other.request("GetObject", 200, 0.01, 100, 0)
    other.auth_failure("SignatureDoesNotMatch")
    other.audit_backlog = 7
    # Another worker's file (a live pid: ours' parent), and a dead one's.
    (tmp_path / f"{os.getppid()}.json").write_text(json.dumps(other.snapshot()))
    (tmp_path / "999999999.json").write_text(json.dumps(other.snapshot()))
    mine = Counters()
    mine.request("GetObject", 200, 0.01, 1, 0)
    shared = Shared(tmp_path)
    shared.publish(mine)  # our own file is never read back: our live counts are used
    found = parsed(render(mine, shared))
    assert found[("sealbox_requests_total", (("operation", "GetObject"), ("status", "200")))] == 3
    assert found[("sealbox_bytes_sent_total", ())] == 201
    assert found[("sealbox_auth_failures_total", (("reason", "SignatureDoesNotMatch"),))] == 2
    assert found[("sealbox_audit_backlog", ())] == 7  # the dead worker's backlog is gone


def test_reset_dir_forgets_an_earlier_run(tmp_path: Path) -> None:
    (tmp_path / "1.json").write_text("{}")
    reset_dir(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_merge_of_nothing_is_zero() -> None:
    assert merge([])["requests"] == [] and merge([])["bytes"] == [0, 0]


def test_access_by_network_or_bearer_token() -> None:
    loopback = MetricsAccess(("127.0.0.0/8", "::1/128"))
    assert loopback.allows("127.0.0.1", None)
    assert loopback.allows("::1", None)
    assert loopback.allows("::ffff:127.0.0.1", None)
    assert not loopback.allows("10.1.2.3", None)
    assert not loopback.allows("not an address", None)
    fenced = MetricsAccess(("10.0.0.0/8",), token="s3cret")
    assert not fenced.allows("127.0.0.1", None)
    assert fenced.allows("10.9.9.9", None)
    assert fenced.allows("127.0.0.1", "Bearer s3cret")
    assert fenced.allows("127.0.0.1", "bearer  s3cret")
    assert not fenced.allows("127.0.0.1", "Bearer s3cre")
    assert not fenced.allows("127.0.0.1", "s3cret")
    assert not MetricsAccess(("10.0.0.0/8",)).allows("127.0.0.1", "Bearer ")
