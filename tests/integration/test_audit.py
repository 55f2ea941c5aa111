"""The audit trail on a real server (SQLite and PostgreSQL): one event per
request, from S3, the edge and the admin API, read back with
``sealbox audit --json`` and ``GET /_sealbox/api/v1/audit`` within 2 s."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from sealbox.cli.client import AdminClient, ApiError, path
from tests.integration.edge_site import make_site

VISIBLE_WITHIN = 2.0
ROOT_ARN = "arn:aws:iam::000000000000:root"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def audit_cli(server: Any, tmp_path: Path):
    """``sealbox audit … --json`` as root; the events."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)

    def run(*args: str) -> list[dict[str, Any]]:
        done = subprocess.run(
            [sys.executable, "-m", "sealbox", "audit", *args, "--json", "--endpoint-url",
             server.endpoint, "--data-dir", str(tmp_path / "none")],
            capture_output=True, text=True, timeout=60, env=env, check=False)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["Events"]  # type: ignore[no-any-return]

    return run


def wait_for(read: Any, count: int, deadline: float = VISIBLE_WITHIN) -> list[dict[str, Any]]:
    """``read()`` until it gives ``count`` events, within ``deadline`` seconds."""
    started = time.monotonic()
    while True:
        events = read()
        if len(events) >= count or time.monotonic() - started > deadline:
            return events
        time.sleep(0.1)


def test_downloads_and_a_refusal_are_each_listed_with_who_how_and_bytes(
        server: Any, s3: Any, client_factory: Any, audit_cli: Any) -> None:
    bucket = unique("audit")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="book.epub", Body=b"b" * 1500)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "book.epub"})
    signature = dict(p.split("=", 1) for p in urlsplit(url).query.split("&"))["X-Amz-Signature"]
    assert requests.get(url, headers={"Referer": "https://example.test/page"}).status_code == 200
    refused = requests.get(f"{server.endpoint}/{bucket}/book.epub")
    assert refused.status_code == 403
    site = make_site(s3, client_factory("cloudfront"), server.endpoint, server.port)
    s3.put_object(Bucket=site.bucket, Key="film.mp4", Body=b"f" * 700)
    viewed = site.get(site.url("/film.mp4"), cookies=site.cookies(site.url("/*")))
    assert viewed.status_code == 200

    # Visible within the bound: polled over the API (a CLI process takes a
    # second to start on a loaded machine), then read with the CLI.
    admin = AdminClient(server.endpoint, server.access_key, server.secret_key)
    started = time.monotonic()
    wait_for(lambda: [e for e in admin.call("GET", path("audit"),
                                            query={"Bucket": bucket}).body["Events"]
                      if e["Operation"] == "GetObject"], 2)
    wait_for(lambda: [e for e in admin.call("GET", path("audit"),
                                            query={"Bucket": site.bucket}).body["Events"]
                      if e["Operation"] == "EdgeRequest"], 1)
    assert time.monotonic() - started < VISIBLE_WITHIN + 1.0
    mine = [e for e in audit_cli("--bucket", bucket) if e["Operation"] == "GetObject"]
    edge = [e for e in audit_cli("--bucket", site.bucket, "--key", "film.mp4")
            if e["Operation"] == "EdgeRequest"]

    presigned = next(e for e in mine if e["Status"] == 200)
    assert presigned["Principal"] == ROOT_ARN
    assert presigned["AccessKeyId"] == server.access_key
    assert presigned["Auth"] == "SigV4-Presigned"
    assert presigned["SourceIp"] == "127.0.0.1"
    assert presigned["BytesSent"] == 1500
    assert presigned["Referer"] == "https://example.test/page"
    assert presigned["SignatureFingerprint"].startswith("[sha256:")
    assert signature not in json.dumps(mine)  # the fingerprint only, never the signature
    anonymous = next(e for e in mine if e["Status"] == 403)
    assert anonymous["Principal"] is None and anonymous["AccessKeyId"] is None
    assert anonymous["Auth"] == "Anonymous"
    assert anonymous["ErrorCode"] == "AccessDenied" and anonymous["SourceIp"] == "127.0.0.1"
    [cookie] = edge
    assert cookie["Auth"] == "CloudFront-Cookie"
    assert cookie["AccessKeyId"] == site.key_id
    assert cookie["Status"] == 200 and cookie["BytesSent"] == 700
    assert cookie["EdgeCache"] == "Miss" and cookie["Operation"] == "EdgeRequest"
    assert set(presigned) >= {"Time", "RequestId", "Operation", "Bucket", "Key", "Principal",
                              "AccessKeyId", "Auth", "LinkId", "SignatureFingerprint",
                              "SourceIp", "UserAgent", "Referer", "Status", "ErrorCode",
                              "Reason", "BytesSent", "BytesReceived", "DurationMs"}
    assert presigned["LinkId"] is None


