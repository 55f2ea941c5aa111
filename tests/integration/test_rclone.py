"""rclone (Debian's package), unchanged, against a real server.

rclone is configured only through a config file in the test's temporary
directory (``--config``), never the user's: ``[sealbox] type = s3,
provider = Other`` with the endpoint, the root keys and ``region =
us-east-1``. ``provider = Other`` works for every operation here;
``provider = Minio`` is checked too, since it is what users of MinIO-like
stores pick.

rclone 1.60 (Debian 12) cannot start its S3 backend when ``AWS_CA_BUNDLE``
is set: aws-sdk-go tries to load the bundle into rclone's own HTTP
transport and fails with ``LoadCustomCABundleError: ... unsupported
transport, *fshttp.Transport`` before sending a request. So every ``AWS_*``
variable is removed from rclone's environment (none is needed: the keys are
in the config file).

Without rclone or curl the tests are skipped, saying why, except in CI
(``CI=true``), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sealbox.testing.server import RunningServer

MiB = 1024 * 1024
# rclone's multipart knobs: anything over 5 MiB is sent in 5 MiB parts.
MULTIPART = ("--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M")
BIG_SIZE = 12 * MiB + 345  # three parts of 5 MiB, 5 MiB and a short one

Rclone = Callable[..., subprocess.CompletedProcess[str]]


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the rclone tests", pytrace=False)
    pytest.skip(why)


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        _unavailable(f"{name} is not installed (bash scripts/install-test-deps.sh installs it)")
    return str(found)


def rclone_config(server: RunningServer, provider: str = "Other") -> str:
    return (f"[sealbox]\ntype = s3\nprovider = {provider}\nendpoint = {server.endpoint}\n"
            f"access_key_id = {server.access_key}\nsecret_access_key = {server.secret_key}\n"
            "region = us-east-1\n")


def make_runner(binary: str, config: Path, home: Path) -> Rclone:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(HOME=str(home), XDG_CACHE_HOME=str(home / "cache"),
               XDG_CONFIG_HOME=str(home / "config"))

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binary, "--config", str(config), "--retries", "1", "--low-level-retries", "1",
             *args],
            capture_output=True, text=True, env=env, timeout=180, check=False)
        if check and result.returncode != 0:
            pytest.fail(f"rclone {' '.join(args)} exited {result.returncode}:\n"
                        f"{result.stderr[-3000:]}")
        return result
    return run


@pytest.fixture
def rclone(server: RunningServer, tmp_path: Path) -> Rclone:
    config = tmp_path / "rclone.conf"
    config.write_text(rclone_config(server))
    return make_runner(_binary("rclone"), config, tmp_path)


@pytest.fixture
def curl() -> str:
    return _binary("curl")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A local tree with unicode and space-containing names, one file multipart-sized."""
    root = tmp_path / "local"
    for rel, data in [("dir ü/smäll file.txt", b"hello from rclone\n"),
                      ("dir ü/big ☃ file.bin", os.urandom(BIG_SIZE)),
                      ("plus+and%percent.txt", b"odd characters\n"),
                      ("empty.txt", b"")]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def keys(s3, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def test_mkdir_copy_small_and_multipart_up_and_down_rmdir(rclone: Rclone, s3, files: Path,
                                                          tmp_path: Path) -> None:
    name = f"rclone-{os.urandom(4).hex()}"
    rclone("mkdir", f"sealbox:{name}")
    s3.head_bucket(Bucket=name)
    rclone("copy", *MULTIPART, str(files), f"sealbox:{name}")
    assert keys(s3, name) == set(tree(files))
    # The big file went up as a multipart upload; rclone kept its MD5 in metadata.
    big = s3.head_object(Bucket=name, Key="dir ü/big ☃ file.bin")
    assert big["ETag"].endswith('-3"') and big["ContentLength"] == BIG_SIZE
    assert "md5chksum" in big["Metadata"]
    down = tmp_path / "down"
    rclone("copy", f"sealbox:{name}", str(down))
    assert tree(down) == tree(files)
    # Multi-threaded download: ranged GETs of the one object.
    ranged = tmp_path / "ranged.bin"
    rclone("copyto", "--multi-thread-cutoff", "1M", "--multi-thread-streams", "4",
           f"sealbox:{name}/dir ü/big ☃ file.bin", str(ranged))
    assert ranged.read_bytes() == (files / "dir ü/big ☃ file.bin").read_bytes()
    rclone("delete", f"sealbox:{name}")
    assert keys(s3, name) == set()
    rclone("rmdir", f"sealbox:{name}")
    assert name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_lsf_lsjson_lsd_md5sum_check(rclone: Rclone, bucket: str, files: Path) -> None:
    rclone("copy", *MULTIPART, str(files), f"sealbox:{bucket}")
    listed = rclone("lsf", "-R", "--files-only", f"sealbox:{bucket}").stdout.splitlines()
    assert sorted(listed) == sorted(tree(files))
    assert rclone("lsd", f"sealbox:{bucket}").stdout.split()[-2:] == ["dir", "ü"]
    entries = json.loads(rclone("lsjson", "-R", "--hash", "--files-only",
                                f"sealbox:{bucket}").stdout)
    for entry in entries:
        data = (files / entry["Path"]).read_bytes()
        assert entry["Size"] == len(data)
        # Single-part: the ETag; multipart: the MD5 rclone stored in metadata.
        assert entry["Hashes"]["md5"] == hashlib.md5(data).hexdigest(), entry["Path"]
    sums = dict(reversed(line.split("  ", 1))
                for line in rclone("md5sum", f"sealbox:{bucket}").stdout.splitlines())
    assert sums["plus+and%percent.txt"] == hashlib.md5(b"odd characters\n").hexdigest()
    rclone("check", str(files), f"sealbox:{bucket}")
    (files / "dir ü/smäll file.txt").write_bytes(b"changed, same length!\n"[:18])
    differs = rclone("check", str(files), f"sealbox:{bucket}", check=False)
    assert differs.returncode != 0 and "1 differences found" in differs.stderr


def test_sync_both_ways_with_deletes(rclone: Rclone, s3, bucket: str, files: Path,
                                     tmp_path: Path) -> None:
    target = f"sealbox:{bucket}/tree"
    rclone("sync", *MULTIPART, str(files), target)
    assert "Transferred:" in rclone("sync", "-v", str(files), target).stderr
    assert keys(s3, bucket) == {f"tree/{k}" for k in tree(files)}
    (files / "dir ü/smäll file.txt").unlink()
    (files / "new file ñ.txt").write_bytes(b"new\n")
    rclone("sync", "--checksum", str(files), target)
    assert keys(s3, bucket) == {f"tree/{k}" for k in tree(files)}
    down = tmp_path / "down"
    (down / "stale dir").mkdir(parents=True)
    (down / "stale dir/stale.txt").write_bytes(b"goes away")
    rclone("sync", target, str(down))
    assert tree(down) == tree(files)
    s3.delete_object(Bucket=bucket, Key="tree/plus+and%percent.txt")
    rclone("sync", target, str(down))
    assert "plus+and%percent.txt" not in tree(down)
    rclone("check", str(down), target)


def test_server_side_copy_move_and_multipart_copy(rclone: Rclone, s3, bucket: str,
                                                  files: Path) -> None:
    rclone("copy", *MULTIPART, str(files), f"sealbox:{bucket}/src")
    big = files / "dir ü/big ☃ file.bin"
    # Over the copy cutoff rclone copies server-side in parts (UploadPartCopy).
    rclone("copyto", "--s3-copy-cutoff", "5M", f"sealbox:{bucket}/src/dir ü/big ☃ file.bin",
           f"sealbox:{bucket}/copies/big cöpy.bin")
    copied = s3.get_object(Bucket=bucket, Key="copies/big cöpy.bin")
    assert copied["Body"].read() == big.read_bytes()
    assert copied["ETag"].endswith('-3"')
    rclone("moveto", f"sealbox:{bucket}/src/dir ü/smäll file.txt",
           f"sealbox:{bucket}/moved/smäll mövéd.txt")
    assert s3.get_object(Bucket=bucket, Key="moved/smäll mövéd.txt")["Body"].read() == \
        b"hello from rclone\n"
    assert "src/dir ü/smäll file.txt" not in keys(s3, bucket)
    rclone("purge", f"sealbox:{bucket}/src")
    assert not any(k.startswith("src/") for k in keys(s3, bucket))


def test_cat_range(rclone: Rclone, s3, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="range me.txt", Body=b"0123456789abcdefghij")
    assert rclone("cat", "--offset", "10", "--count", "5",
                  f"sealbox:{bucket}/range me.txt").stdout == "abcde"
    assert rclone("cat", "--tail", "3", f"sealbox:{bucket}/range me.txt").stdout == "hij"


def test_link_fetched_with_curl(rclone: Rclone, curl: str, bucket: str, files: Path,
                                tmp_path: Path) -> None:
    rclone("copy", *MULTIPART, str(files), f"sealbox:{bucket}")
    for rel in ("dir ü/big ☃ file.bin", "plus+and%percent.txt"):
        url = rclone("link", "--expire", "1h", f"sealbox:{bucket}/{rel}").stdout.strip()
        assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
        out = tmp_path / "fetched"
        fetched = subprocess.run([curl, "-sS", "-o", str(out), "-w", "%{http_code}", url],
                                 capture_output=True, text=True, timeout=60, check=False)
        assert fetched.stdout == "200", fetched.stderr
        assert out.read_bytes() == (files / rel).read_bytes()
    tampered = url.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200")
    refused = subprocess.run([curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", tampered],
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.stdout == "403"


def test_listing_pages_past_one_thousand(rclone: Rclone, s3, bucket: str) -> None:
    names = [f"many/ü {i:04d} +&=.txt" for i in range(1010)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), names))
    for version in ("1", "2"):
        listed = rclone("lsf", "--s3-list-version", version, "--s3-list-chunk", "300",
                        f"sealbox:{bucket}/many").stdout.splitlines()
        assert sorted(listed) == sorted(n.removeprefix("many/") for n in names), version


def test_provider_minio(server: RunningServer, tmp_path: Path, s3, bucket: str,
                        files: Path) -> None:
    config = tmp_path / "minio.conf"
    config.write_text(rclone_config(server, provider="Minio"))
    run = make_runner(_binary("rclone"), config, tmp_path)
    run("copy", *MULTIPART, str(files), f"sealbox:{bucket}")
    assert keys(s3, bucket) == set(tree(files))
    run("check", str(files), f"sealbox:{bucket}")
    run("purge", f"sealbox:{bucket}")
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_v2_auth_single_part(rclone: Rclone, s3, bucket: str, files: Path) -> None:
    small = files / "dir ü/smäll file.txt"
    rclone("copyto", "--s3-v2-auth", str(small), f"sealbox:{bucket}/v2 ü.txt")
    assert rclone("cat", "--s3-v2-auth", f"sealbox:{bucket}/v2 ü.txt").stdout == \
        small.read_text()
    assert rclone("lsf", "--s3-v2-auth", f"sealbox:{bucket}").stdout == "v2 ü.txt\n"
    rclone("delete", "--s3-v2-auth", f"sealbox:{bucket}")
    assert keys(s3, bucket) == set()


def test_v2_auth_multipart(rclone: Rclone, s3, bucket: str, files: Path) -> None:
    big = files / "dir ü/big ☃ file.bin"
    rclone("copyto", "--s3-v2-auth", *MULTIPART, str(big), f"sealbox:{bucket}/v2 big.bin")
    assert s3.get_object(Bucket=bucket, Key="v2 big.bin")["Body"].read() == big.read_bytes()


def test_backend_lists_and_cleans_up_pending_uploads(rclone: Rclone, s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="pending ü.bin")["UploadId"]
    pending = json.loads(rclone("backend", "list-multipart-uploads",
                                f"sealbox:{bucket}").stdout)[bucket]
    assert [(u["Key"], u["UploadId"]) for u in pending] == [("pending ü.bin", upload)]
    time.sleep(0.3)
    rclone("backend", "cleanup", "-o", "max-age=100ms", f"sealbox:{bucket}")
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
