"""s3cmd (Debian's package), unchanged, against a real server.

s3cmd reads only a ``.s3cfg`` in the test's temporary directory (``-c``),
never the user's: path-style (``host_bucket`` is ``127.0.0.1:PORT``, with
no ``%(bucket)s``), plain HTTP, SigV4 (``signature_v2 = False``) and, where
the test says so, SigV2 (``signature_v2 = True``). ``signurl`` always makes
V2 query-string links.

s3cmd 2.3.0 parses listings with ElementTree and sends no
``encoding-type=url``, so a key holding a control character (which S3, like
sealbox, writes as ``&#x1;``, invalid in XML 1.0) breaks ``s3cmd ls`` on AWS
too; the names here avoid them.

Without s3cmd or curl the tests are skipped, saying why, except in CI
(``CI=true``), where that is a failure.
"""

from __future__ import annotations

import hashlib
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
MULTIPART = "--multipart-chunk-size-mb=5"
BIG_SIZE = 12 * MiB + 345  # three parts of 5 MiB, 5 MiB and a short one

S3cmd = Callable[..., subprocess.CompletedProcess[str]]


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the s3cmd tests", pytrace=False)
    pytest.skip(why)


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        _unavailable(f"{name} is not installed (bash scripts/install-test-deps.sh installs it)")
    return str(found)


