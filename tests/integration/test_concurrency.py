"""Concurrent writers to one key: the last complete write wins, and readers
see the old or the new object, never a mix. Also several worker processes
sharing one data dir."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from sealbox.testing.server import RunningServer


def body_for(generation: int) -> bytes:
    return bytes([generation % 251]) * (256 * 1024 + generation)


def test_readers_never_see_a_mix_of_two_writes(client_factory, bucket) -> None:
    client = client_factory(max_pool_connections=16)
    client.put_object(Bucket=bucket, Key="hot", Body=body_for(0))
    stop = threading.Event()
    errors: list[str] = []
    written: list[int] = []

    def write(start: int) -> None:
        generation = start
        while not stop.is_set() and generation < start + 40:
            client.put_object(Bucket=bucket, Key="hot", Body=body_for(generation))
            written.append(generation)
            generation += 1

    def read() -> None:
        for _ in range(60):
            got = client.get_object(Bucket=bucket, Key="hot")
            data = got["Body"].read()
            generation = len(data) - 256 * 1024
            if data != body_for(generation):
                errors.append(f"mixed body of {len(data)} bytes")
            if got["ETag"] != f'"{hashlib.md5(data).hexdigest()}"':
                errors.append("ETag does not match the body it came with")

    threads = [threading.Thread(target=write, args=(s,)) for s in (1000, 2000)]
    threads += [threading.Thread(target=read) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    stop.set()
    assert not errors
    final = client.get_object(Bucket=bucket, Key="hot")["Body"].read()
    assert len(final) - 256 * 1024 in written


def test_several_workers_share_one_data_dir(tmp_path: Path) -> None:
    import boto3
    from botocore.config import Config

    with RunningServer(data_dir=tmp_path / "data", extra_args=("--workers", "2")) as server:
        client = boto3.client(
            "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
            aws_secret_access_key=server.secret_key, region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
        client.create_bucket(Bucket="shared")
        for i in range(40):  # new connections land on either worker
            fresh = boto3.client(
                "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
                aws_secret_access_key=server.secret_key, region_name="us-east-1",
                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4"))
            fresh.put_object(Bucket="shared", Key=f"k{i}", Body=str(i).encode())
        keys = [o["Key"] for o in client.list_objects_v2(Bucket="shared")["Contents"]]
        assert len(keys) == 40
        assert client.get_object(Bucket="shared", Key="k7")["Body"].read() == b"7"
