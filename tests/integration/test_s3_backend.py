"""Object bytes in an S3-compatible bucket (``--blob-store s3://…``): a real
sealbox server keeps its blobs in moto's S3 server, reached through a proxy
the tests can make fail; boto3 drives sealbox.

What a user relies on: every S3 operation works as on local files; the
bytes are in the bucket (multipart there for large bodies), and leave it
when objects go; a backend that is busy, unreachable, or fails in the
middle of an upload gives S3's 503 and leaves nothing visible; what a lost
answer leaves behind is removed by the sweep; two nodes on one PostgreSQL
and one bucket serve the same objects.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sealbox.store.secrets import new_key
from sealbox.testing.postgres import PostgresCluster
from sealbox.testing.s3_backend import FaultyProxy, MotoServer
from sealbox.testing.server import RunningServer

MIB = 1024 * 1024
BACKEND_BUCKET = "sealbox-blobs"


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    server = MotoServer(log_path=tmp_path_factory.mktemp("moto") / "moto.log").start()
    server.create_bucket(BACKEND_BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(moto: MotoServer) -> Iterator[FaultyProxy]:
    running = FaultyProxy(("127.0.0.1", moto.port)).start()
    yield running
    running.stop()


@pytest.fixture
def healthy(proxy: FaultyProxy) -> Iterator[FaultyProxy]:
    """The proxy, passing everything again after the test."""
    proxy.mode = "pass"
    yield proxy
    proxy.mode = "pass"


@pytest.fixture(scope="module")
def node(moto: MotoServer, proxy: FaultyProxy,
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("s3-node")
    # Two workers: each forked process must reach the backend (the client's
    # runtime must not have started before the fork).
    with RunningServer(data_dir=base / "data",
                       extra_args=("--blob-store", f"s3://{BACKEND_BUCKET}/node-a",
                                   "--workers", "2"),
                       env=moto.env(proxy.endpoint)) as running:
        yield running


def client(server: RunningServer):
    return boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                        aws_access_key_id=server.access_key,
                        aws_secret_access_key=server.secret_key,
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture(scope="module")
def s3(node: RunningServer):
    return client(node)


@pytest.fixture
def bucket(s3, request: pytest.FixtureRequest) -> str:
    name = "t-" + hashlib.sha256(request.node.name.encode()).hexdigest()[:12]
    s3.create_bucket(Bucket=name)
    return name


def backend_blobs(moto: MotoServer, prefix: str = "node-a/") -> dict[str, dict]:
    """The backend's objects under ``prefix``/blobs/, by key."""
    found = {}
    for page in moto.client().get_paginator("list_objects_v2").paginate(
            Bucket=BACKEND_BUCKET, Prefix=f"{prefix}blobs/"):
        found.update({o["Key"]: o for o in page.get("Contents", [])})
    return found


