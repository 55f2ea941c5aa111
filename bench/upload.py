"""One large file PUT in one request, to sealbox and to nginx, for bench/run.py.

The same file (``make_source``: random bytes written once to the run's temp
dir, its per-chunk SHA-256, CRC32 and MD5 computed while writing) is sent
by one sender, ``put``, in one of three bodies:

``aws-chunked``
    ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER``: every 1 MiB chunk
    signed, the CRC32 in a signed trailer (what the issue's target names).
``unsigned-payload``
    a plain body under ``x-amz-content-sha256: UNSIGNED-PAYLOAD``, the
    headers signed (sealbox's own reference).
``plain``
    a plain body, no signature: nginx's WebDAV PUT.

The sender reads each chunk from the (page-cached) file into one buffer and
hands framing and data to the kernel in one ``sendmsg``, whatever the body;
the chunk hashes were computed beforehand, so signing costs the client one
small HMAC per chunk and every peer gets the same client (on its own core).

While a PUT runs, the server's memory is watched (``MemoryWatch``): its
peak RSS is reset through ``/proc/<pid>/clear_refs`` before the upload and
read from ``VmHWM`` after, and ``VmRSS`` is sampled every 20 ms as well.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# bench/ is not a package; run.py puts it on sys.path.
from streaming_upload import (
    TRAILER,
    _Auth,
    _UnsignedAuth,
    chain_start,
    chunk_signature,
    final_chunk,
    framed_length,
)

MiB = 1024 * 1024
GiB = 1024 * MiB
BODIES = ("aws-chunked", "unsigned-payload", "plain")


@dataclass(frozen=True)
class SourceFile:
    """The file every peer receives, with what a client would compute over it."""

    path: Path
    size: int
    chunk: int
    chunk_sha256: tuple[str, ...]
    crc32_b64: str
    md5_hex: str


@dataclass(frozen=True)
class UploadTarget:
    """Where a large PUT goes and how its body is framed and signed."""

    url: str                 # base URL and path prefix; the key is appended
    body: str                # one of BODIES
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    stored_dir: Path | None = None  # nginx: where the file lands (fsync, check)

    def describe(self) -> str:
        return {"aws-chunked": "signed aws-chunked + CRC32 trailer",
                "unsigned-payload": "plain, UNSIGNED-PAYLOAD",
                "plain": "WebDAV plain PUT, unsigned"}[self.body]


@dataclass(frozen=True)
class Sent:
    status: int
    headers: dict[str, str]
    answer: bytes
    seconds: float       # from the request line to the end of the response
    client_cpu_s: float  # the sending thread's CPU time


def make_source(path: Path, size: int, chunk: int = MiB) -> SourceFile:
    """Write ``size`` random bytes to ``path`` once; hash them as a client would."""
    shas, crc, md5, left = [], 0, hashlib.md5(), size
    with path.open("wb") as f:
        while left:
            data = os.urandom(min(chunk, left))
            shas.append(hashlib.sha256(data).hexdigest())
            crc = zlib.crc32(data, crc)  # S3's CRC32 is zlib's (IEEE 802.3)
            md5.update(data)
            f.write(data)
            left -= len(data)
    return SourceFile(path, size, chunk, tuple(shas),
                      base64.b64encode(crc.to_bytes(4, "big")).decode(), md5.hexdigest())


def _send_all(sock: Any, parts: list[memoryview]) -> None:
    """One gathered write per call; finishes whatever a partial send leaves."""
    while parts:
        sent = sock.sendmsg(parts)
        while parts and sent >= len(parts[0]):
            sent -= len(parts[0])
            parts.pop(0)
        if sent:
            parts[0] = parts[0][sent:]


def put(target: UploadTarget, key: str, source: SourceFile, *,
        tamper_first_chunk: bool = False, timeout: float = 600) -> Sent:
    """PUT ``source`` to ``target`` under ``key`` over a fresh connection."""
    url = target.url + key
    parts = urllib.parse.urlsplit(url)
    headers: dict[str, str]
    if target.body == "aws-chunked":
        headers = {"Content-Encoding": "aws-chunked", "X-Amz-Trailer": TRAILER,
                   "X-Amz-Decoded-Content-Length": str(source.size),
                   "Content-Length": str(framed_length(source.size, source.chunk))}
    else:
        headers = {"Content-Length": str(source.size),
                   "Content-Type": "application/octet-stream"}
    chain: tuple[bytes, str, str, str] | None = None
    if target.body != "plain":
        request = AWSRequest("PUT", url, headers=headers)
        auth = _Auth if target.body == "aws-chunked" else _UnsignedAuth
        auth(Credentials(target.access_key, target.secret_key), "s3",
             "us-east-1").add_auth(request)
        headers = dict(request.headers.items())
        if target.body == "aws-chunked":
            key_bytes, scope, seed = chain_start(headers["Authorization"], target.secret_key)
            chain = (key_bytes, headers["X-Amz-Date"], scope, seed)
    assert parts.hostname is not None and parts.port is not None
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    buffer = bytearray(source.chunk)
    view = memoryview(buffer)
    try:
        conn.connect()
        cpu, started = time.thread_time(), time.monotonic()
        conn.putrequest("PUT", parts.path, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        previous = chain[3] if chain else ""
        with source.path.open("rb", buffering=0) as f:
            for number, sha in enumerate(source.chunk_sha256):
                n = f.readinto(buffer)
                if chain is None:
                    _send_all(conn.sock, [view[:n]])
                    continue
                previous = chunk_signature(*chain[:3], previous, sha)
                signature = previous
                if tamper_first_chunk and number == 0:
                    signature = ("0" if signature[0] != "0" else "1") + signature[1:]
                head = b"%x;chunk-signature=%s\r\n" % (n, signature.encode())
                _send_all(conn.sock, [memoryview(head), view[:n], memoryview(b"\r\n")])
        if chain is not None:
            conn.send(final_chunk(*chain[:3], previous, source.crc32_b64))
        response = conn.getresponse()
        answer = response.read()
        seconds = time.monotonic() - started
        return Sent(response.status, {k.lower(): v for k, v in response.getheaders()}, answer,
                    seconds, time.thread_time() - cpu)
    finally:
        conn.close()


def _status_kib(pid: int, fields: tuple[str, ...]) -> dict[str, int]:
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in fields:
            found[name] = int(rest.split()[0])
    return found


class MemoryWatch:
    """Peak and sampled RSS of the server's processes across one upload.

    ``VmHWM`` is reset to the current RSS by writing 5 to ``clear_refs``
    (proc(5)), so after the upload it is the exact peak during it; the 20 ms
    ``VmRSS`` samples are a cross-check and work where the reset does not.
    The figures are for the process whose peak is highest (the worker).
    """

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before: dict[int, int] = {}
        self.sampled: dict[int, int] = {}
        self.reset = True
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                try:
                    rss = _status_kib(pid, ("VmRSS",))["VmRSS"]
                except (OSError, KeyError):
                    continue
                self.sampled[pid] = max(self.sampled.get(pid, 0), rss)
            time.sleep(0.02)

    def __enter__(self) -> Self:
        for pid in self.pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                self.reset = False
            self.before[pid] = _status_kib(pid, ("VmRSS",))["VmRSS"]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.after = {pid: _status_kib(pid, ("VmRSS", "VmHWM")) for pid in self.pids}

    def figures(self) -> dict[str, Any]:
        def peak(pid: int) -> int:
            sampled = self.sampled.get(pid, 0)
            return max(self.after[pid]["VmHWM"], sampled) if self.reset else sampled

        pid = max(self.pids, key=peak)
        return {"rss_pid": pid,
                "rss_before_mib": self.before[pid] / 1024,
                "rss_peak_mib": peak(pid) / 1024,
                "rss_peak_sampled_mib": self.sampled.get(pid, 0) / 1024,
                "rss_after_mib": self.after[pid]["VmRSS"] / 1024,
                "rss_peak_from": "VmHWM after clear_refs" if self.reset else "VmRSS samples"}


def file_md5(path: Path) -> str:
    md5 = hashlib.md5()
    with path.open("rb") as f:
        while block := f.read(MiB):
            md5.update(block)
    return md5.hexdigest()


def check(target: UploadTarget, key: str, source: SourceFile, sent: Sent) -> str | None:
    """What is wrong with a finished upload, or None: the status, and the
    object's MD5 (sealbox's ETag; nginx's file) and CRC32 (trailer) as sent."""
    if sent.status not in (200, 201, 204):
        return f"answered {sent.status}: {sent.answer[:300]!r}"
    if target.stored_dir is not None:
        stored = target.stored_dir / key
        if stored.stat().st_size != source.size or file_md5(stored) != source.md5_hex:
            return f"{stored} is not the file sent"
        return None
    if sent.headers.get("etag") != f'"{source.md5_hex}"':
        return f"ETag {sent.headers.get('etag')} is not the MD5 sent ({source.md5_hex})"
    if target.body == "aws-chunked" and sent.headers.get(TRAILER) != source.crc32_b64:
        return f"{TRAILER} {sent.headers.get(TRAILER)} is not the CRC32 sent"
    return None


