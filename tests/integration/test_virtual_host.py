"""Virtual-host style addressing: <bucket>.<domain> in the Host header."""

from __future__ import annotations

import subprocess

import pytest

DOMAIN = "s3.sealbox.test"


@pytest.fixture
def vhost_client(server, client_factory):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=f"http://{DOMAIN}:{server.port}", region_name="us-east-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(s3={"addressing_style": "virtual"}, signature_version="s3v4"),
    )


def curl_resolved(server, url: str, bucket: str, *args: str) -> tuple[int, bytes]:
    out = subprocess.run(
        ["curl", "-s", "--resolve", f"{bucket}.{DOMAIN}:{server.port}:127.0.0.1",
         "-o", "-", "-w", "\n%{http_code}", *args, url],
        capture_output=True, check=True, timeout=30).stdout
    body, _, status = out.rpartition(b"\n")
    return int(status), body


def test_virtual_host_presigned_get(server, s3, bucket, vhost_client) -> None:
    s3.put_object(Bucket=bucket, Key="v/h.txt", Body=b"virtual")
    url = vhost_client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v/h.txt"})
    assert url.startswith(f"http://{bucket}.{DOMAIN}:{server.port}/v/h.txt?")
    assert curl_resolved(server, url, bucket) == (200, b"virtual")


def test_virtual_host_listing_and_v2_presign(server, s3, bucket, client_factory) -> None:
    import boto3
    from botocore.config import Config

    s3.put_object(Bucket=bucket, Key="a", Body=b"1")
    legacy = boto3.client(
        "s3", endpoint_url=f"http://{DOMAIN}:{server.port}", region_name="us-east-1",
        aws_access_key_id=server.access_key, aws_secret_access_key=server.secret_key,
        config=Config(s3={"addressing_style": "virtual"}))
    url = legacy.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket})
    status, body = curl_resolved(server, url, bucket)
    assert status == 200
    assert b"<Key>a</Key>" in body
