"""What encryption at rest costs (issue 17): SSE-S3 and SSE-KMS against
plain bytes.

1. The blob layer alone, in process: a 64 MiB body written through
   ``SealedWriter`` (AES-256-GCM, 64 KiB chunks) and read back through
   ``SealedBlob.chunks``, against the same bytes written and read plain
   (a temporary file, 1 MiB pieces). CPU seconds, best of ``--rounds``.
2. A real server (metrics and audit off), as it runs by default (``--workers
   auto``: one worker per core) and with one worker: a presigned GET of a
   1 MiB object, plain (sent by ``sendfile``) and SSE-S3 (read, decrypted
   into a reused buffer and written from it; by a thread when there are
   fewer workers than cores), driven by ``wrk -t1 -c8`` in alternating
   rounds.
   The issue's target: the SSE-S3 object's MB/s at least 70 % of the plain
   one's. An SSE-KMS object too (``kms``): the same sealed bytes, plus per
   GET a KMS key's row read, its material decrypted by the keyring and
   the data key unwrapped (api/s3/kms.py). Also the server's CPU time per request (from /proc), steadier
   than wall-clock figures on a shared machine.

    PYTHONPATH=src python bench/encryption.py [--rounds 3] [--duration 5] [--workers auto,1]

Figures are in bench/README.md ("Encryption at rest").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config

from sealbox.store.sealed_blobs import SealedBlob, SealedWriter
from sealbox.testing.server import RunningServer

MIB = 1024 * 1024
BODY = 64 * MIB
WRK_DIR = Path(__file__).parent / "wrk"


class FileWriter:
    """A BlobWriter onto a plain file, as LocalBlobWriter writes (no fsync:
    the crypto is measured, not the disk)."""

    blob_id = "0" * 32

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed by finish

    def write(self, data: bytes) -> None:
        self._file.write(data)

    def finish(self) -> str:
        self._file.close()
        return self.blob_id

    def abort(self) -> None:
        self._file.close()


def _cpu(fn) -> float:  # type: ignore[no-untyped-def]
    started = time.process_time()
    fn()
    return time.process_time() - started


def blob_layer(rounds: int) -> dict[str, float]:
    data = os.urandom(BODY)
    key = os.urandom(32)
    pieces = [data[i:i + MIB] for i in range(0, BODY, MIB)]
    best: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        plain_path, sealed_path = Path(tmp) / "plain", Path(tmp) / "sealed"
        nonce = ""
        for _ in range(rounds):
            def write_plain() -> None:
                writer = FileWriter(plain_path)
                for piece in pieces:
                    writer.write(piece)
                writer.finish()

            def write_sealed() -> None:
                nonlocal nonce
                writer = SealedWriter(FileWriter(sealed_path), key)  # type: ignore[arg-type]
                for piece in pieces:
                    writer.write(piece)
                writer.finish()
                nonce = writer.nonce

            def read_plain() -> None:
                with open(plain_path, "rb") as f:
                    fd, offset = f.fileno(), 0
                    while chunk := os.pread(fd, MIB, offset):
                        offset += len(chunk)

            def read_sealed() -> None:
                async def drain() -> int:
                    with open(sealed_path, "rb") as f:  # noqa: ASYNC230 - a bench
                        blob = SealedBlob(f, key, nonce, BODY)
                        return sum([len(c) async for c in blob.chunks(0, BODY)])
                assert asyncio.run(drain()) == BODY

            for name, fn in (("write_plain", write_plain), ("write_sealed", write_sealed),
                             ("read_plain", read_plain), ("read_sealed", read_sealed)):
                seconds = _cpu(fn)
                best[name] = min(best.get(name, seconds), seconds)
    return {f"{name}_MBps": BODY / MIB / seconds for name, seconds in best.items()}


def _server_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _workers(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    kids = [int(p) for p in children.read_text().split()] if children.exists() else []
    return [pid, *kids]


def _wrk(url: str, duration: int) -> tuple[float, int]:
    """(MB/s, requests) of one wrk run on ``url``."""
    done = subprocess.run(["wrk", "-t1", "-c8", f"-d{duration}s", url],
                          capture_output=True, text=True, timeout=duration + 60, check=True)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", done.stdout)
    requests_ = re.search(r"(\d+) requests in", done.stdout)
    assert transfer and requests_, done.stdout
    scale = {"B": 1 / MIB, "KB": 1 / 1024, "MB": 1.0, "GB": 1024.0}[transfer[2]]
    return float(transfer[1]) * scale, int(requests_[1])


def _kms_key(server: RunningServer) -> str:
    """A KMS key made through the admin API: its ARN."""
    import urllib.request

    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("POST", server.endpoint + "/_sealbox/api/v1/kms-keys", data=b"{}",
                         headers={"content-type": "application/json"})
    SigV4Auth(Credentials(server.access_key, server.secret_key), "sealbox",
              "us-east-1").add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, data=b"{}", method="POST",
                                  headers=dict(prepared.headers))
    with urllib.request.urlopen(sent, timeout=30) as answer:
        return str(json.loads(answer.read())["KeyMetadata"]["Arn"])


def server_get(rounds: int, duration: int, workers: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp, \
            RunningServer(data_dir=Path(tmp) / "data", observe=False,
                          extra_args=("--metrics", "off", "--audit", "off",
                                      "--workers", workers)) as server:
        s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                          aws_access_key_id=server.access_key,
                          aws_secret_access_key=server.secret_key,
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="bench-sse")
        body = os.urandom(MIB)
        s3.put_object(Bucket="bench-sse", Key="plain", Body=body)
        s3.put_object(Bucket="bench-sse", Key="sealed", Body=body, ServerSideEncryption="AES256")
        s3.put_object(Bucket="bench-sse", Key="kms", Body=body, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=_kms_key(server))
        urls = {name: s3.generate_presigned_url("get_object", ExpiresIn=3600,
                                                Params={"Bucket": "bench-sse", "Key": name})
                for name in ("plain", "sealed", "kms")}
        assert server.process is not None
        pids = _workers(server.process.pid)
        best: dict[str, float] = {}
        cpu_per_request: dict[str, float] = {}
        for _ in range(rounds):
            for name, url in urls.items():
                _wrk(url, 1)  # warm-up
                before = sum(_server_cpu(p) for p in pids)
                mbps, count = _wrk(url, duration)
                used = sum(_server_cpu(p) for p in pids) - before
                best[name] = max(best.get(name, 0.0), mbps)
                per = used / max(count, 1) * 1e6
                cpu_per_request[name] = min(cpu_per_request.get(name, per), per)
        return {"get_plain_MBps": best["plain"], "get_sealed_MBps": best["sealed"],
                "get_kms_MBps": best["kms"],
                "get_ratio": best["sealed"] / best["plain"],
                "get_kms_ratio": best["kms"] / best["plain"],
                "cpu_us_per_get_plain": cpu_per_request["plain"],
                "cpu_us_per_get_sealed": cpu_per_request["sealed"],
                "cpu_us_per_get_kms": cpu_per_request["kms"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--workers", default="auto,1",
                        help="the servers' --workers, comma-separated (one server each)")
    args = parser.parse_args()
    figures = blob_layer(args.rounds)
    figures["read_ratio"] = figures["read_sealed_MBps"] / figures["read_plain_MBps"]
    figures["write_ratio"] = figures["write_sealed_MBps"] / figures["write_plain_MBps"]
    for workers in args.workers.split(","):
        got = server_get(args.rounds, args.duration, workers)
        figures.update({f"workers_{workers}_{name}": value for name, value in got.items()})
    figures["load_average"] = os.getloadavg()[0]
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}, indent=2))


if __name__ == "__main__":
    main()
