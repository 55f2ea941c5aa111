"""Start a real sealbox server on a loopback port, for tests and benchmarks."""

from __future__ import annotations

import os
import resource
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

TEST_ACCESS_KEY = "SBTESTROOTACCESSKEY0"
TEST_SECRET_KEY = "sealbox/test/secret/key/0123456789abcdefgh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    """A ``sealbox serve`` child process and how to reach it."""

    data_dir: Path
    port: int = 0
    access_key: str = TEST_ACCESS_KEY
    secret_key: str = field(default=TEST_SECRET_KEY, repr=False)
    extra_args: tuple[str, ...] = ()
    # The suite runs every server with metrics and the audit trail on (they
    # are off by default, until cheap); extra_args may turn them off again.
    observe: bool = True
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    # (certificate, key): serve HTTPS; clients trust the certificate itself.
    tls: tuple[Path, Path] | None = None
    # The soft RLIMIT_NOFILE the server starts with (the hard one is kept),
    # as a service manager would set it (systemd's default soft limit is 1024).
    soft_fd_limit: int | None = None

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext | None:
        """A client context that trusts this server's certificate (None on HTTP)."""
        if self.tls is None:
            return None
        return ssl.create_default_context(cafile=str(self.tls[0]))

    def start(self, timeout: float = 20.0) -> RunningServer:
        if not self.port:
            self.port = free_port()
        env = dict(os.environ)
        env.update(
            SEALBOX_ROOT_ACCESS_KEY=self.access_key,
            SEALBOX_ROOT_SECRET_KEY=self.secret_key,
            **self.env,
        )
        tls_args: tuple[str, ...] = ()
        if self.tls is not None:
            tls_args = ("--tls-cert", str(self.tls[0]), "--tls-key", str(self.tls[1]))
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sealbox", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--log-level", "warning", *tls_args,
             # One worker, as before --workers defaulted to the cores (auto);
             # extra_args may ask for more.
             "--workers", "1",
             *(("--metrics", "on", "--audit", "on") if self.observe else ()),
             *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT, env=env,
            # Only setrlimit runs between fork and exec: no lock another thread could hold.
            preexec_fn=None if self.soft_fd_limit is None else self._limit_fds,  # noqa: PLW1509
        )
        log.close()
        self.wait_ready(timeout)
        return self

    def _limit_fds(self) -> None:  # in the child, before exec
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert self.soft_fd_limit is not None  # only set as preexec_fn when it is
        resource.setrlimit(resource.RLIMIT_NOFILE, (self.soft_fd_limit, hard))

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        context = self.ssl_context()
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"sealbox exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.endpoint}/_sealbox/health", timeout=1,
                                            context=context) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sealbox did not become ready:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def kill(self) -> None:
        """SIGKILL: no cleanup, as a crash would be."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
