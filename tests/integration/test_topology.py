"""Three nodes on one PostgreSQL behind HAProxy (Debian's package), on
loopback (issue 15). Each node has its own data dir and nothing shared but
the database and the keyring; what is made through the balancer is seen
through every node, and a node killed with SIGKILL under load costs the
clients only retriable errors while HAProxy notices, and no acknowledged
change. The same with objects' bytes in one S3 bucket (moto's server,
``--blob-store s3://…``): every acknowledged object reads back whole
through every node, and no object whose PUT was cut is listed with
partial bytes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sealbox.cli.client import AdminClient, path
from sealbox.store.secrets import new_key
from sealbox.testing.s3_backend import MotoServer
from sealbox.testing.server import TEST_ACCESS_KEY, TEST_SECRET_KEY, RunningServer, free_port

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None,
                                reason="haproxy is not installed: bash scripts/install-test-deps.sh")

NODES = 3
LOAD_SECONDS = 12.0
# What a client may see while HAProxy notices a dead node: the balancer's
# own 502/503/504, or a connection cut. Each is retried by the AWS SDKs.
RETRIABLE = {"502", "503", "504", "BadGateway", "ServiceUnavailable", "GatewayTimeout"}

HAPROXY_CONFIG = """\
global
    maxconn 512
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    # /_sealbox/ready asks the stores (a listing of the blob bucket): under
    # load that takes longer than the 200 ms between checks, which would
    # otherwise be its timeout. A dead node is refused at once anyway.
    timeout check 2s
    # A connection a dead node refused is tried on another: no request
    # reached it, so even a POST is safe to send again.
    retries 3
    option redispatch
    retry-on conn-failure