def test_objects_round_trip_through_the_bucket(s3, bucket: str, moto: MotoServer,
                                                healthy: FaultyProxy) -> None:
    before = set(backend_blobs(moto))
    small = b"hello, bucket"
    large = os.urandom(12 * MIB + 5)
    s3.put_object(Bucket=bucket, Key="small.txt", Body=small)
    s3.put_object(Bucket=bucket, Key="dir/large.bin", Body=large)
    new = {k: v for k, v in backend_blobs(moto).items() if k not in before}
    # Both bodies are blobs in the bucket; the large one went as a multipart
    # upload (its backend ETag counts the parts), never held whole.
    assert sorted(v["Size"] for v in new.values()) == [len(small), len(large)]
    large_etag = next(v["ETag"] for v in new.values() if v["Size"] == len(large))
    assert large_etag.strip('"').endswith("-2")

    assert s3.get_object(Bucket=bucket, Key="small.txt")["Body"].read() == small
    assert s3.get_object(Bucket=bucket, Key="dir/large.bin")["Body"].read() == large
    ranged = s3.get_object(Bucket=bucket, Key="dir/large.bin", Range="bytes=8388600-8388700")
    assert ranged["ContentRange"] == f"bytes 8388600-8388700/{len(large)}"
    assert ranged["Body"].read() == large[8388600:8388701]
    assert s3.get_object(Bucket=bucket, Key="dir/large.bin",
                         Range="bytes=-10")["Body"].read() == large[-10:]
    head = s3.head_object(Bucket=bucket, Key="dir/large.bin")
    assert head["ContentLength"] == len(large)
    assert head["ETag"] == f'"{hashlib.md5(large).hexdigest()}"'
    listed = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in listed] == [("dir/large.bin", len(large)),
                                                       ("small.txt", len(small))]

    s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket,
                                                              "Key": "small.txt"})
    assert s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == small
    assert len(set(backend_blobs(moto)) - before) == 3

    # Deleting and overwriting remove the blobs no object names any more.
    s3.delete_object(Bucket=bucket, Key="dir/large.bin")
    s3.put_object(Bucket=bucket, Key="copy.txt", Body=b"replaced")
    assert s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"replaced"
    left = {k: v for k, v in backend_blobs(moto).items() if k not in before}
    assert sorted(v["Size"] for v in left.values()) == [len(b"replaced"), len(small)]


def test_sse_s3_objects_are_ciphertext_in_the_bucket(s3, bucket: str, moto: MotoServer,
                                                     healthy: FaultyProxy) -> None:
    before = set(backend_blobs(moto))
    body = (b"quarterly figures, not for the backend's eyes " * 300000)[:12 * MIB + 7]
    s3.put_object(Bucket=bucket, Key="sealed.bin", Body=body, ServerSideEncryption="AES256")
    new = [k for k in backend_blobs(moto) if k not in before]
    assert len(new) == 1
    stored = moto.client().get_object(Bucket=BACKEND_BUCKET, Key=new[0])["Body"].read()
    assert body[:64] not in stored and len(stored) == len(body) + 16 * (-(-len(body) // 65536))
    # Ranges stream from the backend's ranged GETs and decrypt only their chunks.
    assert s3.get_object(Bucket=bucket, Key="sealed.bin")["Body"].read() == body
    ranged = s3.get_object(Bucket=bucket, Key="sealed.bin", Range="bytes=8388600-8388700")
    assert ranged["Body"].read() == body[8388600:8388701]
    s3.copy_object(Bucket=bucket, Key="sealed-copy", CopySource=f"{bucket}/sealed.bin",
                   ServerSideEncryption="AES256")
    assert s3.get_object(Bucket=bucket, Key="sealed-copy",
                         Range="bytes=-10")["Body"].read() == body[-10:]


def test_multipart_upload_concatenates_parts_kept_in_the_bucket(
        s3, bucket: str, moto: MotoServer, healthy: FaultyProxy) -> None:
    before = set(backend_blobs(moto))
    parts = [os.urandom(5 * MIB), os.urandom(1000)]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    etags = [s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n,
                            Body=body)["ETag"] for n, body in enumerate(parts, start=1)]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={
        "Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, start=1)]})
    whole = b"".join(parts)
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == whole
    assert s3.get_object(Bucket=bucket, Key="mp", PartNumber=2)["Body"].read() == parts[1]
    # Across the parts' boundary: two blobs, one answer.
    assert s3.get_object(Bucket=bucket, Key="mp", Range=f"bytes={5 * MIB - 3}-{5 * MIB + 2}"
                         )["Body"].read() == whole[5 * MIB - 3: 5 * MIB + 3]
    assert len(set(backend_blobs(moto)) - before) == 2

    # An aborted upload takes its parts' blobs with it.
    upload = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="gone", UploadId=upload, PartNumber=1, Body=b"x" * 100)
    assert len(set(backend_blobs(moto)) - before) == 3
    s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=upload)
    assert len(set(backend_blobs(moto)) - before) == 2


