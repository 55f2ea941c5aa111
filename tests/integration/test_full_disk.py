"""A full disk: uploads are refused with 507 InsufficientStorage (which no
SDK retries), said once in the log, and every stored object stays readable,
through S3 and through the edge, whose cache just keeps nothing.

The data dir is on a small tmpfs the test mounts (root with CAP_SYS_ADMIN;
skipped, saying so, where mounting is not allowed) and fills to the last
byte with a file of its own.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer
from tests.conftest import make_client
from tests.integration.edge_site import make_site

MIB = 1024 * 1024


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 24 MiB tmpfs, mounted for this test only."""
    mount_point = tmp_path / "fs"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs",
                              str(mount_point)], check=False, capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and CAP_SYS_ADMIN): "
                    f"{mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the file system has not one byte left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (MIB, 64 * 1024, 4096, 1):
            block = b"\0" * size
            while True:
                try:
                    os.write(fd, block)
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
    finally:
        os.close(fd)


def refused(call: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return info.value.response  # type: ignore[no-any-return]


def test_a_full_disk_refuses_uploads_with_507_and_keeps_every_object_readable(
        small_fs: Path) -> None:
    server = RunningServer(data_dir=small_fs / "data").start()
    try:
        # Retries as SDKs do by default: a 500 or a 503 would be sent 3 times.
        s3 = make_client(server, retries={"max_attempts": 3, "mode": "standard"})
        cf = make_client(server, "cloudfront")
        site = make_site(s3, cf, server.endpoint, server.port)
        small, medium = os.urandom(1000), os.urandom(300 * 1024)
        s3.put_object(Bucket=site.bucket, Key="small", Body=small)
        s3.put_object(Bucket=site.bucket, Key="medium", Body=medium)
        # A multipart object: the edge copies its blobs into its cache (a
        # one-blob object is hard-linked, which takes no space).
        parts = [os.urandom(5 * MIB), os.urandom(1000)]
        upload = s3.create_multipart_upload(Bucket=site.bucket, Key="multi")["UploadId"]
        etags = [s3.upload_part(Bucket=site.bucket, Key="multi", UploadId=upload, PartNumber=n,
                                Body=body)["ETag"] for n, body in enumerate(parts, start=1)]
        s3.complete_multipart_upload(Bucket=site.bucket, Key="multi", UploadId=upload,
                                     MultipartUpload={"Parts": [
                                         {"PartNumber": n, "ETag": e}
                                         for n, e in enumerate(etags, start=1)]})
        pending = s3.create_multipart_upload(Bucket=site.bucket, Key="pending")["UploadId"]

        fill(small_fs / "filler")

        for key, body in (("big", os.urandom(MIB)), ("tiny", b"x" * 1000)):
            response = refused(s3.put_object, Bucket=site.bucket, Key=key, Body=body)
            assert (response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]) \
                == (507, "InsufficientStorage"), key
            assert response["ResponseMetadata"]["RetryAttempts"] == 0  # not retried
        response = refused(s3.upload_part, Bucket=site.bucket, Key="pending", UploadId=pending,
                           PartNumber=1, Body=os.urandom(MIB))
        assert response["Error"]["Code"] == "InsufficientStorage"
        response = refused(s3.copy_object, Bucket=site.bucket, Key="copy",
                           CopySource={"Bucket": site.bucket, "Key": "medium"})
        assert response["Error"]["Code"] == "InsufficientStorage"

        # Everything stored reads back, directly and through the edge.
        assert s3.get_object(Bucket=site.bucket, Key="small")["Body"].read() == small
        assert s3.get_object(Bucket=site.bucket, Key="medium")["Body"].read() == medium
        assert s3.get_object(Bucket=site.bucket, Key="multi")["Body"].read() == b"".join(parts)
        listed = s3.list_objects_v2(Bucket=site.bucket)["Contents"]
        assert {o["Key"] for o in listed} == {"small", "medium", "multi"}
        for _ in range(2):  # not kept: a Miss each time, served from the origin
            viewed = site.get(site.signed("/multi"))
            assert viewed.status_code == 200, viewed.text[:300]
            assert viewed.content == b"".join(parts)
            assert viewed.headers["x-cache"] == "Miss from cloudfront"
        assert site.get(site.signed("/small")).content == small

        # Room again: uploads work again.
        (small_fs / "filler").unlink()
        s3.put_object(Bucket=site.bucket, Key="big", Body=b"after")
        assert s3.get_object(Bucket=site.bucket, Key="big")["Body"].read() == b"after"
    finally:
        server.stop()
    log = server.log()
    # Said once for the uploads (rate-limited: not per refusal) and once for
    # the edge cache, and no traceback.
    assert log.count("out of space") == 2, log
    assert "Traceback" not in log
