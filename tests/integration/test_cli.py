"""The `sealbox serve` command as a newcomer runs it: no credentials given."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sealbox.testing.server import RunningServer, free_port


def serve_once(data_dir: Path) -> str:
    """Start `sealbox serve` with no root keys in the environment, wait until it
    is healthy, stop it, and return what it printed."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEALBOX_ROOT_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "sealbox", "serve", "--port", str(port), "--data-dir",
         str(data_dir), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sealbox/health",
                                            timeout=1) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                time.sleep(0.05)
        else:
            raise AssertionError("server never became healthy")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    return output


def test_first_start_generates_and_prints_credentials_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = serve_once(data)
    assert "AWS_ACCESS_KEY_ID=" in first and "AWS_SECRET_ACCESS_KEY=" in first
    secret = first.split("AWS_SECRET_ACCESS_KEY=")[1].split()[0]
    second = serve_once(data)
    assert "AWS_SECRET_ACCESS_KEY" not in second
    assert secret not in second
    assert "serving S3 on http://127.0.0.1:" in second


def test_version_flag() -> None:
    out = subprocess.run([sys.executable, "-m", "sealbox", "--version"], capture_output=True,
                         text=True, check=True).stdout
    assert out.startswith("sealbox ")


def test_the_data_dir_and_metadata_files_are_private_to_their_owner(tmp_path: Path) -> None:
    data = tmp_path / "data"
    old_umask = os.umask(0o022)  # a usual umask: left alone, files would be 0644
    try:
        # No root keys given (empty is none): it writes root-credentials.json.
        server = RunningServer(data_dir=data, access_key="", secret_key="").start()
    finally:
        os.umask(old_umask)
    try:
        # While it runs: SQLite's WAL and shared-memory files exist.
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in data.iterdir()}
        assert stat.S_IMODE(data.stat().st_mode) == 0o700
        for name in ("meta.sqlite3", "meta.sqlite3-wal", "meta.sqlite3-shm",
                     "root-credentials.json", "secret.key"):
            assert modes.get(name) == 0o600, (name, modes)
        everything = {str(path.relative_to(data)): stat.S_IMODE(path.stat().st_mode)
                      for path in data.rglob("*")}
        assert everything and all(mode & 0o077 == 0 for mode in everything.values()), everything
    finally:
        server.stop()