def test_delete_objects_deletes_their_blobs_in_one_batch(
        s3, bucket: str, moto: MotoServer, healthy: FaultyProxy) -> None:
    before = set(backend_blobs(moto))
    keys = [f"k{i}" for i in range(40)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert len(set(backend_blobs(moto)) - before) == 40
    seen = len(healthy.requests)
    s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert set(backend_blobs(moto)) - before == set()
    deletes = [line for line in healthy.requests[seen:] if "?delete" in line]
    assert deletes and all(line.startswith("POST ") for line in deletes)
    assert len(deletes) < 40  # DeleteObjects, not one DELETE per blob


def error_of(call, *args, **kwargs) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call(*args, **kwargs)
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def test_a_busy_backend_gives_slowdown_and_keeps_nothing(
        s3, bucket: str, node: RunningServer, healthy: FaultyProxy) -> None:
    s3.put_object(Bucket=bucket, Key="there", Body=b"before")
    healthy.mode = "slowdown"
    assert error_of(s3.put_object, Bucket=bucket, Key="new", Body=b"x" * 1000) == (503,
                                                                                  "SlowDown")
    assert error_of(s3.get_object, Bucket=bucket, Key="there") == (503, "SlowDown")
    healthy.mode = "pass"
    assert error_of(s3.head_object, Bucket=bucket, Key="new")[0] == 404
    assert s3.get_object(Bucket=bucket, Key="there")["Body"].read() == b"before"
    assert "Traceback" not in node.log()


def test_an_unreachable_backend_gives_service_unavailable(
        s3, bucket: str, node: RunningServer, healthy: FaultyProxy) -> None:
    s3.put_object(Bucket=bucket, Key="there", Body=b"before")
    healthy.mode = "refuse"
    assert error_of(s3.put_object, Bucket=bucket, Key="new",
                    Body=b"y" * 3 * MIB) == (503, "ServiceUnavailable")
    assert error_of(s3.get_object, Bucket=bucket, Key="there") == (503, "ServiceUnavailable")
    # Metadata alone still answers.
    assert s3.head_object(Bucket=bucket, Key="there")["ContentLength"] == 6
    healthy.mode = "pass"
    assert error_of(s3.head_object, Bucket=bucket, Key="new")[0] == 404
    assert "Traceback" not in node.log()


def test_an_upload_failing_midway_leaves_no_object_and_no_upload(
        s3, bucket: str, moto: MotoServer, healthy: FaultyProxy) -> None:
    before = set(backend_blobs(moto))
    healthy.mode = "parts"  # the backend refuses every part: the upload dies midway
    assert error_of(s3.put_object, Bucket=bucket, Key="big",
                    Body=os.urandom(20 * MIB)) == (503, "SlowDown")
    healthy.mode = "pass"
    assert error_of(s3.head_object, Bucket=bucket, Key="big")[0] == 404
    assert set(backend_blobs(moto)) == before
    # The backend's multipart upload was aborted, not left to fill the disk.
    assert moto.client().list_multipart_uploads(Bucket=BACKEND_BUCKET).get("Uploads") is None


def sweep(node: RunningServer, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sealbox", "sweep-blobs", "--data-dir", str(node.data_dir),
         "--blob-store", f"s3://{BACKEND_BUCKET}/node-a", "--json", *args],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)


def test_a_lost_answer_leaves_an_orphan_that_the_sweep_removes(
        s3, bucket: str, node: RunningServer, moto: MotoServer,
        healthy: FaultyProxy) -> None:
    s3.put_object(Bucket=bucket, Key="kept", Body=b"kept")
    before = set(backend_blobs(moto))
    healthy.mode = "lose"  # the backend stores the blob; its answer never arrives
    status, _ = error_of(s3.put_object, Bucket=bucket, Key="lost", Body=b"z" * 500)
    assert status == 503
    healthy.mode = "pass"
    assert error_of(s3.head_object, Bucket=bucket, Key="lost")[0] == 404
    orphans = set(backend_blobs(moto)) - before
    assert orphans  # in the bucket, named by no record

    env = moto.env()
    # The default grace (a day) protects uploads in flight: nothing goes.
    kept = sweep(node, env)
    assert kept.returncode == 0, kept.stderr
    assert set(backend_blobs(moto)) >= orphans
    done = sweep(node, env, "--min-age-hours", "0")
    assert done.returncode == 0, done.stderr
    assert '"Removed": ' in done.stdout
    assert not set(backend_blobs(moto)) & orphans
    assert s3.get_object(Bucket=bucket, Key="kept")["Body"].read() == b"kept"


