"""kill -9 the server in the middle of PUTs and multipart completes, restart
it, and find every object either whole or absent, never corrupt, and no
temporary file of the killed uploads left."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest
from botocore.exceptions import BotoCoreError, ClientError

from sealbox.testing.server import RunningServer

MIB = 1024 * 1024


def payload(key: str, generation: int, size: int) -> bytes:
    """Bytes that say which write they came from, so a reader can check them."""
    head = f"{key}|{generation}|{size}|".encode()
    return head + random.Random(f"{key}/{generation}").randbytes(max(0, size - len(head)))


def check(key: str, body: bytes) -> None:
    name, generation, size, _ = body.split(b"|", 3)
    assert name.decode() == key
    assert body == payload(key, int(generation), int(size)), f"{key} is corrupt"


def writer(client, bucket: str, stop: threading.Event, seed: int) -> None:
    rng = random.Random(seed)
    generation = 0
    while not stop.is_set():
        generation += 1
        key = f"obj-{rng.randrange(6)}"
        try:
            if rng.random() < 0.25:
                key = f"mp-{rng.randrange(3)}"
                body = payload(key, generation, 5 * MIB + 4096)
                upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
                etags = []
                for number, start in enumerate((0, 5 * MIB), start=1):
                    chunk = body[start: start + 5 * MIB]
                    etags.append(client.upload_part(Bucket=bucket, Key=key, UploadId=upload,
                                                    PartNumber=number, Body=chunk)["ETag"])
                client.complete_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload,
                    MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                               for n, e in enumerate(etags, start=1)]})
            else:
                client.put_object(Bucket=bucket, Key=key,
                                  Body=payload(key, generation, rng.choice([0, 100, 70_000, MIB])))
        except (ClientError, BotoCoreError, OSError):
            return  # the server died under us: that is the point


@pytest.mark.slow
def test_kill_9_mid_writes_leaves_every_object_whole_or_absent(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    server = RunningServer(data_dir=tmp_path / "data")
    tmp_dir = tmp_path / "data" / "objects" / "tmp"
    server.start()
    try:
        seen_keys: set[str] = set()
        leftovers = 0  # temporary files the kills left, all removed at restart
        for round_number in range(3):
            client = boto3.client(
                "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                aws_secret_access_key=server.secret_key, region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                              signature_version="s3v4", connect_timeout=2, read_timeout=10,
                              max_pool_connections=8))
            if round_number == 0:
                client.create_bucket(Bucket="crash")
            stop = threading.Event()
            threads = [threading.Thread(target=writer, args=(client, "crash", stop, round_number * 10 + i))
                       for i in range(4)]
            for thread in threads:
                thread.start()
            time.sleep(1.5 + random.random())
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
            left = sorted(p.name for p in tmp_dir.iterdir()) if tmp_dir.exists() else []
            leftovers += len(left)
            server.start()
            # The killed server's half-written uploads are gone once it is up.
            assert not tmp_dir.exists() or list(tmp_dir.iterdir()) == [], left
            listed = client.list_objects_v2(Bucket="crash").get("Contents", [])
            for entry in listed:
                body = client.get_object(Bucket="crash", Key=entry["Key"])["Body"].read()
                assert len(body) == entry["Size"]
                check(entry["Key"], body)
                seen_keys.add(entry["Key"])
        assert seen_keys, "no write ever committed: the test did not exercise anything"
        print(f"temporary files left by the kills, removed at restart: {leftovers}")
    finally:
        server.stop()