frontend s3
    bind 127.0.0.1:{port}
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /_sealbox/ready
    http-check expect status 200
{servers}
"""


class Topology:
    def __init__(self, root: Path, dsn: str, blob_store: tuple[str, ...] = (),
                 blob_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.dsn = dsn
        self.blob_store = blob_store  # ("--blob-store", "s3://…"), or files per node
        self.env = {"SEALBOX_SECRET_KEY": new_key(), **(blob_env or {})}
        self.nodes: list[RunningServer] = []
        self.port = free_port()
        self.haproxy: subprocess.Popen[bytes] | None = None

    def node(self, index: int, port: int = 0) -> RunningServer:
        return RunningServer(data_dir=self.root / f"node{index}", port=port, env=self.env,
                             extra_args=("--meta-dsn", self.dsn, "--node-id", f"node{index}",
                                         *self.blob_store))

    def start(self) -> None:
        for index in range(NODES):
            self.nodes.append(self.node(index).start())
        servers = "\n".join(f"    server node{i} 127.0.0.1:{node.port} check inter 200ms "
                            "fall 2 rise 2" for i, node in enumerate(self.nodes))
        config = self.root / "haproxy.cfg"
        config.write_text(HAPROXY_CONFIG.format(port=self.port, servers=servers))
        log = open(self.root / "haproxy.log", "ab")  # noqa: SIM115 - the child holds it
        self.haproxy = subprocess.Popen(["haproxy", "-db", "-f", str(config)], stdout=log,
                                        stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.endpoint}/_sealbox/ready", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError((self.root / "haproxy.log").read_text())

    def restart(self, index: int) -> None:
        self.nodes[index] = self.node(index, self.nodes[index].port).start()

    def stop(self) -> None:
        if self.haproxy is not None:
            self.haproxy.terminate()
            self.haproxy.wait(timeout=10)
        for node in self.nodes:
            node.stop()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def client(endpoint: str, service: str = "s3", access_key: str = TEST_ACCESS_KEY,
           secret_key: str = TEST_SECRET_KEY) -> Any:
    return boto3.client(service, endpoint_url=endpoint, aws_access_key_id=access_key,
                        aws_secret_access_key=secret_key, region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"},
                                      retries={"max_attempts": 1, "mode": "standard"},
                                      connect_timeout=5, read_timeout=30))


@pytest.fixture
def topology(tmp_path: Path, postgres_cluster: Any) -> Iterator[Topology]:
    made = Topology(tmp_path, postgres_cluster.new_database())
    try:
        made.start()
        yield made
    finally:
        made.stop()


def test_what_is_made_through_the_balancer_is_seen_through_every_node(
        topology: Topology) -> None:
    balanced = topology.endpoint
    iam = client(balanced, "iam")
    iam.create_user(UserName="reader")
    key = iam.create_access_key(UserName="reader")["AccessKey"]
    iam.put_user_policy(UserName="reader", PolicyName="list", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket",
                                                "Resource": "*"}]}))
    client(balanced).create_bucket(Bucket="everywhere")
    # The balancer's Host is what clients sign; each node verifies it.
    link = client(balanced, access_key=key["AccessKeyId"],
                  secret_key=key["SecretAccessKey"]).generate_presigned_url(
        "list_objects_v2", Params={"Bucket": "everywhere"}, ExpiresIn=600)
    host = {"Host": f"127.0.0.1:{topology.port}"}
    for node in topology.nodes:
        reader = client(node.endpoint, access_key=key["AccessKeyId"],
                        secret_key=key["SecretAccessKey"])
        assert reader.list_objects_v2(Bucket="everywhere")["KeyCount"] == 0
        direct = requests.get(link.replace(balanced, node.endpoint), headers=host, timeout=30)
        assert direct.status_code == 200
    AdminClient(balanced, TEST_ACCESS_KEY, TEST_SECRET_KEY).call(
        "POST", path("revocations"), {"Url": link})
    for node in topology.nodes:
        refused = requests.get(link.replace(balanced, node.endpoint), headers=host, timeout=30)
        assert refused.status_code == 403 and "revoked" in refused.text
    # An edge distribution and its invalidation, made through the balancer.
    cf = client(balanced, "cloudfront")
    made = cf.create_distribution(DistributionConfig={
        "CallerReference": uuid.uuid4().hex, "Comment": "", "Enabled": True,
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "bucket", "DomainName": "everywhere.s3.us-east-1.amazonaws.com",
            "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
        "DefaultCacheBehavior": {"TargetOriginId": "bucket",
                                 "ViewerProtocolPolicy": "allow-all",
                                 "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})
    dist = made["Distribution"]["Id"]
    cf.create_invalidation(DistributionId=dist, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": "inv"})
    for node in topology.nodes:
        seen = client(node.endpoint, "cloudfront")
        assert seen.get_distribution(Id=dist)["Distribution"]["Id"] == dist
        assert seen.list_invalidations(DistributionId=dist)["InvalidationList"]["Quantity"] == 1


class Load:
    """Mixed metadata writes and reads through the balancer, each recorded
    as acknowledged or refused (and how)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.stop = threading.Event()
        self.buckets: list[str] = []
        self.users: list[str] = []
        self.retriable: list[str] = []
        self.other: list[str] = []
        self.done = 0
        self.lock = threading.Lock()

    def run(self, worker: int) -> None:
        s3, iam = client(self.endpoint), client(self.endpoint, "iam")
        n = 0
        while not self.stop.is_set():
            n += 1
            name = f"load-{worker}-{n}"
            for op in (lambda name=name: (s3.create_bucket(Bucket=name),
                                          self.buckets.append(name)),
                       lambda name=name: (iam.create_user(UserName=name),
                                          self.users.append(name)),
                       lambda: s3.list_buckets(),
                       lambda: iam.list_users(MaxItems=5)):
                try:
                    op()
                    with self.lock:
                        self.done += 1
                except ClientError as error:
                    code = str(error.response["Error"]["Code"])
                    status = str(error.response["ResponseMetadata"].get("HTTPStatusCode"))
                    (self.retriable if RETRIABLE & {code, status} else self.other).append(
                        f"{code} {status}")
                except BotoCoreError as error:  # a connection cut: retriable
                    self.retriable.append(type(error).__name__)


