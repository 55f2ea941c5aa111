"""The peers bench/run.py measures: each a server process pinned to one core,
seeded with the same objects, and checked to answer correctly (objects
intact, signatures enforced) before any load is sent.

sealbox under its own HTTP server (what ``sealbox serve`` runs), under
uvicorn and under granian, nginx with its secure_link module and a WebDAV
PUT location, moto's server.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from upload import MiB, SourceFile, UploadTarget, check, check_refuses_tampered, make_source, put

from sealbox.config import Settings
from sealbox.server.main import SETTINGS_ENV, export_settings
from sealbox.testing.server import TEST_ACCESS_KEY, TEST_SECRET_KEY, free_port

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
LUA_REPORT = BENCH / "wrk" / "report.lua"
LUA_PUT = BENCH / "wrk" / "put.lua"
NGINX_TEMPLATE = BENCH / "nginx.conf.template"

SERVER_CPU = "0"  # every peer, alike
LOAD_CPU = "1"    # wrk (and py-spy when profiling)
SMALL = 1024
LARGE = 1024 * 1024
BUCKET = "bench"
PUT_KEYS = 2000  # presigned PUT URLs per peer, cycled by wrk/put.lua
NGINX_SECRET = "secret"
# nginx's documented secure_link example: md5("2147483647/s/link127.0.0.1 secret")
NGINX_VECTOR = ("2147483647", "/s/link", "_e4Nc3iduzkWRm01TBBNYw")

@dataclass(frozen=True)
class Target:
    """What wrk is pointed at: a URL, the script, its args, the body size expected."""

    url: str
    script: Path
    args: tuple[str, ...] = ()


# ---------------------------------------------------------------- processes

@dataclass
class Peer:
    """One server process (group), pinned to SERVER_CPU."""

    name: str
    tmp: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    targets: dict[str, Target] = field(default_factory=dict)
    uploads: dict[str, UploadTarget] = field(default_factory=dict)  # bench/upload.py

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        raise NotImplementedError

    def ready_path(self) -> str:
        return "/"

    def start(self, timeout: float = 30.0) -> None:
        argv, extra_env = self.command()
        env = dict(os.environ, **extra_env)
        # A new session so stop() can signal the whole group (granian and
        # nginx fork workers), and nothing else.
        with open(self.tmp / f"{self.name}.log", "ab") as log:
            self.process = subprocess.Popen(["taskset", "-c", SERVER_CPU, *argv], env=env,
                                            stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True, cwd=self.tmp)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.log()}")
            try:
                urllib.request.urlopen(self.base + self.ready_path(), timeout=1).close()
                return
            except urllib.error.HTTPError:
                return  # it answers; that is all "ready" means here
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not become ready:\n{self.log()}")

    def pids(self) -> list[int]:
        """The server process and its descendants (workers)."""
        if self.process is None:
            return []
        found, todo = [], [self.process.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for children in Path(f"/proc/{pid}/task").glob("*/children"):
                try:
                    todo.extend(int(c) for c in children.read_text().split())
                except OSError:
                    pass
        return found

    def log(self) -> str:
        path = self.tmp / f"{self.name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass

    def prepare(self) -> None:
        """Seed the objects and fill ``targets``; check each answers correctly."""
        raise NotImplementedError


@dataclass
class S3Peer(Peer):
    access_key: str = TEST_ACCESS_KEY
    secret_key: str = dataclasses.field(default=TEST_SECRET_KEY, repr=False)
    verifies_signatures: bool = True

    def client(self) -> Any:
        return boto3.client(
            "s3", endpoint_url=self.base, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"max_attempts": 1}))

    def prepare(self) -> None:
        s3 = self.client()
        rnd = random.Random(1)
        small, large = rnd.randbytes(SMALL), rnd.randbytes(LARGE)
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="small", Body=small)
        s3.put_object(Bucket=BUCKET, Key="large", Body=large)

        def presign(op: str, key: str) -> str:
            return str(s3.generate_presigned_url(op, Params={"Bucket": BUCKET, "Key": key},
                                                 ExpiresIn=6 * 3600))

        get_small, get_large = presign("get_object", "small"), presign("get_object", "large")
        expect_body(get_small, small)
        expect_body(get_large, large)
        put_urls = [presign("put_object", f"put/{i:05d}") for i in range(PUT_KEYS)]
        body = b"x" * SMALL
        # With no Content-Type urllib says form-urlencoded, which moto's Flask
        # front end would parse as a form; wrk sends none.
        req = urllib.request.Request(put_urls[0], data=body, method="PUT",
                                     headers={"Content-Type": "application/octet-stream"})
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                raise RuntimeError(f"{self.name}: presigned PUT answered {r.status}")
        if s3.get_object(Bucket=BUCKET, Key="put/00000")["Body"].read() != body:
            raise RuntimeError(f"{self.name}: presigned PUT did not store the body")
        if self.verifies_signatures:
            tampered = get_small[:-1] + ("0" if get_small[-1] != "0" else "1")
            expect_status(tampered, 403, self.name)
        url_file = self.tmp / f"{self.name}-put-urls.txt"
        url_file.write_text("".join(path_and_query(u) + "\n" for u in put_urls))
        self.targets = {
            "get_1k": Target(get_small, LUA_REPORT),
            "get_1m": Target(get_large, LUA_REPORT),
            "put_1k": Target(self.base, LUA_PUT, (str(url_file), str(SMALL))),
        }


@dataclass
class SealboxPeer(S3Peer):
    server: str = "sealbox"  # sealbox serve --http-server sealbox|uvicorn, or granian
    factory: str = "sealbox.server.main:create_app"  # granian only
    granian_args: tuple[str, ...] = ()
    # Another revision's src/ (run.py --base), first on the server's PYTHONPATH.
    source: str | None = None

    def ready_path(self) -> str:
        return "/_sealbox/health"

    def prepare(self) -> None:
        super().prepare()
        prefix = f"{self.base}/{BUCKET}/"
        self.uploads = {
            "put_1g_stream": UploadTarget(prefix, "aws-chunked", self.access_key,
                                          self.secret_key),
            "put_1g_plain": UploadTarget(prefix, "unsigned-payload", self.access_key,
                                         self.secret_key),
        }
        # Both bodies store what was sent (a short last chunk included), and
        # a chunk signature that does not chain is refused.
        probe = check_source(self.tmp)
        for target in self.uploads.values():
            sent = put(target, "check", probe, timeout=30)
            problem = check(target, "check", probe, sent)
            if problem:
                raise RuntimeError(f"{self.name}: {target.body} PUT: {problem}")
        check_refuses_tampered(self.uploads["put_1g_stream"], tiny_source(self.tmp))

    def command(self) -> tuple[list[str], dict[str, str]]:
        data = self.tmp / f"{self.name}-data"
        env = {"SEALBOX_ROOT_ACCESS_KEY": self.access_key,
               "SEALBOX_ROOT_SECRET_KEY": self.secret_key}
        if self.source is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [self.source,
                                                              os.environ.get("PYTHONPATH")]))
        if self.server in ("sealbox", "uvicorn"):
            return ([sys.executable, "-m", "sealbox", "serve", "--port", str(self.port),
                     "--data-dir", str(data), "--log-level", "warning", "--workers", "1",
                     "--http-server", self.server], env)
        # granian imports the same factory `sealbox serve` gives uvicorn; the
        # settings travel in the same env variable.
        saved = os.environ.get(SETTINGS_ENV)
        export_settings(Settings(data_dir=data, port=self.port))
        env[SETTINGS_ENV] = os.environ.pop(SETTINGS_ENV)
        if saved is not None:
            os.environ[SETTINGS_ENV] = saved
        data.mkdir(parents=True, exist_ok=True)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(BENCH),
                                                          os.environ.get("PYTHONPATH")]))
        return ([sys.executable, "-m", "granian", "--interface", "asgi", "--factory",
                 "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
                 "--runtime-threads", "1", "--loop", "uvloop", "--http", "1", "--no-ws",
                 "--log-level", "warning", "--no-access-log", *self.granian_args,
                 self.factory], env)


@dataclass
class MotoPeer(S3Peer):
    access_key: str = "AKIAIOSFODNN7EXAMPLE"
    secret_key: str = dataclasses.field(default="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                        repr=False)

    def ready_path(self) -> str:
        return "/moto-api/"

    def command(self) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1",
                "-p", str(self.port)], {}

    # moto does not check signatures: it accepts any key and any signature
    # unless its IAM emulation is turned on. That is its figure as shipped.
    verifies_signatures: bool = False


@dataclass
class NginxPeer(Peer):
    def command(self) -> tuple[list[str], dict[str, str]]:
        root = self.tmp / "nginx-root"
        conf = self.tmp / "nginx.conf"
        conf.write_text(NGINX_TEMPLATE.read_text().format(
            tmp=self.tmp, root=root, port=self.port, secret=NGINX_SECRET))
        return ["nginx", "-p", str(self.tmp), "-c", str(conf)], {}

    def ready_path(self) -> str:
        return "/health"

    def start(self, timeout: float = 30.0) -> None:
        root = self.tmp / "nginx-root" / "s"
        root.mkdir(parents=True, exist_ok=True)
        # WebDAV PUTs land here, written by the unprivileged worker.
        (self.tmp / "nginx-root" / "dav").mkdir(exist_ok=True)
        (self.tmp / "nginx-root" / "dav").chmod(0o777)
        rnd = random.Random(1)
        (root / "small").write_bytes(rnd.randbytes(SMALL))
        (root / "large").write_bytes(rnd.randbytes(LARGE))
        (root / "link").write_bytes(b"link\n")
        # nginx's worker runs as an unprivileged user when started as root.
        for path in (self.tmp, self.tmp / "nginx-root", root):
            path.chmod(0o755)
        for path in root.iterdir():
            path.chmod(0o644)
        super().start(timeout)

    def prepare(self) -> None:
        expires, uri, md5 = NGINX_VECTOR
        if secure_link_md5(expires, uri) != md5:
            raise RuntimeError("secure_link md5 computed here does not match nginx's vector")
        expect_status(f"{self.base}{uri}?md5={md5}&expires={expires}", 200, self.name)
        wrong = md5[:-1] + ("A" if md5[-1] != "A" else "B")
        expect_status(f"{self.base}{uri}?md5={wrong}&expires={expires}", 403, self.name)
        expect_status(f"{self.base}{uri}", 403, self.name)
        expect_status(f"{self.base}{uri}?md5={secure_link_md5('1000', uri)}&expires=1000",
                      410, self.name)
        rnd = random.Random(1)
        small, large = rnd.randbytes(SMALL), rnd.randbytes(LARGE)
        urls = {}
        for name, key, body in (("get_1k", "/s/small", small), ("get_1m", "/s/large", large)):
            url = f"{self.base}{key}?md5={secure_link_md5(expires, key)}&expires={expires}"
            expect_body(url, body)
            urls[name] = Target(url, LUA_REPORT)
        self.targets = urls
        # The large PUT: the same bytes sealbox gets, unsigned, to WebDAV.
        dav = UploadTarget(f"{self.base}/dav/", "plain", stored_dir=self.tmp / "nginx-root" / "dav")
        probe = check_source(self.tmp)
        problem = check(dav, "check", probe, put(dav, "check", probe, timeout=30))
        if problem:
            raise RuntimeError(f"{self.name}: WebDAV PUT: {problem}")
        self.uploads = {"put_1g_stream": dav}


@functools.cache
def check_source(tmp: Path) -> SourceFile:
    """A small file for checking uploads: three 1 MiB chunks and a short one."""
    return make_source(tmp / "upload-check.bin", 3 * MiB + 12345)


@functools.cache
def tiny_source(tmp: Path) -> SourceFile:
    """One 64 KiB chunk: small enough to be sent whole before a 403 comes back."""
    return make_source(tmp / "upload-tiny.bin", 65536, chunk=65536)


def secure_link_md5(expires: str, uri: str, addr: str = "127.0.0.1") -> str:
    digest = hashlib.md5(f"{expires}{uri}{addr} {NGINX_SECRET}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def path_and_query(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}"


def expect_body(url: str, body: bytes) -> None:
    with urllib.request.urlopen(url, timeout=10) as r:
        got = r.read()
    if got != body:
        raise RuntimeError(f"GET {url[:60]}… returned {len(got)} bytes, not the object")


def expect_status(url: str, status: int, who: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            got = r.status
    except urllib.error.HTTPError as e:
        got = e.code
    if got != status:
        raise RuntimeError(f"{who}: GET {url[:80]}… answered {got}, expected {status}")


def bench_bucket_policy(bucket: str, user_arn: str) -> str:
    """20 statements with conditions, none of which refuses the benchmark's
    requests: the cost of reading them all on every request is measured."""
    objects, whole = f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}"
    statements: list[dict[str, Any]] = [
        {"Sid": "OnlyLoopback", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [whole, objects],
         "Condition": {"NotIpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}}},
        {"Sid": "NotAfter2099", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [whole, objects],
         "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}},
        {"Sid": "FreshSignatures", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
         "Resource": objects,
         "Condition": {"NumericGreaterThan": {"s3:signatureAge": "604800000"}}},
        {"Sid": "SigV4Only", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": objects, "Condition": {"StringEquals": {"s3:signatureversion": "AWS"}}},
    ]
    for i in range(8):
        statements.append({
            "Sid": f"PrivatePrefix{i}", "Effect": "Deny", "Principal": "*",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/private{i}/*",
            "Condition": {"StringNotEquals": {"aws:username": f"owner{i}"}}})
    for i in range(8):
        statements.append({
            "Sid": f"ReaderFromSite{i}", "Effect": "Allow", "Principal": {"AWS": user_arn},
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/site{i}/*",
            "Condition": {"StringLike": {"aws:Referer": [f"https://site{i}.example.com/*"]},
                          "Bool": {"aws:SecureTransport": "true"}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def bench_identity_policy(bucket: str, i: int) -> str:
    """One of a user's ten managed policies; the first grants what the
    benchmark does, the others grant or refuse elsewhere, with conditions."""
    if i == 0:
        statement: dict[str, Any] = {
            "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket",
                                          "s3:CreateBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
    elif i % 2:
        statement = {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
                     "Resource": f"arn:aws:s3:::other-{i}/${{aws:username}}/*",
                     "Condition": {"StringEquals": {"s3:prefix": ["home/", ""]}}}
    else:
        statement = {"Effect": "Deny", "Action": "s3:DeleteObject",
                     "Resource": f"arn:aws:s3:::{bucket}/keep{i}/*",
                     "Condition": {"Null": {"aws:Referer": "true"}}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


@dataclass
class SealboxPoliciesPeer(SealboxPeer):
    """sealbox with the issue's policy load: requests signed by an IAM user
    with 10 attached policies, on a bucket with a 20-statement policy."""

    def prepare(self) -> None:
        root = self.client()
        root.create_bucket(Bucket=BUCKET)
        root.delete_public_access_block(Bucket=BUCKET)
        iam = boto3.client("iam", endpoint_url=self.base, region_name="us-east-1",
                           aws_access_key_id=self.access_key,
                           aws_secret_access_key=self.secret_key)
        user = iam.create_user(UserName="bench-user")["User"]
        for i in range(10):
            arn = iam.create_policy(PolicyName=f"bench-{i}",
                                    PolicyDocument=bench_identity_policy(BUCKET, i))["Policy"]["Arn"]
            iam.attach_user_policy(UserName="bench-user", PolicyArn=arn)
        root.put_bucket_policy(Bucket=BUCKET, Policy=bench_bucket_policy(BUCKET, user["Arn"]))
        key = iam.create_access_key(UserName="bench-user")["AccessKey"]
        self.access_key, self.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
        super().prepare()  # objects, presigned links and checks, now as the user
