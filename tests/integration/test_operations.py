"""Running nodes (issue 15): health and readiness for a load balancer,
``--node-id`` in logs and metrics, ``--workers auto``, and a graceful stop
on SIGTERM that finishes requests in flight, within a bound."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import requests

from sealbox.server.h1.serve import SPREAD_BY_KERNEL
from sealbox.server.readiness import HEALTH_PATH
from sealbox.testing.server import RunningServer
from tests.conftest import make_client


def _ready(server: RunningServer) -> requests.Response:
    return requests.get(f"{server.endpoint}/_sealbox/ready", timeout=30)


def _wait_for_status(server: RunningServer, status: int, seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        answer = _ready(server)
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def test_ready_answers_503_naming_the_blob_store_while_it_cannot_take_writes(
        tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data") as server:
        answer = _ready(server)
        assert answer.status_code == 200
        assert answer.json() == {"status": "ready",
                                 "checks": {"metadata": "ok", "blobs": "ok"}}
        blobs = tmp_path / "data" / "objects" / "blobs"
        blobs.rename(blobs.with_name("blobs.away"))
        try:
            refused = _wait_for_status(server, 503)
            assert refused.status_code == 503
            body = refused.json()
            assert body["status"] == "unready" and body["checks"]["metadata"] == "ok"
            assert "blobs/" in body["checks"]["blobs"]
            assert body["error"]["code"] == "ServiceUnavailable"
            # Liveness is another question: the process answers.
            health = requests.get(f"{server.endpoint}/_sealbox/health", timeout=30)
            assert health.status_code == 200
        finally:
            blobs.with_name("blobs.away").rename(blobs)
        assert _wait_for_status(server, 200).status_code == 200


def test_ready_answers_503_when_the_metadata_database_is_gone(
        tmp_path: Path, postgres_cluster: Any) -> None:
    dsn = postgres_cluster.new_database()
    name = psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--meta-dsn", dsn)) as server:
        assert _ready(server).status_code == 200
        with psycopg.connect(postgres_cluster.dsn(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        refused = _wait_for_status(server, 503, seconds=15)
        assert refused.status_code == 503, refused.text
        assert refused.json()["checks"]["metadata"] != "ok"
        assert "password" not in refused.text.lower()
        assert requests.get(f"{server.endpoint}/_sealbox/health", timeout=30).status_code == 200


def test_node_id_names_the_node_in_json_logs_and_in_metrics(tmp_path: Path) -> None:
    with RunningServer(data_dir=tmp_path / "data",
                       extra_args=("--node-id", "node-7", "--log-format", "json")) as server:
        make_client(server).list_buckets()
        metrics = requests.get(f"{server.endpoint}/_sealbox/metrics", timeout=30).text
        assert 'sealbox_node_info{node="node-7"} 1.0' in metrics
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            lines = [json.loads(line) for line in server.log().splitlines()
                     if line.startswith("{")]
            events = [line for line in lines if line.get("Operation") == "ListBuckets"]
            if events:
                break
            time.sleep(0.2)
        assert events and events[0]["Node"] == "node-7"


def test_a_bad_node_id_is_refused_before_anything_starts(tmp_path: Path) -> None:
    server = RunningServer(data_dir=tmp_path / "data", extra_args=("--node-id", "a b\n"))
    with pytest.raises(RuntimeError, match="--node-id"):
        server.start()


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="counts workers in /proc")
def test_workers_auto_runs_one_worker_per_core(tmp_path: Path) -> None:
    cores = len(os.sched_getaffinity(0))
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--workers", "auto")) as server:
        assert server.process is not None
        workers = _children(server.process.pid)
        assert len(workers) == (cores if cores > 1 else 0)  # one core: no fork at all
        assert make_client(server).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:["):-1]))
    return inodes


def _server_side_inode(server_port: int, client_port: int) -> int:
    """The inode of the server's end of the loopback connection from ``client_port``."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and \
                int(remote.split(":")[1], 16) == client_port:
            return int(fields[9])
    raise AssertionError(f"no server end for client port {client_port}")


def _open_health_connections(server: RunningServer, count: int) -> list[http.client.HTTPConnection]:
    """``count`` keep-alive connections, each answered once (so accepted)."""
    parts = urlsplit(server.endpoint)
    conns = [http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
             for _ in range(count)]
    for conn in conns:
        conn.connect()  # all at once first, as a client pool opens them
    for conn in conns:
        conn.request("GET", HEALTH_PATH)
        answer = conn.getresponse()
        answer.read()
        assert answer.status == 200
    return conns