def test_filters_by_status_access_key_and_time(server: Any, s3: Any, audit_cli: Any) -> None:
    bucket = unique("audit")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"123")
    requests.get(f"{server.endpoint}/{bucket}/k")
    wait_for(lambda: audit_cli("--bucket", bucket), 3)
    assert {e["Status"] for e in audit_cli("--bucket", bucket, "--status", "403")} == {403}
    by_key = audit_cli("--bucket", bucket, "--access-key", server.access_key)
    assert {e["Operation"] for e in by_key} == {"CreateBucket", "PutObject"}
    assert audit_cli("--bucket", bucket, "--since", "2999-01-01T00:00:00Z") == []
    assert len(audit_cli("--bucket", bucket, "--until", "2999-01-01")) == 3
    assert len(audit_cli("--bucket", bucket, "--limit", "1")) == 1
    assert audit_cli("--bucket", bucket, "--principal", ROOT_ARN, "--key", "k")[0]["Key"] == "k"


def admin(server: Any) -> AdminClient:
    return AdminClient(server.endpoint, server.access_key, server.secret_key)


@pytest.mark.parametrize("query", [
    {"Since": "yesterday"}, {"Until": "2026-13-45"}, {"Since": "99999999999999999"},
    {"MaxItems": "100000"}, {"MaxItems": "0"}, {"MaxItems": "-1"}, {"Status": "abc"},
    {"Status": "9999"}, {"ContinuationToken": "not-a-token"}, {"Bogus": "1"},
])
def test_bad_queries_are_a_clear_400(server: Any, query: dict[str, str]) -> None:
    with pytest.raises(ApiError) as refused:
        admin(server).call("GET", path("audit"), query=query)
    assert refused.value.status == 400 and refused.value.code == "InvalidParameter"


def test_pages_follow_the_continuation_token(server: Any, s3: Any) -> None:
    bucket = unique("audit")
    s3.create_bucket(Bucket=bucket)
    for n in range(5):
        s3.put_object(Bucket=bucket, Key=f"k{n}", Body=b"x")
    client = admin(server)
    wait_for(lambda: client.call("GET", path("audit"), query={"Bucket": bucket}).body["Events"],
             6)
    seen: list[str] = []
    query = {"Bucket": bucket, "MaxItems": "2"}
    while True:
        page = client.call("GET", path("audit"), query=query).body
        seen += [e["RequestId"] for e in page["Events"]]
        if not page["IsTruncated"]:
            break
        query["ContinuationToken"] = page["NextContinuationToken"]
    assert len(seen) == len(set(seen)) == 6


