"""The AWS SDK for JavaScript v3, from npm, against the real server.

``tests/js/s3.mjs`` runs one scenario with the SDK's defaults (checksums
on) and prints JSON: the object as HeadObject/GetObject see it and the
headers the SDK sent. The SDK sends a file stream aws-chunked with the
checksum in a trailer (``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) even over
plain HTTP, so this is the streaming path as a real client drives it.

Needs Node.js and ``npm ci --prefix tests/js``. Without them the tests are
skipped, saying why, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore import httpchecksum

from sealbox.testing.server import RunningServer

JS_DIR = Path(__file__).resolve().parents[1] / "js"
SCRIPT = JS_DIR / "s3.mjs"
MiB = 1024 * 1024


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the JavaScript SDK tests", pytrace=False)
    pytest.skip(why)


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        _unavailable("Node.js (node) is not installed")
    if not (JS_DIR / "node_modules" / "@aws-sdk" / "client-s3").is_dir():
        _unavailable("the JavaScript SDK is not installed: run `npm ci --prefix tests/js`")
    return str(found)


def run_js(node: str, server: RunningServer, scenario: str, bucket: str, key: str,
           path: Path) -> dict[str, Any]:
    env = dict(os.environ, SEALBOX_ENDPOINT=server.endpoint, AWS_ACCESS_KEY_ID=server.access_key,
               AWS_SECRET_ACCESS_KEY=server.secret_key, NODE_NO_WARNINGS="1")
    for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
                 "AWS_REQUEST_CHECKSUM_CALCULATION"):
        env.pop(name, None)
    result = subprocess.run([node, str(SCRIPT), scenario, bucket, key, str(path)], cwd=JS_DIR,
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        output: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"node exited {result.returncode}: {result.stdout[-2000:]}"
                    f"{result.stderr[-2000:]}")
    assert result.returncode == 0, output
    return output


def digest(name: str, data: bytes) -> str:
    classes = {"crc32": httpchecksum.Crc32Checksum, "crc32c": httpchecksum.CrtCrc32cChecksum,
               "sha256": httpchecksum.Sha256Checksum}
    checksum = classes[name]()
    checksum.update(data)
    return str(checksum.b64digest())


@pytest.fixture
def payload(tmp_path: Path) -> tuple[Path, bytes]:
    data = os.urandom(7 * MiB + 123)  # many 64 KiB stream chunks, and a short last one
    path = tmp_path / "payload.bin"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize(("scenario", "algorithm"), [
    ("put-stream", "crc32"),
    ("put-stream-crc32c", "crc32c"),
    ("put-stream-sha256", "sha256"),
])
def test_put_object_of_a_stream_sends_aws_chunked_with_a_trailing_checksum(
        node, server, s3, bucket, payload, scenario: str, algorithm: str) -> None:
    path, data = payload
    out = run_js(node, server, scenario, bucket, "streamed", path)
    put = out["sent"][0]
    assert put["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert put["content-encoding"] == "aws-chunked"
    assert put["x-amz-trailer"] == f"x-amz-checksum-{algorithm}"
    assert put["x-amz-decoded-content-length"] == str(len(data))
    assert "content-length" not in put  # sent with Transfer-Encoding: chunked
    assert out["sha256"] == hashlib.sha256(data).hexdigest()
    assert out[f"checksum{algorithm.upper()}"] == digest(algorithm, data)
    assert out["checksumType"] == "FULL_OBJECT"
    assert out["contentEncoding"] is None  # aws-chunked is not stored
    assert out["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="streamed")["Body"].read() == data


def test_put_object_of_a_buffer_sends_its_checksum_in_a_header(node, server, bucket,
                                                               payload) -> None:
    path, data = payload
    out = run_js(node, server, "put-buffer", bucket, "buffered", path)
    put = out["sent"][0]
    assert put["x-amz-checksum-crc32"] == digest("crc32", data)
    assert out["checksumCRC32"] == digest("crc32", data)
    assert out["sha256"] == hashlib.sha256(data).hexdigest()


def test_lib_storage_upload_of_a_stream_is_multipart_with_composite_crc32(
        node, server, bucket, tmp_path: Path) -> None:
    data = os.urandom(12 * MiB + 5)
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    out = run_js(node, server, "upload", bucket, "uploaded", path)
    parts = [data[i:i + 5 * MiB] for i in range(0, len(data), 5 * MiB)]
    part_digests = b"".join(base64.b64decode(digest("crc32", p)) for p in parts)
    assert out["etag"].endswith('-3"')
    assert out["checksumCRC32"] == f"{digest('crc32', part_digests)}-3"
    assert out["checksumType"] == "COMPOSITE"
    assert out["sha256"] == hashlib.sha256(data).hexdigest()


def test_presigned_put_from_the_request_presigner(node, server, s3, bucket, payload) -> None:
    path, data = payload
    out = run_js(node, server, "presigned", bucket, "presigned", path)
    # With checksums on, the presigner signs the CRC32 of the empty body into
    # the URL; presigned uploads ignore query checksums (see api/s3/ingest.py).
    assert "x-amz-checksum-crc32=AAAAAA%3D%3D" in out["url"]
    assert out["sha256"] == hashlib.sha256(data).hexdigest()
    assert s3.get_object(Bucket=bucket, Key="presigned")["Body"].read() == data
