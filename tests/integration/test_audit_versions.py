"""Version ids in the audit trail (issue 16), on a real server with boto3:
each event names the version a request wrote, read or marked deleted (or
the one it named), ``GET /_sealbox/api/v1/audit`` and ``sealbox audit``
filter by it, and an unversioned request's event has none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from sealbox.cli.client import AdminClient, ApiError, path

VISIBLE_WITHIN = 5.0


def events(admin: AdminClient, **query: str) -> list[dict[str, Any]]:
    return admin.call("GET", path("audit"), query=query).body["Events"]  # type: ignore[no-any-return]


def wait_for(admin: AdminClient, count: int, **query: str) -> list[dict[str, Any]]:
    started = time.monotonic()
    while True:
        found = events(admin, **query)
        if len(found) >= count or time.monotonic() - started > VISIBLE_WITHIN:
            return found
        time.sleep(0.1)


@pytest.fixture(scope="module")
def admin(server: Any) -> AdminClient:
    return AdminClient(server.endpoint, server.access_key, server.secret_key)


def test_each_event_names_the_version_it_wrote_read_or_deleted(
        server: Any, s3: Any, admin: AdminClient, tmp_path: Path) -> None:
    bucket = f"audit-v-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"before versioning")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
    second = s3.put_object(Bucket=bucket, Key="doc", Body=b"two")["VersionId"]
    s3.get_object(Bucket=bucket, Key="doc")  # the current version: the answer names it
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "doc", "VersionId": first})
    assert requests.get(url, timeout=30).content == b"one"
    marker = s3.delete_object(Bucket=bucket, Key="doc")["VersionId"]

    found = wait_for(admin, 8, Bucket=bucket)  # with CreateBucket and PutBucketVersioning
    by_operation = [(e["Operation"], e["Key"], e["VersionId"]) for e in reversed(found)
                    if e["Operation"] in ("PutObject", "GetObject", "DeleteObject")]
    assert by_operation == [
        ("PutObject", "plain", None),  # a bucket never versioned: no version id
        ("PutObject", "doc", first), ("PutObject", "doc", second),
        ("GetObject", "doc", second), ("GetObject", "doc", first),
        ("DeleteObject", "doc", marker)]

    only_first = wait_for(admin, 2, Bucket=bucket, VersionId=first)
    assert [(e["Operation"], e["VersionId"]) for e in only_first] == [
        ("GetObject", first), ("PutObject", first)]

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SEALBOX_ROOT_"))}
    env.update(AWS_ACCESS_KEY_ID=server.access_key, AWS_SECRET_ACCESS_KEY=server.secret_key)
    done = subprocess.run([sys.executable, "-m", "sealbox", "audit", "--bucket", bucket,
                           "--version-id", marker, "--json", "--endpoint-url", server.endpoint,
                           "--data-dir", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=60, env=env, check=False)
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)["Events"]
    assert [(e["Operation"], e["VersionId"]) for e in listed] == [("DeleteObject", marker)]


def test_a_refused_request_naming_a_version_is_logged_with_it(
        server: Any, s3: Any, admin: AdminClient) -> None:
    bucket = f"audit-v-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    wanted = "A" * 32
    refused = requests.get(f"{server.endpoint}/{bucket}/doc?versionId={wanted}", timeout=30)
    assert refused.status_code == 403
    found = wait_for(admin, 1, Bucket=bucket, VersionId=wanted)
    assert [(e["Status"], e["VersionId"]) for e in found] == [(403, wanted)]


def test_an_unknown_filter_is_refused_and_an_unknown_version_finds_nothing(admin: AdminClient) -> None:
    with pytest.raises(ApiError) as refused:
        events(admin, Colour="red")
    assert refused.value.status == 400
    assert events(admin, VersionId="no-such-version") == []
