"""A real S3 server for tests and benchmarks of the S3 blob backend: moto's
server in a child process on a loopback port, and a proxy in front of it
that can be told to fail (answer 503, cut connections, refuse upload parts).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sealbox.testing.server import free_port

ACCESS_KEY = "motoaccesskey"
SECRET_KEY = "motosecretkey"  # moto accepts any; these name themselves in logs
REGION = "us-east-1"


@dataclass
class MotoServer:
    """``python -m moto.server`` on 127.0.0.1; ``stop`` ends it (its state
    with it)."""

    log_path: Path | None = None
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> MotoServer:
        self.port = self.port or free_port()
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto's server exited with {self.process.returncode}")
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), 0.2):
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto's server did not start")

    def client(self, endpoint: str | None = None) -> Any:
        """A boto3 S3 client of this server (or of ``endpoint`` in front of it)."""
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]

        return boto3.client("s3", endpoint_url=endpoint or self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            config=Config(retries={"max_attempts": 1}))

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def env(self, endpoint: str | None = None) -> dict[str, str]:
        """The environment a ``sealbox serve --blob-store s3://…`` needs."""
        return {"SEALBOX_BLOB_S3_ENDPOINT": endpoint or self.endpoint,
                "SEALBOX_BLOB_S3_REGION": REGION,
                "SEALBOX_BLOB_S3_ACCESS_KEY_ID": ACCESS_KEY,
                "SEALBOX_BLOB_S3_SECRET_ACCESS_KEY": SECRET_KEY}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


_SLOW_DOWN_BODY = (b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate."
                   b"</Message></Error>\n")
_SLOW_DOWN = (b"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(_SLOW_DOWN_BODY)
              + _SLOW_DOWN_BODY)


@dataclass
class FaultyProxy:
    """An HTTP proxy to ``upstream`` (host, port) on a loopback port, one
    request at a time per connection. ``mode``:

    - ``"pass"``: forwards everything;
    - ``"slowdown"``: answers every request 503 SlowDown;
    - ``"parts"``: answers 503 SlowDown to multipart upload parts (a request
      line with ``partNumber=``), forwards the rest: an upload that fails
      in the middle;
    - ``"lose"``: forwards PUT and POST requests, then closes the connection
      instead of answering: the backend did the work, the answer was lost;
    - ``"refuse"``: closes every connection at once (a dead node).
    """

    upstream: tuple[str, int]
    mode: str = "pass"
    port: int = 0
    requests: list[str] = field(default_factory=list)
    _listener: socket.socket | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultyProxy:
        listener = socket.create_server(("127.0.0.1", self.port))
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, contextlib.suppress(OSError):
            reader = client.makefile("rb")
            while self.mode != "refuse":
                request = _read_request(reader)
                if request is None:
                    return
                line, head, body = request
                self.requests.append(line)
                method = line.split(" ", 1)[0]
                if self.mode == "slowdown" or (self.mode == "parts" and "partNumber=" in line):
                    client.sendall(_SLOW_DOWN)
                    return
                answer = self._forward(head, body)
                if self.mode == "lose" and method in ("PUT", "POST"):
                    return
                client.sendall(answer)
                if b"\r\nconnection: close" in answer.split(b"\r\n\r\n", 1)[0].lower():
                    return

    def _forward(self, head: bytes, body: bytes) -> bytes:
        """The upstream's whole answer to one request (sent with
        ``Connection: close``, so its end is the connection's)."""
        lines = [h for h in head.split(b"\r\n") if h and not h.lower().startswith(b"connection:")]
        with socket.create_connection(self.upstream) as upstream:
            upstream.sendall(b"\r\n".join([*lines, b"Connection: close", b"", b""]) + body)
            chunks = []
            while data := upstream.recv(65536):
                chunks.append(data)
        return b"".join(chunks)


def _read_request(reader: Any) -> tuple[str, bytes, bytes] | None:
    """(request line, head, body) of the next request; None at the end.
    Bodies with Content-Length only (what S3 clients send)."""
    lines = []
    while True:
        line = reader.readline(65537)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        lines.append(line.rstrip(b"\r\n"))
    length = 0
    for header in lines[1:]:
        name, _, value = header.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = reader.read(length) if length else b""
    return lines[0].decode("latin-1"), b"\r\n".join(lines), body
