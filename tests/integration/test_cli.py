"""The `sealbox serve` command as a newcomer runs it: no credentials given."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sealbox.testing.server import free_port


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