def serve_fails(tmp_path: Path, blob_store: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "sealbox", "serve", "--port", "0", "--data-dir",
         str(tmp_path / "data"), "--blob-store", blob_store],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def test_serve_refuses_a_blob_store_it_cannot_use(tmp_path: Path, moto: MotoServer) -> None:
    closed = FaultyProxy(("127.0.0.1", 1), mode="refuse").start()
    closed.stop()  # a port nothing listens on
    said = serve_fails(tmp_path, f"s3://{BACKEND_BUCKET}", moto.env(closed.endpoint))
    assert f"the blob store s3://{BACKEND_BUCKET} cannot be used (unreachable)" in said
    said = serve_fails(tmp_path, "s3://no-such-bucket-here", moto.env())
    assert "s3://no-such-bucket-here cannot be used" in said
    said = serve_fails(tmp_path, "ftp://host/x", {})
    assert "give s3://BUCKET[/PREFIX] or file:///PATH" in said
    said = serve_fails(tmp_path, "s3://Bad_Bucket", {})
    assert "is not an S3 bucket name" in said


def test_two_nodes_on_postgres_and_one_bucket_serve_the_same_objects(
        tmp_path: Path, moto: MotoServer, postgres_cluster: PostgresCluster) -> None:
    dsn = postgres_cluster.new_database()
    env = {**moto.env(), "SEALBOX_SECRET_KEY": new_key()}
    args = ("--meta-dsn", dsn, "--blob-store", f"s3://{BACKEND_BUCKET}/shared")
    with RunningServer(data_dir=tmp_path / "a", extra_args=args, env=env) as a, \
            RunningServer(data_dir=tmp_path / "b", extra_args=args, env=env) as b:
        on_a, on_b = client(a), client(b)
        on_a.create_bucket(Bucket="shared")
        body = os.urandom(3 * MIB)
        on_a.put_object(Bucket="shared", Key="k", Body=body)
        assert on_b.get_object(Bucket="shared", Key="k")["Body"].read() == body
        on_b.put_object(Bucket="shared", Key="k", Body=b"from b")
        assert on_a.get_object(Bucket="shared", Key="k")["Body"].read() == b"from b"
        on_a.delete_object(Bucket="shared", Key="k")
        assert error_of(on_b.get_object, Bucket="shared", Key="k") == (404, "NoSuchKey")
        assert backend_blobs(moto, "shared/") == {}


@pytest.mark.parametrize("cache_mib", ["1024", "0"], ids=["edge-cache", "no-edge-cache"])
def test_the_edge_serves_objects_kept_in_the_bucket(
        tmp_path: Path, moto: MotoServer, cache_mib: str) -> None:
    """The edge reads its origin from the bucket: into its disk cache (a
    blocking read in the thread pool) or, without a cache, streamed."""
    from sealbox.testing.server import free_port
    from tests.conftest import make_client
    from tests.integration.edge_site import Site, make_site

    edge_port = free_port()
    args = ("--blob-store", f"s3://{BACKEND_BUCKET}/edge-{cache_mib}", "--edge-port",
            str(edge_port), "--edge-cache-mib", cache_mib)
    with RunningServer(data_dir=tmp_path / "data", extra_args=args, env=moto.env()) as server:
        s3 = make_client(server)
        site: Site = make_site(s3, make_client(server, "cloudfront"), server.endpoint, edge_port)
        body = os.urandom(300 * 1024)
        s3.put_object(Bucket=site.bucket, Key="book.epub", Body=body)
        link = Site(**{**site.__dict__, "domain": "127.0.0.1"}).signed("/book.epub")
        path = "/" + link.split("/", 3)[3]
        import requests

        for _ in range(2):
            got = requests.get(f"http://127.0.0.1:{edge_port}{path}", timeout=30)
            assert got.status_code == 200
            assert got.content == body
        ranged = requests.get(f"http://127.0.0.1:{edge_port}{path}",
                              headers={"Range": "bytes=1000-1999"}, timeout=30)
        assert ranged.status_code == 206 and ranged.content == body[1000:2000]
        assert "Traceback" not in server.log()


