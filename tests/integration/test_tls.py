"""HTTPS on the serving port, and X-Forwarded-* believed only from trusted proxies.

TLS is a property of the connection, not of the metadata store, so the HTTPS
servers here run on SQLite only. The forged-header test against the plain
HTTP server uses the session ``server`` and so runs on both stores.

Which scheme the server believes is observable without a debug endpoint:
CompleteMultipartUpload answers with a ``Location`` URL naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from sealbox.testing.server import RunningServer, free_port

VIRTUAL_DOMAIN = "s3.sealbox.test"


def sealbox(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sealbox", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def admin_cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    """``sealbox admin|edge …`` signed with the server's root keys."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
    return subprocess.run([sys.executable, "-m", "sealbox", *args], capture_output=True,
                          text=True, timeout=30, check=False, env=env)


def client(server: RunningServer, verify: str | bool, **s3_config: Any):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=server.endpoint, aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key, region_name="us-east-1", verify=verify,
        config=Config(s3={"addressing_style": "path", **s3_config}, signature_version="s3v4",
                      retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A self-signed pair made the way a user would: the CLI, with --json."""
    out = tmp_path_factory.mktemp("tls") / "pair"
    made = sealbox("tls", "self-signed", "--out-dir", str(out), "--name", f"*.{VIRTUAL_DOMAIN}",
                   "--json")
    assert made.returncode == 0, made.stderr
    return json.loads(made.stdout)


@pytest.fixture(scope="module")
def tls_server(pair: dict[str, str],
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    base = tmp_path_factory.mktemp("sealbox-tls")
    with RunningServer(data_dir=base / "data", tls=(Path(pair["cert"]), Path(pair["key"])),
                       extra_args=("--domain", VIRTUAL_DOMAIN)) as running:
        yield running


@pytest.fixture(scope="module")
def tls_s3(tls_server: RunningServer, pair: dict[str, str]):
    return client(tls_server, verify=pair["cert"])


def new_bucket(s3: Any) -> str:
    name = f"tls-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def completed_location(s3: Any, bucket: str, headers: dict[str, str]) -> str:
    """Upload one part and complete, sending ``headers`` with the completion;
    return the ``Location`` the server answered with."""
    def add_headers(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    key = f"mp-{uuid.uuid4().hex[:8]}"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1,
                          Body=b"part")["ETag"]
    event = "before-sign.s3.CompleteMultipartUpload"
    s3.meta.events.register(event, add_headers)
    try:
        answer = s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
    finally:
        s3.meta.events.unregister(event, add_headers)
    return str(answer["Location"])


FORGED = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


def test_startup_line_says_https(tls_server: RunningServer) -> None:
    assert f"serving S3 on https://127.0.0.1:{tls_server.port}" in tls_server.log()


def test_bucket_put_get_over_https(tls_s3: Any) -> None:
    """botocore over https sends PutObject as aws-chunked with an unsigned
    trailing checksum (STREAMING-UNSIGNED-PAYLOAD-TRAILER); it must verify."""
    sent: list[str] = []
    tls_s3.meta.events.register(
        "before-send.s3.PutObject",
        lambda request, **_: sent.append(request.headers.get("x-amz-content-sha256", b"")))
    bucket = new_bucket(tls_s3)
    body = b"sealed over tls " * 4096
    put = tls_s3.put_object(Bucket=bucket, Key="a/b.txt", Body=body)
    assert put["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert [s.decode() if isinstance(s, bytes) else s for s in sent] == [
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER"]
    got = tls_s3.get_object(Bucket=bucket, Key="a/b.txt")
    assert got["Body"].read() == body
    ranged = tls_s3.get_object(Bucket=bucket, Key="a/b.txt", Range="bytes=0-5")
    assert ranged["Body"].read() == body[:6]
    listed = tls_s3.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listed["Contents"]] == ["a/b.txt"]


def test_multipart_upload_file_over_https(tls_s3: Any, tmp_path: Path) -> None:
    from boto3.s3.transfer import TransferConfig

    bucket = new_bucket(tls_s3)
    source = tmp_path / "big.bin"
    source.write_bytes(bytes(range(256)) * 45_000)  # ~11 MB: three 5 MB parts
    tls_s3.upload_file(str(source), bucket, "big.bin",
                       Config=TransferConfig(multipart_threshold=5 * 1024**2,
                                             multipart_chunksize=5 * 1024**2))
    target = tmp_path / "back.bin"
    tls_s3.download_file(bucket, "big.bin", str(target))
    assert target.read_bytes() == source.read_bytes()


def test_client_that_does_not_trust_the_certificate_is_refused(tls_server: RunningServer) -> None:
    from botocore.exceptions import SSLError

    with pytest.raises(SSLError):
        client(tls_server, verify=True).list_buckets()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("signature_version", ["s3v4", "s3"])
def test_presigned_get_from_curl_with_cacert(tls_server: RunningServer, tls_s3: Any,
                                             pair: dict[str, str],
                                             signature_version: str) -> None:
    from botocore.config import Config

    bucket = new_bucket(tls_s3)
    tls_s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"presigned over https")
    import boto3

    signer = boto3.client(
        "s3", endpoint_url=tls_server.endpoint, aws_access_key_id=tls_server.access_key,
        aws_secret_access_key=tls_server.secret_key, region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, signature_version=signature_version))
    url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"},
                                        ExpiresIn=300)
    assert url.startswith(f"https://127.0.0.1:{tls_server.port}/")
    got = subprocess.run(["curl", "-sS", "--fail", "--cacert", pair["cert"], url],
                         capture_output=True, timeout=30, check=False)
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"presigned over https"
    # Without the certificate trusted, curl refuses the server (exit 60).
    untrusted = subprocess.run(["curl", "-sS", url], capture_output=True, timeout=30, check=False)
    assert untrusted.returncode == 60


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_presigned_virtual_host_get_with_wildcard_name(tls_server: RunningServer, tls_s3: Any,
                                                       pair: dict[str, str]) -> None:
    """<bucket>.s3.sealbox.test:PORT: SNI and the Host header with its port."""
    import boto3
    from botocore.config import Config

    bucket = new_bucket(tls_s3)
    tls_s3.put_object(Bucket=bucket, Key="v.txt", Body=b"virtual host over https")
    signer = boto3.client(
        "s3", endpoint_url=f"https://{VIRTUAL_DOMAIN}:{tls_server.port}",
        aws_access_key_id=tls_server.access_key, aws_secret_access_key=tls_server.secret_key,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "virtual"}, signature_version="s3v4"))
    url = signer.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v.txt"},
                                        ExpiresIn=300)
    host = f"{bucket}.{VIRTUAL_DOMAIN}"
    assert url.startswith(f"https://{host}:{tls_server.port}/v.txt?")
    got = subprocess.run(["curl", "-sS", "--fail", "--cacert", pair["cert"], "--resolve",
                          f"{host}:{tls_server.port}:127.0.0.1", url],
                         capture_output=True, timeout=30, check=False)
    assert got.returncode == 0, got.stderr
    assert got.stdout == b"virtual host over https"


def test_plain_http_to_the_tls_port_fails_cleanly(tls_server: RunningServer) -> None:
    """No answer in clear text, no traceback, and the server keeps serving."""
    with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
        urllib.request.urlopen(f"http://127.0.0.1:{tls_server.port}/_sealbox/health", timeout=10)
    with urllib.request.urlopen(f"{tls_server.endpoint}/_sealbox/health", timeout=10,
                                context=tls_server.ssl_context()) as answer:
        assert answer.status == 200
    assert "Traceback" not in tls_server.log()


@pytest.mark.parametrize("family", ["admin", "edge"])
def test_admin_cli_with_http_to_the_tls_port_says_use_https(tls_server: RunningServer,
                                                           family: str) -> None:
    """Not urllib's "Remote end closed connection without response": one line
    naming the https:// endpoint to use, exit status 1."""
    command = ["user", "list"] if family == "admin" else ["distribution", "list"]
    done = admin_cli(tls_server, family, *command, "--endpoint-url",
                     f"http://127.0.0.1:{tls_server.port}")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == (f"sealbox: error: http://127.0.0.1:{tls_server.port}: this port "
                           f"speaks HTTPS; use https://127.0.0.1:{tls_server.port} (with "
                           "--ca-bundle CERT for a self-signed certificate)\n")


def test_admin_cli_with_https_endpoint_and_ca_bundle_works(tls_server: RunningServer,
                                                            pair: dict[str, str]) -> None:
    done = admin_cli(tls_server, "admin", "user", "list", "--endpoint-url", tls_server.endpoint,
                     "--ca-bundle", pair["cert"])
    assert done.returncode == 0, done.stderr


def test_location_over_https_is_https(tls_s3: Any, tls_server: RunningServer) -> None:
    location = completed_location(tls_s3, new_bucket(tls_s3), {})
    assert location.startswith(f"https://127.0.0.1:{tls_server.port}/")


def test_forged_forwarded_proto_over_https_changes_nothing(tls_s3: Any,
                                                           tls_server: RunningServer) -> None:
    location = completed_location(tls_s3, new_bucket(tls_s3),
                                  {"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.9"})
    assert location.startswith(f"https://127.0.0.1:{tls_server.port}/")


def test_forged_forwarded_proto_from_untrusted_peer_changes_nothing(
        s3: Any, bucket: str, server: RunningServer) -> None:
    """The test server trusts no proxy; uvicorn alone would have believed these
    headers from 127.0.0.1 and claimed HTTPS."""
    location = completed_location(s3, bucket, FORGED)
    assert location.startswith(f"http://127.0.0.1:{server.port}/")


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Plain HTTP, as behind a TLS-terminating proxy on loopback."""
    base = tmp_path_factory.mktemp("sealbox-proxied")
    with RunningServer(data_dir=base / "data",
                       extra_args=("--trusted-proxy", "127.0.0.0/8",
                                   "--trusted-proxy", "::1")) as running:
        yield running


def test_trusted_proxy_forwarded_proto_is_believed(proxied_server: RunningServer) -> None:
    s3 = client(proxied_server, verify=True)
    bucket = new_bucket(s3)
    assert completed_location(s3, bucket, FORGED).startswith(
        f"https://127.0.0.1:{proxied_server.port}/")
    assert completed_location(s3, bucket, {}).startswith(
        f"http://127.0.0.1:{proxied_server.port}/")
    assert completed_location(s3, bucket, {"X-Forwarded-Proto": "http"}).startswith("http://")


def ssl_only_policy(bucket: str) -> str:
    """The seed's "AllowSSLRequestsOnly" bucket policy, only the name changed."""
    return json.dumps({
        "Id": "ExamplePolicy",
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AllowSSLRequestsOnly",
            "Action": "s3:*",
            "Effect": "Deny",
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Principal": "*",
        }],
    })


