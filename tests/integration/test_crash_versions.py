"""kill -9 the server in the middle of versioned PUTs, delete markers and
version deletes, restart it, and find every acknowledged version whole and
readable by its id, and no acknowledged version delete undone."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from sealbox.testing.server import RunningServer
from tests.integration.test_crash import check, payload


def writer(client, stop: threading.Event, seed: int, kept: dict[tuple[str, str], bytes],
           gone: set[tuple[str, str]], lock: threading.Lock) -> None:
    rng = random.Random(seed)
    generation = seed * 1_000_000
    while not stop.is_set():
        generation += 1
        key = f"k-{rng.randrange(4)}"
        try:
            roll = rng.random()
            if roll < 0.6:
                body = payload(key, generation, rng.choice([0, 100, 70_000]))
                vid = client.put_object(Bucket="crash", Key=key, Body=body)["VersionId"]
                with lock:
                    kept[key, vid] = body
            elif roll < 0.8:
                client.delete_object(Bucket="crash", Key=key)  # a marker
            else:
                with lock:
                    mine = [kv for kv in kept if kv[0] == key]
                    # In doubt until acknowledged: a delete the kill cut
                    # short may or may not have committed.
                    victim = rng.choice(mine) if mine else None
                    if victim is not None:
                        del kept[victim]
                if victim is not None:
                    client.delete_object(Bucket="crash", Key=key, VersionId=victim[1])
                    with lock:
                        gone.add(victim)
        except (ClientError, BotoCoreError, OSError):
            return  # the server died under us: that is the point


@pytest.mark.slow
def test_kill_9_mid_versioned_writes_loses_no_acknowledged_version(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    server = RunningServer(data_dir=tmp_path / "data")
    server.start()
    kept: dict[tuple[str, str], bytes] = {}
    gone: set[tuple[str, str]] = set()
    lock = threading.Lock()
    try:
        for round_number in range(3):
            client = boto3.client(
                "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                aws_secret_access_key=server.secret_key, region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                              signature_version="s3v4", connect_timeout=2, read_timeout=10,
                              max_pool_connections=8))
            if round_number == 0:
                client.create_bucket(Bucket="crash")
                client.put_bucket_versioning(Bucket="crash",
                                             VersioningConfiguration={"Status": "Enabled"})
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(
                client, stop, round_number * 10 + i, kept, gone, lock)) for i in range(4)]
            for thread in threads:
                thread.start()
            time.sleep(1.5 + random.random())
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            server.start()
            listed: set[tuple[str, str]] = set()
            pages = client.get_paginator("list_object_versions").paginate(Bucket="crash")
            for page in pages:
                for version in page.get("Versions", []):
                    key, vid = version["Key"], version["VersionId"]
                    listed.add((key, vid))
                    body = client.get_object(Bucket="crash", Key=key, VersionId=vid)["Body"].read()
                    assert len(body) == version["Size"]
                    check(key, body)
            with lock:
                assert set(kept) <= listed, "an acknowledged version was lost"
                assert not (gone & listed), "an acknowledged version delete was undone"
        assert kept, "no write ever committed: the test did not exercise anything"
    finally:
        server.stop()