def test_reading_the_audit_trail_needs_sealbox_read_audit(server: Any,
                                                          client_factory: Any) -> None:
    iam = client_factory("iam")
    name = unique("auditor")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    user = AdminClient(server.endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    with pytest.raises(ApiError) as refused:
        user.call("GET", path("audit"))
    assert refused.value.status == 403 and refused.value.code == "AccessDenied"
    iam.put_user_policy(UserName=name, PolicyName="audit", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sealbox:ReadAudit", "Resource": "*"}]}))
    deadline = time.monotonic() + 5
    while True:  # the identity cache follows the access version
        try:
            assert "Events" in user.call("GET", path("audit")).body
            break
        except ApiError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_ten_thousand_requests_are_all_in_the_trail(server: Any, s3: Any) -> None:
    bucket = unique("audit")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 64)
    url = urlsplit(s3.generate_presigned_url("get_object",
                                             Params={"Bucket": bucket, "Key": "k"}))
    target = f"{url.path}?{url.query}".encode()
    total, threads = 10_000, 8

    def fetch(count: int) -> int:
        ok = 0
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            for _ in range(count):
                conn.request("GET", target.decode())
                response = conn.getresponse()
                response.read()
                ok += response.status == 200
        finally:
            conn.close()
        return ok

    with ThreadPoolExecutor(threads) as pool:
        assert sum(pool.map(fetch, [total // threads] * threads)) == total
    client = admin(server)

    def count() -> int:
        n, query = 0, {"Bucket": bucket, "Status": "200", "MaxItems": "1000"}
        while True:
            page = client.call("GET", path("audit"), query=query).body
            n += sum(e["Operation"] == "GetObject" for e in page["Events"])
            if not page["IsTruncated"]:
                return n
            query["ContinuationToken"] = page["NextContinuationToken"]

    deadline = time.monotonic() + 10
    while (found := count()) < total and time.monotonic() < deadline:
        time.sleep(0.2)
    assert found == total


def test_a_post_policy_upload_names_its_key_and_bytes(server: Any, s3: Any,
                                                      audit_cli: Any) -> None:
    bucket = unique("audit")
    s3.create_bucket(Bucket=bucket)
    post = s3.generate_presigned_post(bucket, "upload.txt")
    sent = requests.post(post["url"], data=post["fields"],
                         files={"file": ("upload.txt", b"u" * 300)})
    assert sent.status_code == 204, sent.text
    [event] = wait_for(lambda: [e for e in audit_cli("--bucket", bucket)
                                if e["Operation"] == "PostObject"], 1)
    assert event["Auth"] == "PostPolicy" and event["Key"] == "upload.txt"
    assert event["AccessKeyId"] == server.access_key and event["Principal"] == ROOT_ARN
    assert event["BytesReceived"] > 300 and event["Status"] == 204
    assert event["SignatureFingerprint"].startswith("[sha256:")


@pytest.mark.parametrize("args, says", [
    (("--since", "last tuesday"), "Since must be an ISO 8601 time"),
    (("--limit", "0"), "--limit must be from 1 to 100000"),
    (("--limit", "100000000"), "--limit must be from 1 to 100000"),
    (("--status", "42"), "Status must be a whole number from 100 to 599"),
])
def test_the_cli_says_what_is_wrong_in_one_line(server: Any, tmp_path: Path,
                                                args: tuple[str, ...], says: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
    done = subprocess.run(
        [sys.executable, "-m", "sealbox", "audit", *args, "--endpoint-url", server.endpoint,
         "--data-dir", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sealbox: error: ") and says in lines[0]


def test_a_managed_link_is_named_in_each_use_and_refusal(server: Any, s3: Any,
                                                          audit_cli: Any) -> None:
    bucket = unique("audit-link")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="invoice.pdf", Body=b"i" * 300)
    link = admin(server).call("POST", path("links"),
                              {"Bucket": bucket, "Key": "invoice.pdf", "MaxUses": 1}).body
    assert requests.get(link["Url"], timeout=30).status_code == 200
    assert requests.get(link["Url"], timeout=30).status_code == 403  # used up
    events = wait_for(lambda: audit_cli("--link", link["LinkId"]), 2)
    assert sorted(e["Status"] for e in events) == [200, 403]
    assert {e["LinkId"] for e in events} == {link["LinkId"]}
    assert {e["Key"] for e in events} == {"invoice.pdf"}
    served = next(e for e in events if e["Status"] == 200)
    assert served["BytesSent"] == 300 and served["AccessKeyId"] == server.access_key