def make_runner(server: RunningServer, home: Path, signature_v2: bool) -> S3cmd:
    binary = _binary("s3cmd")
    home.mkdir(parents=True, exist_ok=True)
    config = home / f"s3cfg-{'v2' if signature_v2 else 'v4'}"
    host = f"127.0.0.1:{server.port}"
    config.write_text(
        "[default]\n"
        f"access_key = {server.access_key}\nsecret_key = {server.secret_key}\n"
        f"host_base = {host}\nhost_bucket = {host}\nuse_https = False\n"
        f"signature_v2 = {signature_v2}\nbucket_location = us-east-1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["HOME"] = str(home)

    def run(*args: str, check: bool = True, stdin: bytes | None = None
            ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([binary, "-c", str(config), *args], input=stdin,
                                capture_output=True, env=env, timeout=180, check=False)
        text = subprocess.CompletedProcess(
            result.args, result.returncode, result.stdout.decode("utf-8", "replace"),
            result.stderr.decode("utf-8", "replace"))
        if check and result.returncode != 0:
            pytest.fail(f"s3cmd {' '.join(args)} exited {result.returncode}:\n"
                        f"{text.stdout[-2000:]}{text.stderr[-3000:]}")
        return text
    return run


@pytest.fixture(params=["v4", "v2"])
def s3cmd(request: pytest.FixtureRequest, server: RunningServer, tmp_path: Path) -> S3cmd:
    """s3cmd signing with SigV4, then with SigV2."""
    return make_runner(server, tmp_path / "home", signature_v2=request.param == "v2")


@pytest.fixture
def s3cmd_v4(server: RunningServer, tmp_path: Path) -> S3cmd:
    return make_runner(server, tmp_path / "home", signature_v2=False)


@pytest.fixture
def curl() -> str:
    return _binary("curl")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A local tree with unicode and space-containing names, one file multipart-sized."""
    root = tmp_path / "local"
    for rel, data in [("dir ü/smäll file.txt", b"hello from s3cmd\n"),
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


def listed(output: str, prefix: str) -> dict[str, str]:
    """``s3cmd ls`` lines as {name under prefix: size or DIR}."""
    entries = {}
    for line in output.splitlines():
        head, sep, url = line.partition("  " + prefix)
        if sep:
            entries[url] = head.split()[-1]
    return entries


def test_mb_put_get_ls_info_del_rb(s3cmd: S3cmd, s3, files: Path, tmp_path: Path) -> None:
    name = f"s3cmd-{os.urandom(4).hex()}"
    s3cmd("mb", f"s3://{name}")
    s3.head_bucket(Bucket=name)
    small, big = files / "dir ü/smäll file.txt", files / "dir ü/big ☃ file.bin"
    s3cmd("put", str(small), f"s3://{name}/dir ü/smäll file.txt")
    s3cmd("put", MULTIPART, str(big), f"s3://{name}/dir ü/big ☃ file.bin")
    head = s3.head_object(Bucket=name, Key="dir ü/big ☃ file.bin")
    assert head["ETag"].endswith('-3"') and head["ContentLength"] == BIG_SIZE
    prefix = f"s3://{name}/"
    assert listed(s3cmd("ls", prefix).stdout, prefix) == {"dir ü/": "DIR"}
    assert listed(s3cmd("ls", "-r", prefix).stdout, prefix) == {
        "dir ü/smäll file.txt": str(small.stat().st_size), "dir ü/big ☃ file.bin": str(BIG_SIZE)}
    assert f"  s3://{name}\n" in s3cmd("ls").stdout
    assert s3cmd("du", prefix).stdout.split()[:2] == [str(BIG_SIZE + small.stat().st_size), "2"]
    # s3cmd keeps the MD5 of a multipart upload in its own metadata and shows it.
    info = s3cmd("info", f"s3://{name}/dir ü/big ☃ file.bin").stdout
    assert f"File size: {BIG_SIZE}" in info
    assert f"MD5 sum:   {hashlib.md5(big.read_bytes()).hexdigest()}" in info
    assert "Location:  us-east-1" in s3cmd("info", prefix).stdout
    for source, key in [(small, "dir ü/smäll file.txt"), (big, "dir ü/big ☃ file.bin")]:
        target = tmp_path / "got"
        s3cmd("get", "--force", f"s3://{name}/{key}", str(target))
        assert target.read_bytes() == source.read_bytes()
    s3cmd("del", f"s3://{name}/dir ü/smäll file.txt")
    assert keys(s3, name) == {"dir ü/big ☃ file.bin"}
    s3cmd("del", "--recursive", "--force", prefix)
    assert keys(s3, name) == set()
    s3cmd("rb", prefix)
    assert name not in {b["Name"] for b in s3.list_buckets()["Buckets"]}


def test_sync_both_ways_with_deletes(s3cmd: S3cmd, s3, bucket: str, files: Path,
                                     tmp_path: Path) -> None:
    target = f"s3://{bucket}/tree/"
    s3cmd("sync", MULTIPART, f"{files}/", target)
    assert keys(s3, bucket) == {f"tree/{k}" for k in tree(files)}
    # Nothing changed: a second sync uploads nothing (MD5s match, multipart too).
    assert "upload:" not in s3cmd("sync", MULTIPART, f"{files}/", target).stdout
    (files / "dir ü/smäll file.txt").unlink()
    (files / "new file ñ.txt").write_bytes(b"new\n")
    s3cmd("sync", "--delete-removed", MULTIPART, f"{files}/", target)
    assert keys(s3, bucket) == {f"tree/{k}" for k in tree(files)}
    down = tmp_path / "down"
    (down / "stale dir").mkdir(parents=True)
    (down / "stale dir/stale.txt").write_bytes(b"goes away")
    s3cmd("sync", "--delete-removed", target, f"{down}/")
    assert tree(down) == tree(files)
    s3.delete_object(Bucket=bucket, Key="tree/plus+and%percent.txt")
    s3cmd("sync", "--delete-removed", target, f"{down}/")
    assert "plus+and%percent.txt" not in tree(down)


def test_modify_cp_mv(s3cmd: S3cmd, s3, bucket: str, files: Path) -> None:
    key = "dir ü/smäll file.txt"
    s3cmd("put", str(files / key), f"s3://{bucket}/{key}")
    s3cmd("modify", "--add-header=Cache-Control: max-age=60",
          "--add-header=x-amz-meta-team:ops", f"s3://{bucket}/{key}")
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["CacheControl"] == "max-age=60" and head["Metadata"]["team"] == "ops"
    assert "x-amz-meta-team: ops" in s3cmd("info", f"s3://{bucket}/{key}").stdout
    s3cmd("cp", f"s3://{bucket}/{key}", f"s3://{bucket}/copies/cöpy +1.txt")
    s3cmd("mv", f"s3://{bucket}/copies/cöpy +1.txt", f"s3://{bucket}/moved/mövéd.txt")
    assert keys(s3, bucket) == {key, "moved/mövéd.txt"}
    moved = s3.get_object(Bucket=bucket, Key="moved/mövéd.txt")
    assert moved["Body"].read() == (files / key).read_bytes()
    assert moved["Metadata"]["team"] == "ops"


def test_signurl_fetched_with_curl(s3cmd_v4: S3cmd, curl: str, bucket: str, files: Path,
                                   tmp_path: Path) -> None:
    for rel in ("dir ü/big ☃ file.bin", "plus+and%percent.txt"):
        s3cmd_v4("put", MULTIPART, str(files / rel), f"s3://{bucket}/{rel}")
        url = s3cmd_v4("signurl", f"s3://{bucket}/{rel}", "+600").stdout.strip()
        assert "Signature=" in url
        out = tmp_path / "fetched"
        fetched = subprocess.run([curl, "-sS", "-o", str(out), "-w", "%{http_code}", url],
                                 capture_output=True, text=True, timeout=60, check=False)
        assert fetched.stdout == "200", fetched.stderr
        assert out.read_bytes() == (files / rel).read_bytes()
    past = str(int(time.time()) - 60)  # an absolute expiry already gone
    expired = s3cmd_v4("signurl", f"s3://{bucket}/plus+and%percent.txt", past).stdout.strip()
    refused = subprocess.run([curl, "-sS", "-w", "%{http_code}", expired],
                             capture_output=True, text=True, timeout=60, check=False)
    assert refused.stdout.endswith("403") and "Request has expired" in refused.stdout


def test_put_from_stdin_and_get_continue(s3cmd_v4: S3cmd, bucket: str, tmp_path: Path) -> None:
    data = os.urandom(11 * MiB)
    s3cmd_v4("put", MULTIPART, "-", f"s3://{bucket}/from stdin.bin", stdin=data)
    partial = tmp_path / "partial.bin"
    partial.write_bytes(data[: 3 * MiB])
    s3cmd_v4("get", "--continue", f"s3://{bucket}/from stdin.bin", str(partial))
    assert partial.read_bytes() == data


def test_cors_set_info_delete(s3cmd_v4: S3cmd, s3, bucket: str, tmp_path: Path) -> None:
    rules = tmp_path / "cors.xml"
    rules.write_text("<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example"
                     "</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule>"
                     "</CORSConfiguration>")
    s3cmd_v4("setcors", str(rules), f"s3://{bucket}")
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedOrigins"] == [
        "https://app.example"]
    assert "https://app.example" in s3cmd_v4("info", f"s3://{bucket}").stdout
    s3cmd_v4("delcors", f"s3://{bucket}")
    assert "https://app.example" not in s3cmd_v4("info", f"s3://{bucket}").stdout


def test_multipart_list_and_abort(s3cmd_v4: S3cmd, s3, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="half done ü.bin")["UploadId"]
    assert upload in s3cmd_v4("multipart", f"s3://{bucket}").stdout
    s3cmd_v4("abortmp", f"s3://{bucket}/half done ü.bin", upload)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_listing_pages_past_one_thousand(s3cmd: S3cmd, s3, bucket: str) -> None:
    names = [f"many/ü {i:04d} +&=<>.txt" for i in range(1010)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"x"), names))
    prefix = f"s3://{bucket}/"
    assert set(listed(s3cmd("ls", "-r", prefix).stdout, prefix)) == set(names)


def test_put_resumes_an_upload_skipping_parts_already_sent(s3cmd_v4: S3cmd, s3, bucket: str,
                                                           files: Path) -> None:
    big = files / "dir ü/big ☃ file.bin"
    data = big.read_bytes()
    key = "resumed ü.bin"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=data[:5 * MiB])
    assert "5242880" in s3cmd_v4("listmp", f"s3://{bucket}/{key}", upload).stdout
    # s3cmd lists the parts (ListParts), keeps part 1 (same size and MD5), sends the rest.
    sent = s3cmd_v4("put", "-v", MULTIPART, "--upload-id", upload, str(big), f"s3://{bucket}/{key}")
    assert "part 1, skipping" in sent.stderr
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data
