"""A large aws-chunked upload through the real server, and the server's memory.

Starts ``sealbox serve`` (one uvicorn worker) on loopback with a fresh data
directory, then PUTs an object of ``--size`` bytes (1 GiB by default) as
``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: every chunk signed, the
CRC32 in a signed trailer, sent with a computed ``Content-Length`` over one
connection. While it runs, the server's resident set size is sampled from
``/proc/<pid>/status`` every 20 ms. The body is generated as it is sent, so
the client holds one chunk at a time.

    python bench/streaming_upload.py                 # 1 GiB in 1 MiB chunks
    python bench/streaming_upload.py --size 268435456 --chunk 65536
    python bench/streaming_upload.py --size 5368709120 --s3-backend sealbox

Prints (and with ``--json`` writes) the RSS before, the peak during and the
RSS after the upload, the throughput, and checks the stored object (size,
CRC32, and the ETag the client computed). Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
from awscrt import checksums
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sealbox.testing.s3_backend import MotoServer
from sealbox.testing.server import RunningServer

MODE = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
TRAILER = "x-amz-checksum-crc32"
MiB = 1024 * 1024


class _Auth(S3SigV4Auth):
    mode = MODE

    def payload(self, request: AWSRequest) -> str:
        return self.mode


class _UnsignedAuth(_Auth):
    mode = "UNSIGNED-PAYLOAD"


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.samples = pid, 0, 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            self.samples += 1
            time.sleep(0.02)


def framed_length(size: int, chunk: int) -> int:
    """Content-Length of the aws-chunked body: framing plus payload."""
    def line(n: int) -> int:
        return len(f"{n:x};chunk-signature=") + 64 + 2
    full, rest = divmod(size, chunk)
    total = full * (line(chunk) + chunk + 2)
    if rest:
        total += line(rest) + rest + 2
    total += line(0)
    crc_line = len(f"{TRAILER}:AAAAAA==\r\n")
    return total + crc_line + len("x-amz-trailer-signature:") + 64 + 2 + 2


def chain_start(authorization: str, secret_key: str) -> tuple[bytes, str, str]:
    """(signing key, credential scope, seed signature) from a signed request's
    ``Authorization``: what every chunk signature chains on."""
    seed = authorization.rsplit("Signature=", 1)[1]
    scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/", 1)[1]
    key = ("AWS4" + secret_key).encode()
    for part in (*scope.split("/")[:3], "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key, scope, seed


def chunk_signature(key: bytes, amz_date: str, scope: str, previous: str,
                    chunk_sha256: str) -> str:
    """The signature of one chunk, given the one before and the chunk's SHA-256 (hex)."""
    to_sign = (f"AWS4-HMAC-SHA256-PAYLOAD\n{amz_date}\n{scope}\n{previous}\n"
               f"{EMPTY_SHA256}\n{chunk_sha256}")
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def final_chunk(key: bytes, amz_date: str, scope: str, previous: str, crc32_b64: str) -> bytes:
    """The zero-size chunk, the CRC32 trailer and the trailer signature."""
    last = chunk_signature(key, amz_date, scope, previous, EMPTY_SHA256)
    trailer = f"{TRAILER}:{crc32_b64}\n"
    signature = hmac.new(key, "\n".join(("AWS4-HMAC-SHA256-TRAILER", amz_date, scope, last,
                                          hashlib.sha256(trailer.encode()).hexdigest())
                                         ).encode(), hashlib.sha256).hexdigest()
    return (f"0;chunk-signature={last}\r\n{TRAILER}:{crc32_b64}\r\n"
            f"x-amz-trailer-signature:{signature}\r\n\r\n").encode()


def body(size: int, chunk: int, key: bytes, amz_date: str, scope: str, seed: str,
         digests: dict[str, str]) -> Iterator[bytes]:
    block = os.urandom(chunk)
    previous, crc, md5, sent = seed, 0, hashlib.md5(), 0
    while sent < size:
        n = min(chunk, size - sent)
        # Rotate the block so consecutive chunks differ.
        data = block[sent % chunk:] + block[:sent % chunk] if n == chunk else block[:n]
        previous = chunk_signature(key, amz_date, scope, previous,
                                   hashlib.sha256(data).hexdigest())
        crc = checksums.crc32(data, crc)
        md5.update(data)
        yield b"%x;chunk-signature=%s\r\n" % (n, previous.encode()) + data + b"\r\n"
        sent += n
    value = base64.b64encode(crc.to_bytes(4, "big")).decode()
    digests.update(crc32=value, md5=md5.hexdigest())
    yield final_chunk(key, amz_date, scope, previous, value)


