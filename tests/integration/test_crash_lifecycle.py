"""kill -9 the server in the middle of a lifecycle pass, restart it, and
find: nothing the rules do not take touched, everything they take gone once
the passes resume, and no bytes left that no record names once the blobs
are swept (``sealbox sweep-blobs``, what the next start's hourly sweep does
after its grace)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sealbox.testing.server import RunningServer
from tests.conftest import make_client
from tests.integration.test_lifecycle_worker import FAST, _until


@pytest.mark.slow
def test_kill_9_mid_pass_loses_nothing_kept_and_leaves_no_bytes(tmp_path: Path) -> None:
    server = RunningServer(data_dir=tmp_path / "data", extra_args=FAST)
    server.start()
    try:
        s3 = make_client(server)
        s3.create_bucket(Bucket="crash")
        s3.put_bucket_versioning(Bucket="crash", VersioningConfiguration={"Status": "Enabled"})
        kept = {f"keep/{n:03d}": os.urandom(100 + n) for n in range(20)}
        expiring = [f"tmp/{n:03d}" for n in range(200)]

        def put(key: str) -> None:
            for generation in range(2):  # two versions: one noncurrent
                s3.put_object(Bucket="crash", Key=key, Body=f"{key} {generation}".encode())

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, expiring))
            list(pool.map(lambda kv: s3.put_object(Bucket="crash", Key=kv[0], Body=kv[1]),
                          kept.items()))
        s3.put_bucket_lifecycle_configuration(Bucket="crash", LifecycleConfiguration={
            "Rules": [{"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                       "Expiration": {"Days": 1},
                       "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
                      {"ID": "markers", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                       "Expiration": {"ExpiredObjectDeleteMarker": True}}]})
        for _ in range(2):  # twice: in the first pass, then in whatever comes
            time.sleep(2 + random.random() * 2)
            server.kill()
            server.start()
        s3 = make_client(server)

        def versions(prefix: str) -> list[dict[str, str]]:
            listed = []
            for page in s3.get_paginator("list_object_versions").paginate(Bucket="crash",
                                                                          Prefix=prefix):
                listed += page.get("Versions", []) + page.get("DeleteMarkers", [])
            return listed

        _until(lambda: versions("tmp/") == [], "every version and marker under tmp/ gone")
        for key, body in kept.items():
            assert s3.get_object(Bucket="crash", Key=key)["Body"].read() == body
        assert len(versions("keep/")) == len(kept)
    finally:
        server.stop()
    swept = subprocess.run(
        [sys.executable, "-m", "sealbox", "sweep-blobs", "--data-dir", str(server.data_dir),
         "--min-age-hours", "0", "--json"], capture_output=True, text=True, check=True,
        timeout=60)
    counts = json.loads(swept.stdout)
    left = sum(len(files) for _, _, files in os.walk(server.data_dir / "objects" / "blobs"))
    assert counts["Referenced"] == len(kept)
    assert left == len(kept), "bytes that no record names were left behind"