def test_seed_ssl_only_policy_admits_https(tls_s3: Any) -> None:
    bucket = new_bucket(tls_s3)
    tls_s3.put_bucket_policy(Bucket=bucket, Policy=ssl_only_policy(bucket))
    tls_s3.put_object(Bucket=bucket, Key="k", Body=b"over tls")
    assert tls_s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"over tls"


def test_seed_ssl_only_policy_behind_a_trusted_proxy(proxied_server: RunningServer) -> None:
    """Behind a TLS-terminating proxy the policy sees what the proxy says,
    and only because it is trusted."""
    s3 = client(proxied_server, verify=True)
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=ssl_only_policy(bucket))

    def forwarded(proto: str) -> Callable[..., None]:
        def add(request: Any, **_: Any) -> None:
            request.headers["X-Forwarded-Proto"] = proto
        return add

    https, http = forwarded("https"), forwarded("http")
    s3.meta.events.register("before-sign.s3.GetObject", https)
    try:
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"x"
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", https)
    s3.meta.events.register("before-sign.s3.GetObject", http)
    try:
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket=bucket, Key="k")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", http)


def test_seed_ssl_only_policy_refuses_forged_https_from_untrusted_peers(
        server: RunningServer, s3: Any) -> None:
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=ssl_only_policy(bucket))

    def add(request: Any, **_: Any) -> None:
        for name, value in FORGED.items():
            request.headers[name] = value

    s3.meta.events.register("before-sign.s3.GetObject", add)
    try:
        with pytest.raises(ClientError) as info:
            s3.get_object(Bucket=bucket, Key="k")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        s3.meta.events.unregister("before-sign.s3.GetObject", add)
        s3.delete_bucket_policy(Bucket=bucket)