def plain_body(size: int, chunk: int, digests: dict[str, str]) -> Iterator[bytes]:
    """The same bytes as ``body`` sends, unframed (for --plain)."""
    block = os.urandom(chunk)
    md5, sent = hashlib.md5(), 0
    while sent < size:
        n = min(chunk, size - sent)
        data = block[sent % chunk:] + block[:sent % chunk] if n == chunk else block[:n]
        md5.update(data)
        yield data
        sent += n
    digests.update(md5=md5.hexdigest())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1024 * MiB, help="object size in bytes")
    parser.add_argument("--chunk", type=int, default=MiB, help="aws-chunked chunk size")
    parser.add_argument("--plain", action="store_true",
                        help="baseline: the same bytes as a plain UNSIGNED-PAYLOAD PUT")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--s3-backend", nargs="?", const="moto", choices=("moto", "sealbox"),
                        help="the server keeps the bytes in an S3 server (--blob-store "
                             "s3://…), not in files: moto's (in memory, ~7 MiB/s), or a "
                             "second sealbox on local files (a fast real S3 server)")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="sealbox-bench-"))
        extra: tuple[str, ...] = ()
        env: dict[str, str] = {}
        if args.s3_backend == "moto":
            moto = MotoServer().start()
            stack.callback(moto.stop)
            moto.create_bucket("bench-blobs")
            extra, env = ("--blob-store", "s3://bench-blobs"), moto.env()
        elif args.s3_backend == "sealbox":
            backend = stack.enter_context(RunningServer(data_dir=Path(tmp) / "backend",
                                                        observe=False))
            boto3.client("s3", endpoint_url=backend.endpoint, region_name="us-east-1",
                         aws_access_key_id=backend.access_key,
                         aws_secret_access_key=backend.secret_key).create_bucket(
                Bucket="bench-blobs")
            extra = ("--blob-store", "s3://bench-blobs")
            env = {"SEALBOX_BLOB_S3_ENDPOINT": backend.endpoint,
                   "SEALBOX_BLOB_S3_REGION": "us-east-1",
                   "SEALBOX_BLOB_S3_ACCESS_KEY_ID": backend.access_key,
                   "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": backend.secret_key}
        server = stack.enter_context(RunningServer(data_dir=Path(tmp) / "data",
                                                   extra_args=extra, env=env))
        assert server.process is not None
        pid = server.process.pid
        credentials = Credentials(server.access_key, server.secret_key)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        request = AWSRequest("PUT", f"{server.endpoint}/bench")
        _Auth(credentials, "s3", "us-east-1").add_auth(request)
        conn.request("PUT", "/bench", headers=dict(request.headers.items()))
        conn.getresponse().read()

        key_name = "big.bin"
        headers = {"Content-Encoding": "aws-chunked", "X-Amz-Trailer": TRAILER,
                   "X-Amz-Decoded-Content-Length": str(args.size),
                   "Content-Length": str(framed_length(args.size, args.chunk))}
        if args.plain:
            headers = {"Content-Length": str(args.size)}
        request = AWSRequest("PUT", f"{server.endpoint}/bench/{key_name}", headers=headers)
        (_UnsignedAuth if args.plain else _Auth)(credentials, "s3", "us-east-1").add_auth(request)
        signed = dict(request.headers.items())
        k, scope, seed = chain_start(signed["Authorization"], server.secret_key)

        before = rss_kib(pid)
        sampler = Sampler(pid)
        sampler.start()
        digests: dict[str, str] = {}
        started = time.monotonic()
        conn.putrequest("PUT", f"/bench/{key_name}", skip_accept_encoding=True)
        for name, value in signed.items():
            conn.putheader(name, value)
        conn.endheaders()
        pieces = (plain_body(args.size, args.chunk, digests) if args.plain else
                  body(args.size, args.chunk, k, signed["X-Amz-Date"], scope, seed, digests))
        for piece in pieces:
            conn.send(piece)
        response = conn.getresponse()
        answer = response.read()
        elapsed = time.monotonic() - started
        sampler.stop.set()
        sampler.join()
        after = rss_kib(pid)
        if response.status != 200:
            print(f"upload failed: {response.status} {answer[:500]!r}", file=sys.stderr)
            return 1
        stored = response.getheader(f"{TRAILER}")
        etag = response.getheader("etag")
        ok = (args.plain or stored == digests["crc32"]) and etag == f'"{digests["md5"]}"'
        figures = {
            "body": "plain UNSIGNED-PAYLOAD" if args.plain else MODE,
            "blob_store": f"s3 ({args.s3_backend})" if args.s3_backend else "files",
            "size_bytes": args.size,
            "chunk_bytes": args.chunk,
            "seconds": round(elapsed, 2),
            "mib_per_s": round(args.size / MiB / elapsed, 1),
            "server_rss_before_mib": round(before / 1024, 1),
            "server_rss_peak_during_mib": round(sampler.peak / 1024, 1),
            "server_rss_after_mib": round(after / 1024, 1),
            "rss_samples": sampler.samples,
            "stored_crc32_matches": None if args.plain else stored == digests["crc32"],
            "etag_matches": etag == f'"{digests["md5"]}"',
        }
        print(json.dumps(figures, indent=2))
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