def test_a_node_killed_under_load_costs_only_retriable_errors_and_nothing_acknowledged(
        topology: Topology) -> None:
    load = Load(topology.endpoint)
    threads = [threading.Thread(target=load.run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(LOAD_SECONDS / 4)
        topology.nodes[1].kill()  # SIGKILL: no goodbye
        time.sleep(LOAD_SECONDS / 4)
        topology.restart(1)
        time.sleep(LOAD_SECONDS / 2)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=60)
    assert load.done > 50, (load.done, load.retriable, load.other)
    assert load.other == [], load.other
    # Few retriable errors: HAProxy stops sending to the dead node within
    # its checks (2 × 200 ms) and re-sends refused connections elsewhere.
    assert len(load.retriable) <= 20, load.retriable
    # Every acknowledged change is there, through every node (the one
    # restarted included).
    for node in topology.nodes:
        names = {b["Name"] for b in client(node.endpoint).list_buckets()["Buckets"]}
        assert set(load.buckets) <= names
        users = {u["UserName"] for page in client(node.endpoint, "iam").get_paginator(
            "list_users").paginate() for u in page["Users"]}
        assert set(load.users) <= users


# -- objects' bytes in one S3 bucket ----------------------------------------------------

KIB = 1024
MIB = 1024 * KIB
BACKEND_BUCKET = "topology-blobs"
# Across the blob store's threshold (store/s3blobs.py): up to 64 KiB one
# PUT to the backend, above it a multipart upload in 8 MiB parts.
SIZES = (1 * KIB, 64 * KIB, 200 * KIB, 9 * MIB)
S3_LOAD_SECONDS = 12.0


def body_of(name: str, size: int) -> bytes:
    """A body that names its object: a PUT cut short, or bytes from another
    object, cannot pass for it."""
    seed = hashlib.sha256(name.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


class ObjectLoad:
    """PUTs of fresh keys (sizes across the multipart threshold) and GETs of
    acknowledged ones through the balancer. Every answer is recorded:
    acknowledged, refused retriably, or wrong (anything else, and any GET
    whose bytes differ from what was acknowledged)."""

    def __init__(self, endpoint: str, bucket: str) -> None:
        self.endpoint = endpoint
        self.bucket = bucket
        self.stop = threading.Event()
        self.acknowledged: dict[str, int] = {}  # key → size
        self.cut: dict[str, int] = {}  # PUTs that got no 200: key → size sent
        self.retriable: list[str] = []
        self.wrong: list[str] = []
        self.reads = 0
        self.lock = threading.Lock()

    def _call(self, what: str, op: Any) -> Any:
        try:
            return op()
        except ClientError as error:
            code = str(error.response["Error"]["Code"])
            status = str(error.response["ResponseMetadata"].get("HTTPStatusCode"))
            (self.retriable if RETRIABLE & {code, status} else self.wrong).append(
                f"{what}: {code} {status}")
        except (BotoCoreError, ConnectionError) as error:  # a connection cut: retriable
            self.retriable.append(f"{what}: {type(error).__name__}")
        return None

    def run(self, worker: int, sizes: tuple[int, ...]) -> None:
        s3 = client(self.endpoint)
        n = 0
        while not self.stop.is_set():
            n += 1
            size = sizes[n % len(sizes)]
            key = f"w{worker}/{n}-{size}"
            body = body_of(key, size)
            if self._call(f"PUT {key}", lambda key=key, body=body: s3.put_object(
                    Bucket=self.bucket, Key=key, Body=body)) is not None:
                with self.lock:
                    self.acknowledged[key] = size
            else:
                with self.lock:
                    self.cut[key] = size
            with self.lock:
                known = list(self.acknowledged.items())
            if not known:
                continue
            old, old_size = known[(n * 7919) % len(known)]
            got = self._call(f"GET {old}", lambda old=old: s3.get_object(
                Bucket=self.bucket, Key=old)["Body"].read())
            if got is not None:
                self.reads += 1
                if got != body_of(old, old_size):
                    self.wrong.append(f"GET {old}: {len(got)} bytes, not the ones put")


def node_with_an_upload(dsn: str, seconds: float = 8.0) -> int | None:
    """The index of a node with a multipart upload to the backend under way
    (its row in ``blob_uploads``), as soon as one has; None after ``seconds``."""
    import psycopg

    deadline = time.monotonic() + seconds
    with psycopg.connect(dsn, autocommit=True) as db:
        while time.monotonic() < deadline:
            row = db.execute("SELECT node_id FROM blob_uploads LIMIT 1").fetchone()
            if row is not None:
                return int(row[0].removeprefix("node"))
            time.sleep(0.02)
    return None


@pytest.fixture
def s3_topology(tmp_path: Path, postgres_cluster: Any) -> Iterator[tuple[Topology, MotoServer]]:
    moto = MotoServer(log_path=tmp_path / "moto.log").start()
    made = Topology(tmp_path, postgres_cluster.new_database(),
                    ("--blob-store", f"s3://{BACKEND_BUCKET}/nodes"), moto.env())
    try:
        moto.create_bucket(BACKEND_BUCKET)
        made.start()
        yield made, moto
    finally:
        made.stop()
        moto.stop()


def test_a_node_killed_while_objects_stream_to_the_bucket_loses_no_acknowledged_byte(
        s3_topology: tuple[Topology, MotoServer]) -> None:
    topology, moto = s3_topology
    client(topology.endpoint).create_bucket(Bucket="objects")
    load = ObjectLoad(topology.endpoint, "objects")
    # Two workers on small and medium bodies, one on the multipart ones
    # (moto stores ~7 MiB/s: a 9 MiB PUT takes a second or two, so the kill
    # lands in the middle of some).
    threads = [threading.Thread(target=load.run, args=(0, SIZES[:3])),
               threading.Thread(target=load.run, args=(1, SIZES[:3])),
               threading.Thread(target=load.run, args=(2, SIZES[2:]))]
    for thread in threads:
        thread.start()
    try:
        time.sleep(S3_LOAD_SECONDS / 4)
        victim = node_with_an_upload(topology.dsn)
        topology.nodes[victim or 0].kill()  # SIGKILL: the upload under way on it is cut
        time.sleep(S3_LOAD_SECONDS / 4)
        topology.restart(victim or 0)
        time.sleep(S3_LOAD_SECONDS / 2)
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    sizes = set(load.acknowledged.values())
    assert len(load.acknowledged) > 30 and SIZES[-1] in sizes and SIZES[0] in sizes, (
        len(load.acknowledged), sizes, load.retriable, load.wrong)
    assert load.reads > 10
    assert load.wrong == [], load.wrong
    assert len(load.retriable) <= 20, load.retriable
    # The kill cut a backend upload under way on that node. (Its client saw no
    # error at all in our runs: the request was sent again on a new
    # connection, and its object is among the acknowledged ones.)
    assert victim is not None, "no node had an upload under way to be killed in"
    # Every acknowledged object, whole, through every node (the restarted one
    # included); the listing names each with its size.
    for node in topology.nodes:
        s3 = client(node.endpoint)
        listed = {o["Key"]: o["Size"] for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket="objects") for o in page.get("Contents", [])}
        for key, size in load.acknowledged.items():
            assert listed.get(key) == size, key
            got = s3.get_object(Bucket="objects", Key=key)["Body"].read()
            assert hashlib.sha256(got).digest() == hashlib.sha256(body_of(key, size)).digest()
        # A cut PUT is either absent or whole (its answer, not its commit,
        # was lost): never listed with part of its bytes.
        for key, size in load.cut.items():
            if key in listed:
                assert listed[key] == size, key
                assert s3.get_object(Bucket="objects", Key=key)["Body"].read() == body_of(
                    key, size)
        assert set(listed) <= set(load.acknowledged) | set(load.cut)
    assert "Traceback" not in "".join(node.log() for node in topology.nodes)
    # What the kill left of that upload (its row; an incomplete upload in
    # the backend unless the kill came before its first part left or after
    # it completed) is gone after a sweep (no grace: the load is over), on
    # PostgreSQL.
    import psycopg

    backend = moto.client()
    incomplete = backend.list_multipart_uploads(Bucket=BACKEND_BUCKET).get("Uploads", [])
    swept = subprocess.run(
        [sys.executable, "-m", "sealbox", "sweep-blobs", "--data-dir", str(topology.root / "node0"),
         "--meta-dsn", topology.dsn, "--blob-store", f"s3://{BACKEND_BUCKET}/nodes",
         "--min-age-hours", "0", "--json"], env={**os.environ, **topology.env},
        capture_output=True, text=True, timeout=120, check=False)
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout)["UploadsAborted"] == len(incomplete)
    with psycopg.connect(topology.dsn, autocommit=True) as db:
        assert db.execute("SELECT count(*) FROM blob_uploads").fetchone() == (0,)
    assert backend.list_multipart_uploads(Bucket=BACKEND_BUCKET).get("Uploads") is None