@pytest.mark.skipif(not SPREAD_BY_KERNEL, reason="the kernel spreads connections on Linux")
def test_a_burst_of_connections_is_spread_over_the_workers(tmp_path: Path) -> None:
    # With one socket shared by the workers, the first to wake accepted all
    # the waiting connections: a pool opened at once could land on one core.
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--workers", "2")) as server:
        assert server.process is not None
        workers = _children(server.process.pid)
        assert len(workers) == 2
        conns = _open_health_connections(server, 16)
        try:
            port = urlsplit(server.endpoint).port
            assert port is not None
            held = {pid: _socket_inodes(pid) for pid in workers}
            owners = []
            for conn in conns:
                assert conn.sock is not None
                inode = _server_side_inode(port, conn.sock.getsockname()[1])
                owners.extend(pid for pid, inodes in held.items() if inode in inodes)
            assert len(owners) == 16  # each connection held by exactly one worker
            # Both serve (16 connections all on one of two: 2 in 65 536).
            assert set(owners) == set(workers)
        finally:
            for conn in conns:
                conn.close()


def test_a_worker_killed_is_replaced_on_its_own_listener(tmp_path: Path) -> None:
    # Each worker has its own listening socket: connections the kernel gives
    # a dead worker's socket wait there for the worker started in its place.
    with RunningServer(data_dir=tmp_path / "data", extra_args=("--workers", "2")) as server:
        assert server.process is not None
        first, second = _children(server.process.pid)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            workers = _children(server.process.pid)
            if len(workers) == 2 and first not in workers:
                break
            assert time.monotonic() < deadline, "no worker started in place of the dead one"
            time.sleep(0.05)
        assert second in workers
        conns = _open_health_connections(server, 16)  # every one answered
        for conn in conns:
            conn.close()
        assert make_client(server).list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.skipif(not SPREAD_BY_KERNEL, reason="the kernel spreads connections on Linux")
def test_workers_do_not_share_a_port_another_server_listens_on(tmp_path: Path) -> None:
    # Sockets that spread connections could join another server's group on
    # the port (as its twin would) and take some of its clients: refused.
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", 0))
    other.listen(8)
    try:
        server = RunningServer(data_dir=tmp_path / "data", port=other.getsockname()[1],
                               extra_args=("--workers", "2"))
        with pytest.raises(RuntimeError, match="in use"):
            server.start()
    finally:
        other.close()


def _start_upload(server: RunningServer, bucket: str, size: int) -> http.client.HTTPConnection:
    url = make_client(server).generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "in-flight"}, ExpiresIn=300)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    conn.send(b"a" * (size // 2))
    return conn


def test_sigterm_lets_a_request_in_flight_finish_then_exits(tmp_path: Path) -> None:
    server = RunningServer(data_dir=tmp_path / "data").start()
    try:
        make_client(server).create_bucket(Bucket="drain")
        size = 1 << 20
        conn = _start_upload(server, "drain", size)
        time.sleep(0.3)  # the head is read, the body half sent
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        # Stopped accepting: a new connection is refused...
        with pytest.raises(requests.ConnectionError):
            requests.get(f"{server.endpoint}/_sealbox/health", timeout=5)
        # ...while the upload in flight completes.
        conn.send(b"a" * (size - size // 2))
        answer = conn.getresponse()
        assert answer.status == 200, answer.read()
        conn.close()
        assert server.process.wait(timeout=20) == 0
    finally:
        server.stop()
    with RunningServer(data_dir=tmp_path / "data") as again:
        body = make_client(again).get_object(Bucket="drain", Key="in-flight")["Body"].read()
        assert body == b"a" * size


def test_sigterm_waits_for_a_stalled_request_only_the_shutdown_timeout(tmp_path: Path) -> None:
    server = RunningServer(data_dir=tmp_path / "data",
                           extra_args=("--shutdown-timeout", "1")).start()
    try:
        make_client(server).create_bucket(Bucket="stall")
        conn = _start_upload(server, "stall", 1 << 20)  # and never the rest
        time.sleep(0.3)
        assert server.process is not None
        began = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=15) == 0
        assert time.monotonic() - began < 8
        conn.close()
    finally:
        server.stop()
    with RunningServer(data_dir=tmp_path / "data") as again:
        listed = make_client(again).list_objects_v2(Bucket="stall")
        assert listed.get("KeyCount", 0) == 0  # nothing partial is visible
