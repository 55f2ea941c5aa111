"""Managed links naming a version (issue 16), against a real server with
boto3 for the versions, the CLI and the admin API for the links, and curl
and requests to follow them: the link reads its version after newer ones
are written, and no other version, even with a valid signature of its
signer naming another."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import requests
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from sealbox.cli.client import AdminClient, ApiError, path
from sealbox.testing.server import RunningServer


@pytest.fixture(scope="module")
def admin(server: RunningServer) -> AdminClient:
    return AdminClient(server.endpoint, server.access_key, server.secret_key)


@pytest.fixture
def versions(s3: Any, bucket: str) -> tuple[str, str, str]:
    """A versioned bucket whose key ``doc`` has two versions: (bucket, old, new)."""
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    old = s3.put_object(Bucket=bucket, Key="doc", Body=b"draft one")["VersionId"]
    new = s3.put_object(Bucket=bucket, Key="doc", Body=b"final text")["VersionId"]
    return bucket, old, new


def curl(url: str) -> tuple[int, bytes]:
    done = subprocess.run(["curl", "-s", "-o", "-", "-w", "\n%{http_code}", url],
                          capture_output=True, timeout=30, check=True)
    body, _, status = done.stdout.rpartition(b"\n")
    return int(status), body


def resign(server: RunningServer, url: str, **changes: str | None) -> str:
    """The link's URL with query ``changes`` (None drops one), signed anew
    with the signer's own key: a valid signature the link did not make."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if not k.startswith("X-Amz-")}
    for name, value in changes.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    request = AWSRequest("GET", f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}")
    S3SigV4QueryAuth(Credentials(server.access_key, server.secret_key), "s3", "us-east-1",
                     expires=300).add_auth(request)
    return str(request.url)


def message(response: requests.Response) -> str:
    return response.text.split("<Message>", 1)[1].split("</Message>", 1)[0]


def test_cli_link_to_a_version_reads_it_after_newer_ones(
        server: RunningServer, s3: Any, versions: tuple[str, str, str], tmp_path: Path) -> None:
    bucket, old, _ = versions
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
    done = subprocess.run([sys.executable, "-m", "sealbox", "link", "create", f"s3://{bucket}/doc",
                           "--version-id", old, "--json", "--endpoint-url", server.endpoint,
                           "--data-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, env=env, cwd=tmp_path,
                          check=False)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["VersionId"] == old and f"versionId={old}" in answer["Url"]
    s3.put_object(Bucket=bucket, Key="doc", Body=b"a third")
    assert curl(answer["Url"]) == (200, b"draft one")
    shown = subprocess.run([sys.executable, "-m", "sealbox", "link", "show", answer["LinkId"],
                            "--json", "--endpoint-url", server.endpoint, "--data-dir",
                            str(tmp_path / "none")], capture_output=True, text=True, timeout=60,
                           env=env, cwd=tmp_path, check=True)
    assert json.loads(shown.stdout)["VersionId"] == old


def test_a_version_link_reads_no_other_version_and_a_key_link_no_old_one(
        server: RunningServer, admin: AdminClient, versions: tuple[str, str, str]) -> None:
    bucket, old, new = versions
    pinned = admin.call("POST", path("links"), {"Bucket": bucket, "Key": "doc",
                                                "VersionId": old}).body
    assert requests.get(pinned["Url"], timeout=30).content == b"draft one"
    for url in (resign(server, pinned["Url"], versionId=new),
                resign(server, pinned["Url"], versionId=None)):
        refused = requests.get(url, timeout=30)
        assert refused.status_code == 403
        assert message(refused) == "The link does not allow this version"
    current = admin.call("POST", path("links"), {"Bucket": bucket, "Key": "doc"}).body
    assert "versionId" not in current["Url"] and "VersionId" not in current
    assert requests.get(current["Url"], timeout=30).content == b"final text"
    refused = requests.get(resign(server, current["Url"], versionId=old), timeout=30)
    assert refused.status_code == 403
    assert message(refused) == "The link does not allow this version"


def test_a_head_link_names_its_version_and_a_deleted_version_is_no_such_version(
        s3: Any, admin: AdminClient, versions: tuple[str, str, str]) -> None:
    bucket, old, _ = versions
    head = admin.call("POST", path("links"), {"Bucket": bucket, "Key": "doc", "Method": "HEAD",
                                              "VersionId": old}).body
    answer = requests.head(head["Url"], timeout=30)
    assert answer.status_code == 200 and answer.headers["x-amz-version-id"] == old
    assert answer.headers["content-length"] == "9"
    get = admin.call("POST", path("links"), {"Bucket": bucket, "Key": "doc",
                                             "VersionId": old}).body
    s3.delete_object(Bucket=bucket, Key="doc", VersionId=old)
    gone = requests.get(get["Url"], timeout=30)
    assert gone.status_code == 404 and "<Code>NoSuchVersion</Code>" in gone.text


@pytest.mark.parametrize("members, words", [
    ({"VersionId": "not-a-version"}, "VersionId must be"),
    ({"VersionId": 7}, "VersionId must be"),
    ({"VersionId": "A" * 32, "Method": "PUT"}, "GET and HEAD links only"),
])
def test_a_bad_version_id_is_refused_and_nothing_is_stored(
        admin: AdminClient, bucket: str, members: dict[str, Any], words: str) -> None:
    before = len(admin.call("GET", path("links"), query={"Bucket": bucket}).body["Links"])
    with pytest.raises(ApiError) as refused:
        admin.call("POST", path("links"), {"Bucket": bucket, "Key": "doc", **members})
    assert refused.value.status == 400 and words in str(refused.value)
    assert len(admin.call("GET", path("links"), query={"Bucket": bucket}).body["Links"]) == before
