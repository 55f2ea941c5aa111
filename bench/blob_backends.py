"""The S3 blob backend (``--blob-store s3://…``): which client, and what
going through sealbox costs. Everything against moto's server on loopback,
in one run, so the figures are comparable with each other only.

``clients``: obstore (what sealbox uses) and aiobotocore, each doing PUT and
GET of 1 KiB (sequential, then 16 at a time) and of 8 MiB (sequential)
against the same moto server. aiobotocore pins botocore to its own minor
release (3.10.0: botocore 1.43.x, while our lock has boto3/awscli on 1.44),
so it is measured from a private directory:

    pip install --target /tmp/aiob aiobotocore
    PYTHONPATH=/tmp/aiob:src python bench/blob_backends.py clients

``get``: GET 1 MiB with wrk (1 thread, ``--connections``) for
``--seconds``: the backend read directly (a presigned URL), sealbox on the
S3 backend (that backend) and sealbox on local files. The backend is moto,
or with ``--ceph`` the one-node Ceph RGW of scripts/ceph-rgw.sh. The
issue's bound: through sealbox ≥ 60 % of the backend's own MB/s.

    PYTHONPATH=src python bench/blob_backends.py get --seconds 10
    PYTHONPATH=src python bench/blob_backends.py get --seconds 10 --ceph
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from sealbox.store.blob_location import S3Location
from sealbox.store.s3blobs import open_s3
from sealbox.testing.s3_backend import ACCESS_KEY, REGION, SECRET_KEY, MotoServer
from sealbox.testing.server import RunningServer, free_port

KIB, MIB = 1024, 1024 * 1024
BUCKET = "bench-blobs"
CEPH_ACCESS, CEPH_SECRET = "CEPHBENCHACCESSKEY00", "cephbenchsecretkey0000000000000000000000"
REPORT = Path(__file__).parent / "wrk" / "report.lua"


def timed(n: int, fn: Callable[[int], Any]) -> float:
    """Operations per second of ``fn(i)`` for i in range(n)."""
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return n / (time.perf_counter() - start)


async def timed_async(n: int, parallel: int, fn: Callable[[int], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    for base in range(0, n, parallel):
        await asyncio.gather(*(fn(i) for i in range(base, min(n, base + parallel))))
    return n / (time.perf_counter() - start)


def bench_obstore(endpoint: str, n: int) -> dict[str, float]:
    import obstore

    store = open_s3(S3Location(BUCKET, "obstore", endpoint, REGION, ACCESS_KEY, SECRET_KEY))
    small, large = os.urandom(KIB), os.urandom(8 * MIB)
    out = {
        "put_1k_per_s": timed(n, lambda i: obstore.put(store, f"s{i}", small,
                                                       use_multipart=False)),
        "get_1k_per_s": timed(n, lambda i: bytes(obstore.get(store, f"s{i}").bytes())),
    }

    async def parallel() -> tuple[float, float]:
        put = await timed_async(n, 16, lambda i: obstore.put_async(store, f"p{i}", small,
                                                                    use_multipart=False))

        async def get(i: int) -> bytes:
            return bytes(await (await obstore.get_async(store, f"p{i}")).bytes_async())

        return put, await timed_async(n, 16, get)

    out["put_1k_x16_per_s"], out["get_1k_x16_per_s"] = asyncio.run(parallel())

    def put_large(i: int) -> None:
        with obstore.open_writer(store, f"l{i}", buffer_size=8 * MIB, max_concurrency=2) as w:
            w.write(large)

    rounds = max(3, n // 50)
    out["put_8m_mb_per_s"] = timed(rounds, put_large) * 8 * MIB / 1e6
    out["get_8m_mb_per_s"] = timed(rounds, lambda i: bytes(
        obstore.get(store, f"l{i}").bytes())) * 8 * MIB / 1e6
    return out


def bench_aiobotocore(endpoint: str, n: int) -> dict[str, float] | None:
    try:
        from aiobotocore.session import get_session
    except ImportError:
        return None
    small, large = os.urandom(KIB), os.urandom(8 * MIB)

    async def run() -> dict[str, float]:
        session = get_session()
        async with session.create_client(
                "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                config=__import__("aiobotocore.config").config.AioConfig(
                    max_pool_connections=32, s3={"addressing_style": "path"})) as s3:
            async def put(key: str, body: bytes) -> None:
                await s3.put_object(Bucket=BUCKET, Key=key, Body=body)

            async def get(key: str) -> bytes:
                response = await s3.get_object(Bucket=BUCKET, Key=key)
                async with response["Body"] as stream:
                    return await stream.read()

            out = {"put_1k_per_s": await timed_async(n, 1, lambda i: put(f"a/s{i}", small)),
                   "get_1k_per_s": await timed_async(n, 1, lambda i: get(f"a/s{i}")),
                   "put_1k_x16_per_s": await timed_async(n, 16, lambda i: put(f"a/p{i}", small)),
                   "get_1k_x16_per_s": await timed_async(n, 16, lambda i: get(f"a/p{i}"))}
            rounds = max(3, n // 50)
            # One PUT of 8 MiB (what a multipart part of this size costs).
            out["put_8m_mb_per_s"] = await timed_async(
                rounds, 1, lambda i: put(f"a/l{i}", large)) * 8 * MIB / 1e6
            out["get_8m_mb_per_s"] = await timed_async(
                rounds, 1, lambda i: get(f"a/l{i}")) * 8 * MIB / 1e6
            return out

    return asyncio.run(run())


def wrk(url: str, seconds: float, connections: int) -> dict[str, Any]:
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", str(REPORT), url]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True,
                          timeout=seconds + 60).stdout
    line = next(x for x in text.splitlines() if x.startswith("BENCH_JSON "))
    result = json.loads(line.removeprefix("BENCH_JSON "))
    if any(result["errors"].values()):
        raise SystemExit(f"wrk saw errors at {url.split('?')[0]}: {result['errors']}")
    result["mb_per_s"] = result["bytes"] / (result["duration_us"] / 1e6) / 1e6
    return result


def presigned(endpoint: str, access: str, secret: str, bucket: str, key: str) -> str:
    client = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=access, aws_secret_access_key=secret,
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
    return client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                         ExpiresIn=3600)


def bench_get(endpoint: str, access: str, secret: str, seconds: float,
              connections: int) -> dict[str, Any]:
    body = os.urandom(MIB)
    direct = boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                          aws_access_key_id=access, aws_secret_access_key=secret,
                          config=Config(s3={"addressing_style": "path"}))
    direct.put_object(Bucket=BUCKET, Key="direct/1m", Body=body)
    results: dict[str, Any] = {"backend": endpoint}
    results["backend_direct"] = wrk(presigned(endpoint, access, secret, BUCKET, "direct/1m"),
                                    seconds, connections)
    backend_env = {"SEALBOX_BLOB_S3_ENDPOINT": endpoint, "SEALBOX_BLOB_S3_REGION": REGION,
           "SEALBOX_BLOB_S3_ACCESS_KEY_ID": access, "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": secret}
    with tempfile.TemporaryDirectory() as tmp:
        for name, args, env in (
                ("sealbox_s3_backend", ("--blob-store", f"s3://{BUCKET}/sealbox"),
                 backend_env),
                ("sealbox_local_files", (), {})):
            (Path(tmp) / name).mkdir()
            with RunningServer(data_dir=Path(tmp) / name / "data", extra_args=args, env=env,
                               observe=False) as server:
                s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION,
                                  aws_access_key_id=server.access_key,
                                  aws_secret_access_key=server.secret_key)
                s3.create_bucket(Bucket="bench")
                s3.put_object(Bucket="bench", Key="1m", Body=body)
                url = presigned(server.endpoint, server.access_key, server.secret_key, "bench",
                                "1m")
                results[name] = wrk(url, seconds, connections)
    results["ratio_s3_backend_to_direct"] = (results["sealbox_s3_backend"]["mb_per_s"]
                                             / results["backend_direct"]["mb_per_s"])
    return results


@contextlib.contextmanager
def ceph_rgw() -> Iterator[str]:
    """scripts/ceph-rgw.sh's one-node Ceph, with the bucket; its endpoint."""
    script = str(Path(__file__).resolve().parents[1] / "scripts" / "ceph-rgw.sh")
    with tempfile.TemporaryDirectory(prefix="sealbox-ceph-") as where:
        port = str(free_port())
        subprocess.run(["bash", script, "start", where, port, CEPH_ACCESS, CEPH_SECRET],
                       check=True, timeout=300, stdout=subprocess.DEVNULL)
        try:
            endpoint = f"http://127.0.0.1:{port}"
            boto3.client("s3", endpoint_url=endpoint, region_name=REGION,
                         aws_access_key_id=CEPH_ACCESS, aws_secret_access_key=CEPH_SECRET
                         ).create_bucket(Bucket=BUCKET)
            yield endpoint
        finally:
            subprocess.run(["bash", script, "stop", where], timeout=60, check=False)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["clients", "get"])
    parser.add_argument("-n", type=int, default=300, help="operations per small figure")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--ceph", action="store_true",
                        help="get: the backend is scripts/ceph-rgw.sh's Ceph RGW, not moto")
    args = parser.parse_args()
    if args.what == "get" and args.ceph:
        with ceph_rgw() as endpoint:
            report: dict[str, Any] = bench_get(endpoint, CEPH_ACCESS, CEPH_SECRET,
                                               args.seconds, args.connections)
        report["cpus"] = os.cpu_count()
        json.dump(report, sys.stdout, indent=2, default=str)
        print()
        return 0
    moto = MotoServer().start()
    try:
        moto.create_bucket(BUCKET)
        if args.what == "clients":
            report = {"obstore": bench_obstore(moto.endpoint, args.n),
                      "aiobotocore": bench_aiobotocore(moto.endpoint, args.n)}
        else:
            report = bench_get(moto.endpoint, ACCESS_KEY, SECRET_KEY, args.seconds,
                               args.connections)
    finally:
        moto.stop()
    report["cpus"] = os.cpu_count()
    json.dump(report, sys.stdout, indent=2, default=str)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