def test_migrate_blobs_moves_a_served_store_to_the_bucket(tmp_path: Path,
                                                          moto: MotoServer) -> None:
    """Copy while serving from files; stop; copy what came since; serve from
    the bucket: every object, part and all, reads back the same."""
    data = tmp_path / "data"
    target = f"s3://{BACKEND_BUCKET}/migrated"

    def migrate() -> dict[str, int]:
        done = subprocess.run(
            [sys.executable, "-m", "sealbox", "migrate-blobs", "--data-dir", str(data),
             "--to", target, "--json"], env={**os.environ, **moto.env()},
            capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    bodies = {"small": b"small", "large": os.urandom(9 * MIB)}
    with RunningServer(data_dir=data) as files_node:
        s3 = client(files_node)
        s3.create_bucket(Bucket="old")
        for key, body in bodies.items():
            s3.put_object(Bucket="old", Key=key, Body=body)
        assert migrate() == {"Copied": 2, "AlreadyThere": 0, "Gone": 0}
        bodies["later"] = b"written during the copy"
        s3.put_object(Bucket="old", Key="later", Body=bodies["later"])
    assert migrate() == {"Copied": 1, "AlreadyThere": 2, "Gone": 0}
    with RunningServer(data_dir=data, extra_args=("--blob-store", target),
                       env=moto.env()) as bucket_node:
        s3 = client(bucket_node)
        for key, body in bodies.items():
            assert s3.get_object(Bucket="old", Key=key)["Body"].read() == body
    assert len(backend_blobs(moto, "migrated/")) == 3


def incomplete_uploads(moto: MotoServer, prefix: str) -> list[dict]:
    return moto.client().list_multipart_uploads(Bucket=BACKEND_BUCKET,
                                                Prefix=prefix).get("Uploads", [])


def test_an_upload_cut_by_a_kill_is_aborted_by_the_sweep(tmp_path: Path,
                                                          moto: MotoServer) -> None:
    """A node killed in the middle of a large PUT leaves an incomplete
    multipart upload in the backend (no object, but parts on its disk); its
    key was recorded before the first part, so the sweep aborts it."""
    import http.client
    import sqlite3
    import time
    from urllib.parse import urlsplit

    store = f"s3://{BACKEND_BUCKET}/killed"
    server = RunningServer(data_dir=tmp_path / "data", extra_args=("--blob-store", store),
                           env=moto.env()).start()
    try:
        s3 = client(server)
        s3.create_bucket(Bucket="cut")
        # A PUT that completes leaves no record behind.
        s3.put_object(Bucket="cut", Key="whole", Body=os.urandom(12 * MIB))
        with sqlite3.connect(tmp_path / "data" / "meta.sqlite3") as db:
            assert db.execute("SELECT count(*) FROM blob_uploads").fetchone() == (0,)
        # A PUT of 64 MiB whose client sends 20 MiB, then waits: the first
        # parts are in the backend when the node dies.
        url = urlsplit(s3.generate_presigned_url("put_object", Params={
            "Bucket": "cut", "Key": "cut-short"}, ExpiresIn=600))
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        connection.putrequest("PUT", f"{url.path}?{url.query}")
        connection.putheader("Content-Length", str(64 * MIB))
        connection.endheaders()
        for _ in range(20):
            connection.send(os.urandom(MIB))
        deadline = time.monotonic() + 30
        while not incomplete_uploads(moto, "killed/") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert incomplete_uploads(moto, "killed/")
    finally:
        server.kill()
    connection.close()
    assert len(incomplete_uploads(moto, "killed/")) == 1

    def sweep_killed(*args: str) -> dict:
        done = subprocess.run(
            [sys.executable, "-m", "sealbox", "sweep-blobs", "--data-dir", str(server.data_dir),
             "--blob-store", store, "--json", *args], env={**os.environ, **moto.env()},
            capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    # Within the grace period the upload may still be streaming: left alone.
    assert sweep_killed()["UploadsAborted"] == 0
    assert len(incomplete_uploads(moto, "killed/")) == 1
    assert sweep_killed("--min-age-hours", "0")["UploadsAborted"] == 1
    assert incomplete_uploads(moto, "killed/") == []
    with sqlite3.connect(tmp_path / "data" / "meta.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM blob_uploads").fetchone() == (0,)
    # What the completed PUT wrote is untouched.
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--blob-store", store),
                       env=moto.env()) as again:
        assert len(client(again).get_object(Bucket="cut", Key="whole")["Body"].read()) == 12 * MIB


def test_the_sweep_goes_through_the_bucket_a_page_per_tick(tmp_path: Path,
                                                           moto: MotoServer) -> None:
    """One page of the listing per tick, from the cursor the last holder
    left, whoever holds the lease; a pass done is not started again before
    its interval; keys that are not blob ids are left alone."""
    from sealbox.store.blob_location import parse_blob_store
    from sealbox.store.blob_sweep import sweep_tick
    from sealbox.store.s3blobs import S3BlobStore
    from sealbox.store.sqlite import SqliteMetaStore

    backend = moto.client()
    orphans = [f"paged/blobs/{n:032x}" for n in range(25)]
    for key in [*orphans, "paged/blobs/not-a-blob", "paged/elsewhere"]:
        backend.put_object(Bucket=BACKEND_BUCKET, Key=key, Body=b"x")
    blobs = S3BlobStore(parse_blob_store(f"s3://{BACKEND_BUCKET}/paged", tmp_path,
                                         moto.env()))
    meta = SqliteMetaStore(str(tmp_path / "meta.sqlite3"))
    try:
        # A record names one of them: it stays.
        from datetime import UTC, datetime

        from sealbox.store.meta import Bucket, ObjectRecord, Segment

        when = datetime.now(UTC)
        meta.create_bucket(Bucket("kept", when, "us-east-1", ""))
        meta.put_object(ObjectRecord("kept", "k", 1, "0" * 32, when,
                                     (Segment(orphans[3].rpartition("/")[2], 1),)))
        now = 1_000_000
        ticks = [sweep_tick(meta, blobs, f"node{n % 2}:1", now + n, min_age_seconds=0,
                            page_keys=10) for n in range(3)]
        # The cursor is a key under the store's prefix.
        assert [(t.removed, t.cursor) for t in ticks] == [
            (9, f"blobs/{9:032x}"), (10, f"blobs/{19:032x}"), (5, "")]
        left = set(backend_blobs(moto, "paged/"))
        assert left == {orphans[3], "paged/blobs/not-a-blob"}
        # The pass is done: within the hour a tick lists nothing.
        backend.put_object(Bucket=BACKEND_BUCKET, Key=f"paged/blobs/{99:032x}", Body=b"x")
        assert sweep_tick(meta, blobs, "node1:1", now + 60, min_age_seconds=0,
                          page_keys=10).removed == 0
        assert sweep_tick(meta, blobs, "node1:1", now + 2 + 3600, min_age_seconds=0,
                          page_keys=10).removed == 1
    finally:
        meta.close()