# The CLI refuses a bad TLS or proxy setup with one line and a non-zero exit,
# before creating anything or starting to listen.

def serve_refusal(tmp_path: Path, *args: str) -> str:
    data = tmp_path / "data"
    result = sealbox("serve", "--port", str(free_port()), "--data-dir", str(data), *args)
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sealbox: error: ")
    assert not data.exists()
    return lines[0]


CliCase = Callable[[dict[str, str], Path], tuple[str, ...]]
REFUSALS: list[tuple[str, CliCase, str]] = [
    ("cert-without-key", lambda p, t: ("--tls-cert", p["cert"]), "--tls-cert needs --tls-key"),
    ("key-without-cert", lambda p, t: ("--tls-key", p["key"]), "--tls-key needs --tls-cert"),
    ("missing-key-file", lambda p, t: ("--tls-cert", p["cert"], "--tls-key", str(t / "nope.pem")),
     "nope.pem: no such file"),
    ("missing-cert-file", lambda p, t: ("--tls-cert", str(t / "nope.pem"), "--tls-key", p["key"]),
     "nope.pem: no such file"),
    ("key-is-the-cert", lambda p, t: ("--tls-cert", p["cert"], "--tls-key", p["cert"]),
     "not a PEM private key"),
    ("bad-cidr", lambda p, t: ("--trusted-proxy", "10.0.0.0/33"),
     "--trusted-proxy '10.0.0.0/33' is not a CIDR"),
    ("not-an-address", lambda p, t: ("--trusted-proxy", "proxy.internal"),
     "--trusted-proxy 'proxy.internal' is not a CIDR"),
]


