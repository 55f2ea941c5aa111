"""The most real S3 backend: a one-node Ceph (monitor, memstore OSD, RADOS
Gateway) from Debian's packages, started by scripts/ceph-rgw.sh. sealbox
keeps its blobs there; boto3 drives sealbox. (moto's server covers the
failure cases, in test_s3_backend.py.)"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from sealbox.testing.server import RunningServer, free_port

ROOT = Path(__file__).resolve().parents[2]
ACCESS, SECRET = "CEPHTESTACCESSKEY000", "cephtestsecretkey00000000000000000000000"
MIB = 1024 * 1024


def _missing() -> list[str]:
    return [tool for tool in ("ceph-mon", "ceph-osd", "radosgw", "radosgw-admin")
            if shutil.which(tool) is None]


@pytest.fixture(scope="module")
def rgw(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = _missing()
    if missing:
        why = f"Ceph is not installed ({', '.join(missing)}; bash scripts/install-test-deps.sh)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{why}; CI must run the Ceph RGW test", pytrace=False)
        pytest.skip(why)
    where = tmp_path_factory.mktemp("ceph")
    port = free_port()
    script = str(ROOT / "scripts" / "ceph-rgw.sh")
    started = subprocess.run(["bash", script, "start", str(where), str(port), ACCESS, SECRET],
                             capture_output=True, text=True, timeout=300, check=False)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield f"http://127.0.0.1:{port}"
    finally:
        subprocess.run(["bash", script, "stop", str(where)], timeout=60, check=False)


def client(endpoint: str, access: str, secret: str):
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1, "mode": "standard"}))


def test_objects_live_in_a_ceph_rados_gateway(rgw: str, tmp_path: Path) -> None:
    ceph = client(rgw, ACCESS, SECRET)
    ceph.create_bucket(Bucket="sealbox-blobs")
    env = {"SEALBOX_BLOB_S3_ENDPOINT": rgw, "SEALBOX_BLOB_S3_REGION": "us-east-1",
           "SEALBOX_BLOB_S3_ACCESS_KEY_ID": ACCESS, "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": SECRET}
    with RunningServer(data_dir=tmp_path / "data", env=env,
                       extra_args=("--blob-store", "s3://sealbox-blobs/node")) as server:
        s3 = client(server.endpoint, server.access_key, server.secret_key)
        s3.create_bucket(Bucket="photos")
        small, large = b"a picture of a cat", os.urandom(12 * MIB + 1)
        s3.put_object(Bucket="photos", Key="cat.txt", Body=small)
        s3.put_object(Bucket="photos", Key="big.bin", Body=large)
        assert s3.get_object(Bucket="photos", Key="cat.txt")["Body"].read() == small
        got = s3.get_object(Bucket="photos", Key="big.bin")["Body"].read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(large).digest()
        assert s3.get_object(Bucket="photos", Key="big.bin", Range="bytes=8388605-8388610"
                             )["Body"].read() == large[8388605:8388611]

        parts = [os.urandom(5 * MIB), b"tail"]
        upload = s3.create_multipart_upload(Bucket="photos", Key="mp")["UploadId"]
        etags = [s3.upload_part(Bucket="photos", Key="mp", UploadId=upload, PartNumber=n,
                                Body=p)["ETag"] for n, p in enumerate(parts, start=1)]
        s3.complete_multipart_upload(Bucket="photos", Key="mp", UploadId=upload,
                                     MultipartUpload={"Parts": [
                                         {"PartNumber": n, "ETag": e}
                                         for n, e in enumerate(etags, start=1)]})
        assert s3.get_object(Bucket="photos", Key="mp")["Body"].read() == b"".join(parts)

        stored = ceph.list_objects_v2(Bucket="sealbox-blobs", Prefix="node/blobs/")["Contents"]
        assert sorted(o["Size"] for o in stored) == sorted([len(small), len(large), *map(
            len, parts)])
        # The large body reached Ceph as a multipart upload.
        assert any(o["ETag"].strip('"').endswith("-2") for o in stored)

        s3.delete_objects(Bucket="photos", Delete={"Objects": [
            {"Key": k} for k in ("cat.txt", "big.bin", "mp")]})
        assert ceph.list_objects_v2(Bucket="sealbox-blobs", Prefix="node/").get(
            "Contents") is None
        assert ceph.list_multipart_uploads(Bucket="sealbox-blobs").get("Uploads") is None


def test_an_upload_a_killed_node_left_in_ceph_is_aborted_from_its_record(
        rgw: str, tmp_path: Path) -> None:
    """The sweep's own signed ListMultipartUploads and AbortMultipartUpload
    (store/s3_uploads.py), on Ceph: an incomplete upload whose key a
    ``blob_uploads`` row names goes, with the row; another stays."""
    from sealbox.store.blob_location import parse_blob_store
    from sealbox.store.s3_uploads import UploadRequests, abort_stale_uploads
    from sealbox.store.sqlite import SqliteMetaStore

    ceph = client(rgw, ACCESS, SECRET)
    ceph.create_bucket(Bucket="sealbox-uploads")
    left, other = "node/blobs/" + "a" * 32, "node/blobs/" + "b" * 32
    for key in (left, other):
        upload = ceph.create_multipart_upload(Bucket="sealbox-uploads", Key=key)["UploadId"]
        ceph.upload_part(Bucket="sealbox-uploads", Key=key, UploadId=upload, PartNumber=1,
                         Body=os.urandom(5 * MIB))
    env = {"SEALBOX_BLOB_S3_ENDPOINT": rgw, "SEALBOX_BLOB_S3_ACCESS_KEY_ID": ACCESS,
           "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": SECRET}
    location = parse_blob_store("s3://sealbox-uploads/node", tmp_path, env)
    meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    try:
        meta.begin_blob_upload("sealbox-uploads", left, "node1", 1000)
        found = UploadRequests(location).uploads_under(left)
        assert [u.key for u in found] == [left]
        assert abort_stale_uploads(meta, UploadRequests(location), "sealbox-uploads", 2000) == 1
        assert meta.stale_blob_uploads("sealbox-uploads", 2000, 10) == []
    finally:
        meta.close()
    still = ceph.list_multipart_uploads(Bucket="sealbox-uploads").get("Uploads", [])
    assert [u["Key"] for u in still] == [other]