def measure_upload(target: UploadTarget, key: str, source: SourceFile, pids: list[int],
                   cpu: int, server_cpu_seconds: Any) -> dict[str, Any]:
    """One timed PUT from ``cpu``; MB/s, the server's CPU and memory, checked.

    Dirty pages are written back first (``os.sync``), so no upload pays for
    the one before. sealbox fsyncs the object before it answers; nginx does
    not, so for nginx the fsync of the stored file is timed separately after
    the answer and reported as ``mb_s_with_fsync`` as well.
    """
    os.sync()
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})  # this thread, and the sampler it starts
    try:
        load = os.getloadavg()[0]
        cpu_before = server_cpu_seconds(pids)
        with MemoryWatch(pids) as memory:
            sent = put(target, key, source)
        server_cpu = server_cpu_seconds(pids) - cpu_before
        fsync_s = 0.0
        if target.stored_dir is not None and sent.status < 300:
            started = time.monotonic()
            fd = os.open(target.stored_dir / key, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            fsync_s = time.monotonic() - started
    finally:
        os.sched_setaffinity(0, saved)
    problem = check(target, key, source, sent)
    mb = source.size / 1e6
    return {
        "body": target.describe(),
        "seconds": sent.seconds,
        "mb_s": mb / sent.seconds,
        "fsync_s": fsync_s,
        "mb_s_with_fsync": mb / (sent.seconds + fsync_s),
        "server_cpu_util": server_cpu / sent.seconds,
        "mb_per_cpu_s": mb / server_cpu if server_cpu > 0 else 0.0,
        "client_cpu_util": sent.client_cpu_s / sent.seconds,
        "loadavg_1m_before": load,
        "errors": 0 if problem is None else 1,
        "problem": problem,
        **memory.figures(),
    }


def check_refuses_tampered(target: UploadTarget, source: SourceFile) -> None:
    """A chunk signature off by one digit must be refused with 403."""
    sent = put(target, "tampered", source, tamper_first_chunk=True, timeout=30)
    if sent.status != 403 or b"SignatureDoesNotMatch" not in sent.answer:
        raise RuntimeError(f"{target.url}: a tampered chunk signature got {sent.status} "
                           f"{sent.answer[:200]!r}")