@pytest.mark.parametrize(("make_args", "message"), [case[1:] for case in REFUSALS],
                         ids=[case[0] for case in REFUSALS])
def test_serve_refuses_bad_setup_with_one_line(tmp_path: Path, pair: dict[str, str],
                                               make_args: CliCase, message: str) -> None:
    assert message in serve_refusal(tmp_path, *make_args(pair, tmp_path))


def test_serve_refuses_a_key_of_another_certificate(tmp_path: Path,
                                                    pair: dict[str, str]) -> None:
    other = sealbox("tls", "self-signed", "--out-dir", str(tmp_path / "other"), "--json")
    other_key = json.loads(other.stdout)["key"]
    line = serve_refusal(tmp_path, "--tls-cert", pair["cert"], "--tls-key", other_key)
    assert "is not the key of --tls-cert" in line


def test_self_signed_cli_prints_paths_and_keeps_existing(tmp_path: Path) -> None:
    out = tmp_path / "pair"
    made = sealbox("tls", "self-signed", "--out-dir", str(out), "--name", "box.local")
    assert made.returncode == 0, made.stderr
    assert f"cert: {out / 'cert.pem'}" in made.stdout
    assert f"key:  {out / 'key.pem'}" in made.stdout
    again = sealbox("tls", "self-signed", "--out-dir", str(out))
    assert again.returncode != 0
    assert again.stderr.strip().splitlines() == [
        f"sealbox: error: {out / 'cert.pem'} exists (keep it, or replace it with --force)"]
    forced = sealbox("tls", "self-signed", "--out-dir", str(out), "--force", "--json")
    assert json.loads(forced.stdout)["cert"] == str(out / "cert.pem")


def test_ssl_context_trusts_only_the_generated_certificate(tls_server: RunningServer) -> None:
    context = tls_server.ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{tls_server.endpoint}/_sealbox/health", timeout=10,
                               context=ssl.create_default_context())


def test_console_session_cookie_is_secure_under_tls(tls_server: RunningServer) -> None:
    import requests

    signed = requests.post(tls_server.endpoint + "/_sealbox/console/signin",
                           data={"access_key": tls_server.access_key,
                                 "secret_key": tls_server.secret_key},
                           allow_redirects=False, verify=str(tls_server.tls[0]))  # type: ignore[index]
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "; Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
