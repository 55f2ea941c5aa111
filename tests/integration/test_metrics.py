"""``GET /_sealbox/metrics`` on real servers, read with prometheus-client's
own text parser; who may read it; ``--workers 2``; ``--log-format json``."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from prometheus_client.parser import text_string_to_metric_families

from sealbox.testing.server import RunningServer


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def samples(endpoint: str, **kwargs: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the metrics page: (name, sorted labels) → value."""
    page = requests.get(f"{endpoint}/_sealbox/metrics", timeout=10, **kwargs)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def client(server: RunningServer) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key,
                        config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1}))


def test_counters_move_with_the_requests(server: RunningServer, s3: Any) -> None:
    bucket = unique("metrics")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"m" * 1000)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    before = samples(server.endpoint)
    for _ in range(3):
        assert requests.get(url).status_code == 200
    assert requests.get(f"{server.endpoint}/{bucket}/k").status_code == 403
    after = samples(server.endpoint)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("sealbox_requests_total", operation="GetObject", status="200") == 3
    assert moved("sealbox_requests_total", operation="GetObject", status="403") == 1
    assert moved("sealbox_request_duration_seconds_count", operation="GetObject") == 4
    assert moved("sealbox_request_duration_seconds_bucket", operation="GetObject",
                 le="+Inf") == 4
    assert moved("sealbox_request_duration_seconds_sum", operation="GetObject") > 0
    assert moved("sealbox_bytes_sent_total") >= 3000
    assert moved("sealbox_auth_failures_total", reason="AccessDenied") == 1
    assert moved("sealbox_store_operation_seconds_count", operation="resolve") >= 4
    assert ("sealbox_audit_backlog", ()) in after
    assert ("sealbox_audit_dropped_total", ()) in after


def test_edge_cache_hits_and_misses_are_counted(server: RunningServer, s3: Any,
                                                client_factory: Any) -> None:
    from tests.integration.edge_site import make_site

    site = make_site(s3, client_factory("cloudfront"), server.endpoint, server.port)
    s3.put_object(Bucket=site.bucket, Key="page.html", Body=b"<p>hi</p>")
    url = site.signed("/page.html")
    before = samples(server.endpoint)
    assert site.get(url).headers["x-cache"].startswith("Miss")
    assert site.get(url).headers["x-cache"].startswith("Hit")
    after = samples(server.endpoint)
    for result in ("Miss", "Hit"):
        assert (value(after, "sealbox_edge_cache_total", result=result)
                - value(before, "sealbox_edge_cache_total", result=result)) == 1


@pytest.fixture
def fenced(tmp_path: Path) -> Any:
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--metrics-allow", "10.0.0.0/8"),
                       env={"SEALBOX_METRICS_TOKEN": "let-me-read-0123"}) as running:
        yield running


def test_a_non_allowed_address_needs_the_token(fenced: RunningServer) -> None:
    url = f"{fenced.endpoint}/_sealbox/metrics"
    assert requests.get(url).status_code == 403
    assert requests.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert requests.get(url, headers={"Authorization": "Basic let-me-read-0123"}
                        ).status_code == 403
    ok = requests.get(url, headers={"Authorization": "Bearer let-me-read-0123"})
    assert ok.status_code == 200 and "sealbox_requests_total" in ok.text


def test_no_metrics_turns_the_page_off(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--no-metrics", "--audit", "off")) as running:
        assert requests.get(f"{running.endpoint}/_sealbox/metrics").status_code == 404
        assert client(running).list_buckets()["Buckets"] == []


def test_workers_share_their_counts(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--workers", "2")) as running:
        s3 = client(running)
        s3.create_bucket(Bucket="shared-counts")
        s3.put_object(Bucket="shared-counts", Key="k", Body=b"w")
        url = s3.generate_presigned_url("get_object",
                                        Params={"Bucket": "shared-counts", "Key": "k"})
        pids = set()
        for _ in range(40):  # a new connection each: the kernel spreads them
            with requests.Session() as session:
                assert session.get(url).status_code == 200
        deadline = time.monotonic() + 5
        while True:
            found = samples(running.endpoint)
            got = value(found, "sealbox_requests_total", operation="GetObject", status="200")
            if got >= 40 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert got == 40
        snapshots = list((tmp_path / "data" / f"metrics-{running.port}").glob("*.json"))
        pids = {p.stem for p in snapshots}
        assert len(pids) == 2  # each worker publishes its own


def test_json_logs_are_one_object_per_request_without_signatures(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--log-format", "json")) as running:
        s3 = client(running)
        s3.create_bucket(Bucket="json-logs")
        s3.put_object(Bucket="json-logs", Key="k", Body=b"j" * 10)
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "json-logs", "Key": "k"})
        signature = url.rsplit("X-Amz-Signature=", 1)[1]
        got = requests.get(url)
        request_id = got.headers["x-amz-request-id"]
        deadline = time.monotonic() + 3
        while request_id not in running.log() and time.monotonic() < deadline:
            time.sleep(0.1)
        log = running.log()
    events = []
    for line in log.splitlines():
        if line.startswith("{"):
            events.append(json.loads(line))
    mine = [e for e in events if e.get("RequestId") == request_id]
    assert len(mine) == 1
    assert mine[0]["Status"] == 200 and mine[0]["BytesSent"] == 10
    assert mine[0]["SignatureFingerprint"].startswith("[sha256:")
    assert signature not in log
    assert running.secret_key not in log
